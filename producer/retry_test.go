// SPDX-License-Identifier: Apache-2.0

package producer_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/trailtest"
)

// flakyProxy stands between the producer and a real Trail the way a load
// balancer or a bad network does: it answers the first request with 503
// and the second with 429 (both with Retry-After: 1), forwards the third
// to Trail but drops Trail's reply (the batch is stored, the ack lost),
// and forwards everything after.
type flakyProxy struct {
	mu    sync.Mutex
	n     int
	times []time.Time
	proxy *httputil.ReverseProxy
	fail  string // what went wrong inside the handler, for the test
}

func (f *flakyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.n++
	n := f.n
	f.times = append(f.times, time.Now())
	f.mu.Unlock()
	switch n {
	case 1, 2:
		status := map[int]int{1: http.StatusServiceUnavailable, 2: http.StatusTooManyRequests}[n]
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(`{"error":{"code":"unavailable","message":"try later"}}`))
	case 3:
		rec := httptest.NewRecorder()
		f.proxy.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			f.mu.Lock()
			f.fail = "the batch did not reach Trail: " + rec.Body.String()
			f.mu.Unlock()
		}
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close() // Trail stored the batch; its ack never arrives
	default:
		f.proxy.ServeHTTP(w, r)
	}
}

// TestRetries: 503 and 429 are retried no sooner than their Retry-After,
// and a batch whose ack was lost is sent again and stored once.
func TestRetries(t *testing.T) {
	tr := startTrail(t, "", "")
	target, _ := url.Parse(tr.Base)
	fp := &flakyProxy{proxy: httputil.NewSingleHostReverseProxy(target)}
	front := httptest.NewServer(fp)
	defer front.Close()

	cfg := testConfig(front.URL, tr.key, t.TempDir())
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	var mu sync.Mutex
	var retried []error
	cfg.Hooks.Retried = func(n int, err error) {
		mu.Lock()
		retried = append(retried, err)
		mu.Unlock()
	}
	p := open(t, cfg)
	ctx := ctxT(t)
	var want []string
	for i := 0; i < 5; i++ {
		id := "retry-" + strconv.Itoa(i)
		want = append(want, id)
		if err := p.Send(ctx, repoEvent(id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, ids(trailtest.All(t, tr.Base, tr.key, "acme")), want)

	mu.Lock()
	defer mu.Unlock()
	fp.mu.Lock()
	defer fp.mu.Unlock()
	if fp.fail != "" {
		t.Fatal(fp.fail)
	}
	if len(retried) < 3 {
		t.Fatalf("%d retries, want at least 3 (503, 429, lost ack): %v", len(retried), retried)
	}
	for i, status := range []int{503, 429} {
		var apiErr *client.APIError
		if !errors.As(retried[i], &apiErr) || apiErr.Status != status || apiErr.RetryAfter != time.Second {
			t.Errorf("retry %d: %v, want %d with Retry-After 1s", i, retried[i], status)
		}
		// Backoff alone would wait at most 5ms; Retry-After says 1s.
		if gap := fp.times[i+1].Sub(fp.times[i]); gap < time.Second {
			t.Errorf("request %d came %v after a Retry-After: 1", i+2, gap)
		}
	}
}
