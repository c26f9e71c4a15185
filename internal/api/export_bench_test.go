// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/api"
	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/logstore"
)

// BenchmarkExportHTTP downloads an org's whole export over HTTP from a log
// engine store (sealed blocks), as JSON and NDJSON, plain and gzip, with
// checkpoint signing on (so the JSON export carries its integrity block).
// Scan is the ceiling: the store's Scan of the same events, doing nothing
// with them. Each op is one whole export; events/s is the rate, and
// cpu-ns/event the CPU of the whole process (server and client) per event.
// TRAIL_BENCH_EXPORT_EVENTS sets the org's size (default 100,000).
//
//	go test -run '^$' -bench ExportHTTP -benchtime 3x ./internal/api/
func BenchmarkExportHTTP(b *testing.B) {
	n := 100_000
	if v := os.Getenv("TRAIL_BENCH_EXPORT_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	store, err := logstore.Open(dir, logstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	quiet := slog.New(slog.DiscardHandler)
	svc := audit.NewService(audit.Config{Store: store, Logger: quiet, Integrity: audit.IntegrityConfig{Signer: testSigner(b)}})
	defer svc.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	work := make(chan []json.RawMessage)
	for range 4 {
		wg.Go(func() {
			for batch := range work {
				if _, err := svc.Ingest(ctx, "bench", batch); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for events := range demo.Batches(demo.Options{Org: "bench", Events: n, Seed: 3}) {
		work <- events
	}
	close(work)
	wg.Wait()
	if err := store.Seal(ctx); err != nil {
		b.Fatal(err)
	}
	size, err := store.Size(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	a := api.New(api.Config{Service: svc, Logger: quiet})
	defer a.Close()
	srv := httptest.NewServer(a)
	defer srv.Close()
	id, secret := audit.NewKeySecret()
	if err := store.CreateKey(ctx, audit.Key{ID: id, Name: "bench", Scope: audit.ScopeRead, CreatedAt: time.Now()}, audit.HashSecret(secret)); err != nil {
		b.Fatal(err)
	}
	b.Run("scan", func(b *testing.B) {
		cpu := cpuTime(b)
		for b.Loop() {
			if err := store.Scan(ctx, "bench", 0, size, audit.Filter{}, func(int64, []byte) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		reportRates(b, size, cpu)
	})
	for _, format := range []string{"json", "ndjson"} {
		for _, enc := range []string{"identity", "gzip"} {
			b.Run(fmt.Sprintf("format=%s/encoding=%s", format, enc), func(b *testing.B) {
				hc := &http.Client{Transport: &http.Transport{}}
				var bytes int64
				cpu := cpuTime(b)
				for b.Loop() {
					req, _ := http.NewRequest("GET", srv.URL+"/api/v1/orgs/bench/export?format="+format, nil)
					req.Header.Set("Authorization", "Bearer "+secret)
					if enc == "identity" {
						// Else the transport asks for gzip and decompresses,
						// as Go clients (and trail bench) do.
						req.Header.Set("Accept-Encoding", enc)
					}
					resp, err := hc.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					if resp.StatusCode != 200 {
						b.Fatalf("status %d", resp.StatusCode)
					}
					nb, err := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil {
						b.Fatal(err)
					}
					bytes = nb
				}
				b.SetBytes(bytes)
				reportRates(b, size, cpu)
			})
		}
	}
}

// reportRates reports events/s and the process's CPU per event (server
// and client together: on a shared machine the wall clock says little).
func reportRates(b *testing.B, size int64, cpuBefore time.Duration) {
	events := float64(size) * float64(b.N)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpuTime(b)-cpuBefore)/events, "cpu-ns/event")
}
