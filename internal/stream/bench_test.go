// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/stream"
)

// benchReceiver is a webhook receiver on loopback that verifies each
// delivery's signature and, when lags is set, measures for every event
// how long after Trail received it (its received_at) the event arrived.
type benchReceiver struct {
	measure bool
	srv     *httptest.Server
	wh      *standardwebhooks.Webhook
	mu      sync.Mutex
	last    int64
	lags    []time.Duration
	errs    int
}

func newBenchReceiver(b *testing.B) *benchReceiver {
	r := &benchReceiver{last: -1}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		now := time.Now()
		if r.wh == nil || r.wh.Verify(body, req.Header) != nil {
			r.mu.Lock()
			r.errs++
			r.mu.Unlock()
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var d struct {
			Last int64 `json:"last_seq"`
		}
		head, events, _ := bytes.Cut(body, []byte(`,"events":`)) // last_seq is in the head
		json.Unmarshal(append(head, '}'), &d)
		r.mu.Lock()
		defer r.mu.Unlock()
		for r.measure { // every event's received_at, without decoding the rest
			at, rest, ok := receivedAt(events)
			if !ok {
				break
			}
			r.lags = append(r.lags, now.Sub(at))
			events = rest
		}
		r.last = max(r.last, d.Last)
	}))
	b.Cleanup(r.srv.Close)
	return r
}

// receivedAt finds the next received_at in b and returns it and what
// follows it.
func receivedAt(b []byte) (time.Time, []byte, bool) {
	const key = `"received_at":"`
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return time.Time{}, nil, false
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, nil, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t, rest[j:], err == nil
}

func (r *benchReceiver) covered() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last + 1
}

// BenchmarkWebhookDelivery: a backlog of 200,000 events on the log
// engine, one webhook destination on loopback (HMAC-signed, verified by
// the receiver): events delivered a second, from the stream's creation to
// the receiver's acknowledgement of the last event.
//
//	go test ./internal/stream/ -run '^$' -bench WebhookDelivery -benchtime 1x
func BenchmarkWebhookDelivery(b *testing.B) {
	const backlog = 200_000
	for range b.N {
		b.StopTimer()
		e := newEnv(b, stream.Config{AllowPrivate: true})
		for range backlog / 1000 {
			e.ingest("acme", 1000)
		}
		if err := e.store.(*logstore.Store).Seal(b.Context()); err != nil { // a backlog at rest
			b.Fatal(err)
		}
		n := e.size("acme") + 1 // and the stream's creation
		r := newBenchReceiver(b)
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		_, reveal := e.create("acme", `{"name":"bench","kind":"webhook","url":"`+r.srv.URL+`"}`)
		r.mu.Lock()
		r.wh, _ = standardwebhooks.NewWebhook(reveal["secret"].(string))
		r.mu.Unlock()
		for r.covered() < n {
			time.Sleep(time.Millisecond)
		}
		took := time.Since(start)
		b.ReportMetric(float64(n)/took.Seconds(), "events/s")
		// The CPU this process (Trail's engine and the receiver) spent per
		// event: on a busy machine a steadier figure than the rate.
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/event")
		if r.errs > 0 {
			b.Fatalf("%d deliveries failed verification", r.errs)
		}
	}
}

// BenchmarkWebhookLag: ingest 10,000 events/s for 10 s (every 10 ms, the
// events due by then) while one webhook destination on loopback receives
// them; the lag of an event is from its received_at to its arrival at
// the receiver. Default engine settings (Linger 100 ms, batches of 1,000).
//
//	go test ./internal/stream/ -run '^$' -bench WebhookLag -benchtime 1x
func BenchmarkWebhookLag(b *testing.B) {
	const rate, seconds = 10_000, 10
	for range b.N {
		e := newIdleEnv(b, stream.Config{AllowPrivate: true})
		e.m = stream.New(stream.Config{Service: e.svc, Logger: quiet(), AllowPrivate: true}) // defaults
		e.run(e.m)
		r := newBenchReceiver(b)
		r.measure = true
		_, reveal := e.create("acme", `{"name":"bench","kind":"webhook","url":"`+r.srv.URL+`"}`)
		r.mu.Lock()
		r.wh, _ = standardwebhooks.NewWebhook(reveal["secret"].(string))
		r.mu.Unlock()
		// Every 10 ms, ingest what the rate asks for by now (one request of
		// up to 1,000 events): a slow commit is caught up, not skipped.
		tick := time.NewTicker(10 * time.Millisecond)
		start := time.Now()
		sent := 0
		for sent < rate*seconds {
			<-tick.C
			due := min(rate*seconds, int(time.Since(start).Seconds()*rate))
			if k := min(due-sent, 1000); k > 0 {
				e.ingest("acme", k)
				sent += k
			}
		}
		tick.Stop()
		ingestRate := float64(sent) / time.Since(start).Seconds()
		n := e.size("acme")
		for r.covered() < n {
			time.Sleep(time.Millisecond)
		}
		r.mu.Lock()
		lags := slices.Clone(r.lags)
		r.mu.Unlock()
		slices.Sort(lags)
		q := func(p float64) float64 { return float64(lags[int(p*float64(len(lags)-1))].Milliseconds()) }
		b.ReportMetric(q(0.5), "lag-p50-ms")
		b.ReportMetric(q(0.99), "lag-p99-ms")
		b.ReportMetric(q(1), "lag-max-ms")
		b.ReportMetric(ingestRate, "ingested-events/s")
	}
}

// cpuTime is the CPU time (user and system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
