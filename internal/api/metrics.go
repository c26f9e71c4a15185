// SPDX-License-Identifier: Apache-2.0

package api

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/trailaudit/trail/internal/audit"
)

// metrics holds every collector the API exports. All names start with
// "trail_"; labels are bounded (route patterns, status codes, error codes),
// never an org, a key or anything from the request.
type metrics struct {
	requests       *prometheus.CounterVec   // route, code
	duration       *prometheus.HistogramVec // route
	ingested       prometheus.Counter
	batchSize      prometheus.Histogram
	rejectedEvents *prometheus.CounterVec // code
	rejectedBatch  *prometheus.CounterVec // code
	commit         *commitMetrics
}

// commitMetrics receives the write path's group commits; it implements
// audit.Metrics.
type commitMetrics struct {
	latency     prometheus.Histogram
	committed   prometheus.Counter
	groupSize   prometheus.Histogram
	groupBatch  prometheus.Histogram
	storeErrors prometheus.Counter
}

// CommitMetrics returns the audit.Metrics that records group commits in
// reg: commit latency, events committed, group size and store errors. It is
// for wiring a Service before its API exists; it returns collectors that
// share state with those of any API built on the same registry, so
// CommitMetrics(reg) and New(Config{Registry: reg}).Metrics() are
// interchangeable. It panics if reg holds other collectors of the same
// names.
func CommitMetrics(reg *prometheus.Registry) audit.Metrics {
	return newCommitMetrics(reg)
}

func newCommitMetrics(reg *prometheus.Registry) *commitMetrics {
	return &commitMetrics{
		latency: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trail_commit_duration_seconds",
			Help:    "Time to commit one group of batches durably.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15),
		})),
		committed: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trail_events_committed_total",
			Help: "Events committed durably (including idempotent retries).",
		})),
		groupSize: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trail_commit_group_events",
			Help:    "Events per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9),
		})),
		groupBatch: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trail_commit_group_batches",
			Help:    "Batches (requests) sharing one group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		})),
		storeErrors: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trail_store_errors_total",
			Help: "Group commits the store failed.",
		})),
	}
}

// Committed implements audit.Metrics.
func (m *commitMetrics) Committed(batches, events int, took time.Duration, err error) {
	m.latency.Observe(took.Seconds())
	m.groupSize.Observe(float64(events))
	m.groupBatch.Observe(float64(batches))
	if err != nil {
		m.storeErrors.Inc()
		return
	}
	m.committed.Add(float64(events))
}

func newMetrics(reg *prometheus.Registry) *metrics {
	register(reg, collectors.NewGoCollector())
	register(reg, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &metrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trail_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trail_http_request_duration_seconds",
			Help:    "HTTP request duration by route pattern.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"})),
		ingested: register(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trail_ingest_events_total",
			Help: "Events acknowledged by the ingest API.",
		})),
		batchSize: register(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trail_ingest_batch_size",
			Help:    "Events per ingest request.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		})),
		rejectedEvents: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trail_ingest_rejected_events_total",
			Help: "Events in rejected ingest requests, by error code.",
		}, []string{"code"})),
		rejectedBatch: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trail_ingest_rejected_batches_total",
			Help: "Rejected ingest requests, by error code.",
		}, []string{"code"})),
		commit: newCommitMetrics(reg),
	}
}

// observe records one served request.
func (m *metrics) observe(route string, status int, took time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(took.Seconds())
}

// rejected records an ingest request refused with code; events is the
// number of events it carried, 0 when the body could not be split.
func (m *metrics) rejected(code audit.Code, events int) {
	m.rejectedBatch.WithLabelValues(string(code)).Inc()
	m.rejectedEvents.WithLabelValues(string(code)).Add(float64(events))
}

// register registers c in reg, or returns the collector already registered
// under the same description, so that several APIs (or CommitMetrics) can
// share one registry.
func register[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic("api: registering metrics: " + err.Error())
}
