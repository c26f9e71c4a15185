// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus metrics: counters of what this
// process delivered, and, read from the store at each scrape (so every
// replica reports the same), each stream's cursor, lag and health.
type metrics struct {
	m          *Manager
	events     prometheus.Counter
	deliveries *prometheus.CounterVec
	delivered  *prometheus.Desc
	lag        *prometheus.Desc
	failing    *prometheus.Desc
	failures   *prometheus.Desc
}

func newMetrics(m *Manager) *metrics {
	labels := []string{"org", "stream", "kind"}
	return &metrics{
		m: m,
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trail_stream_events_delivered_total",
			Help: "Events this process delivered to stream destinations (acknowledged).",
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trail_stream_deliveries_total",
			Help: "Deliveries this process attempted, by result (ok, error).",
		}, []string{"result"}),
		delivered: prometheus.NewDesc("trail_stream_delivered_seq",
			"The highest seq the stream destination acknowledged (-1 before the first).", labels, nil),
		lag: prometheus.NewDesc("trail_stream_lag_events",
			"Events of the org's log not yet acknowledged by the stream destination.", labels, nil),
		failing: prometheus.NewDesc("trail_stream_failing",
			"1 when the stream destination is failing (repeated failed deliveries), else 0.", labels, nil),
		failures: prometheus.NewDesc("trail_stream_consecutive_failures",
			"Consecutive failed deliveries to the stream destination.", labels, nil),
	}
}

// ok counts an acknowledged delivery of n events.
func (x *metrics) ok(n int) {
	x.deliveries.WithLabelValues("ok").Inc()
	x.events.Add(float64(n))
}

// failed counts a failed delivery.
func (x *metrics) failed() { x.deliveries.WithLabelValues("error").Inc() }

// Describe implements prometheus.Collector.
func (x *metrics) Describe(ch chan<- *prometheus.Desc) {
	x.events.Describe(ch)
	x.deliveries.Describe(ch)
	for _, d := range []*prometheus.Desc{x.delivered, x.lag, x.failing, x.failures} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (x *metrics) Collect(ch chan<- prometheus.Metric) {
	x.events.Collect(ch)
	x.deliveries.Collect(ch)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	all, err := x.m.store.AllStreams(ctx)
	if err != nil {
		return
	}
	sizes := map[string]int64{}
	for _, st := range all {
		size, ok := sizes[st.Org]
		if !ok {
			if size, err = x.m.store.Size(ctx, st.Org); err != nil {
				return
			}
			sizes[st.Org] = size
		}
		v := x.m.view(st, size)
		failing := 0.0
		if v.State == StateFailing {
			failing = 1
		}
		l := []string{st.Org, st.ID, st.Kind}
		ch <- prometheus.MustNewConstMetric(x.delivered, prometheus.GaugeValue, float64(v.DeliveredSeq), l...)
		ch <- prometheus.MustNewConstMetric(x.lag, prometheus.GaugeValue, float64(v.LagEvents), l...)
		ch <- prometheus.MustNewConstMetric(x.failing, prometheus.GaugeValue, failing, l...)
		ch <- prometheus.MustNewConstMetric(x.failures, prometheus.GaugeValue, float64(v.Failures), l...)
	}
}

// Collector returns the engine's metrics, for the server's registry.
func (m *Manager) Collector() prometheus.Collector { return m.metrics }
