// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetries: 429 and 503 are retried after the server's Retry-After (or
// a doubling backoff without one), up to the limit; other errors are not.
func TestRetries(t *testing.T) {
	var waits []time.Duration
	defer func(old func(context.Context, time.Duration) error) { sleep = old }(sleep)
	sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }

	answers := []struct {
		status int
		after  string
	}{{503, "2"}, {429, ""}, {503, ""}, {200, ""}}
	var n atomic.Int32
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answers[min(int(n.Add(1))-1, len(answers)-1)]
		b := make([]byte, r.ContentLength)
		r.Body.Read(b)
		bodies = append(bodies, string(b))
		if a.after != "" {
			w.Header().Set("Retry-After", a.after)
		}
		w.WriteHeader(a.status)
		w.Write([]byte(`{"events":[]}`))
	}))
	defer srv.Close()

	if _, err := New(srv.URL, "k").Ingest(context.Background(), "acme", []Event{{Type: "repo.create"}}); err != nil {
		t.Fatalf("after two 503s and a 429: %v", err)
	}
	want := []time.Duration{2 * time.Second, 1 * time.Second, 2 * time.Second} // Retry-After, then 0.5s<<1, 0.5s<<2
	if n.Load() != 4 || len(waits) != 3 || waits[0] != want[0] || waits[1] != want[1] || waits[2] != want[2] {
		t.Errorf("%d attempts, waits %v; want 4 attempts and waits %v", n.Load(), waits, want)
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] || b == "" {
			t.Errorf("a retry sent the body %q, want %q", b, bodies[0])
		}
	}

	// The limit, then the error with the server's Retry-After.
	n.Store(0)
	waits = nil
	answers = answers[:1]
	_, err := New(srv.URL, "k", WithRetries(2)).Catalog(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 || ae.RetryAfter != 2*time.Second || n.Load() != 3 {
		t.Errorf("after the retries: %v (%d attempts), want the 503 with RetryAfter 2s after 3 attempts", err, n.Load())
	}
	// No retries when turned off, nor for a Retry-After beyond the bound.
	for _, c := range []*Client{New(srv.URL, "k", WithRetries(0))} {
		n.Store(0)
		c.Catalog(context.Background())
		if n.Load() != 1 {
			t.Errorf("WithRetries(0): %d attempts, want 1", n.Load())
		}
	}
	answers[0].after = "3600"
	n.Store(0)
	New(srv.URL, "k").Catalog(context.Background())
	if n.Load() != 1 {
		t.Errorf("Retry-After 3600: %d attempts, want 1 (longer than MaxRetryWait)", n.Load())
	}
	answers[0] = struct {
		status int
		after  string
	}{400, ""}
	n.Store(0)
	New(srv.URL, "k").Catalog(context.Background())
	if n.Load() != 1 {
		t.Errorf("400: %d attempts, want 1", n.Load())
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"": 0, "0": 0, "7": 7 * time.Second, "-3": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got := parseRetryAfter(h, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", h, got, want)
		}
	}
}

// TestNoRetryAfterStoreFailed: a 503 store_failed (the server's store
// failed until it restarts) is returned at once, not retried.
func TestNoRetryAfterStoreFailed(t *testing.T) {
	defer func(old func(context.Context, time.Duration) error) { sleep = old }(sleep)
	sleep = func(context.Context, time.Duration) error { return nil }
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(503)
		w.Write([]byte(`{"error":{"code":"store_failed","message":"the store could not make its data durable (an fsync failed) and accepts no events until Trail restarts"}}`))
	}))
	defer srv.Close()
	_, err := New(srv.URL, "k").Ingest(context.Background(), "acme", []Event{{Type: "repo.create"}})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 || ae.Code != "store_failed" || n.Load() != 1 {
		t.Errorf("store_failed: %v after %d attempts; want the 503 store_failed after 1", err, n.Load())
	}
}
