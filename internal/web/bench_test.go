// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/web"
)

// BenchmarkPage measures the server render time of the audit-log page
// (session check, view bookkeeping, chart, count, the first 50 rows,
// template) in an org of TRAIL_BENCH_PAGE_EVENTS demo events (default
// 1,000,000), and reports p50 and p99. It is a benchmark, not a test: it
// runs only with TRAIL_BENCH_PAGE=1, and keeps its store in
// TRAIL_BENCH_DATA (default a temporary directory) so that a second run
// skips the load:
//
//	TRAIL_BENCH_PAGE=1 TRAIL_BENCH_DATA=/tmp/pagebench go test -run '^$' -bench Page -benchtime 300x ./internal/web
func BenchmarkPage(b *testing.B) {
	if os.Getenv("TRAIL_BENCH_PAGE") != "1" {
		b.Skip("set TRAIL_BENCH_PAGE=1 to run (it loads 1M events)")
	}
	n := 1_000_000
	if s := os.Getenv("TRAIL_BENCH_PAGE_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := os.Getenv("TRAIL_BENCH_DATA")
	if dir == "" {
		dir = b.TempDir()
	}
	store, err := logstore.Open(dir, logstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	svc := audit.NewService(audit.Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
	defer svc.Close()
	loadPageBench(b, svc, store, n)
	viewers := audit.NewViewers(store, audit.ViewerConfig{PublicURL: "http://bench"})
	h := web.New(web.Config{Service: svc, Viewers: viewers, Logger: slog.New(slog.DiscardHandler)})
	link, _, err := viewers.Mint(context.Background(), "acme", audit.Actor{ID: "u_bench", Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	id, _, err := viewers.Consume(context.Background(), strings.TrimPrefix(link, "http://bench/link/"))
	if err != nil {
		b.Fatal(err)
	}
	size, _ := store.Size(context.Background(), "acme")
	b.Logf("org acme: %d events", size)
	for _, q := range []struct{ name, query string }{
		{"first", ""},
		{"type", "type=repo.create"},
		{"search", "q=" + "actor:alice+category:content"},
		{"older", "before=" + strconv.FormatInt(size/2, 10)},
	} {
		b.Run(q.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				req := httptest.NewRequest("GET", "/orgs/acme/settings/audit-logs?"+q.query, nil)
				req.AddCookie(&http.Cookie{Name: "trail_session", Value: id})
				w := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(w, req)
				took = append(took, time.Since(start))
				if w.Code != 200 {
					b.Fatalf("status %d", w.Code)
				}
			}
			slices.Sort(took)
			b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
			b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// loadPageBench fills org acme with n demo events over a year, unless the
// store has them already.
func loadPageBench(b *testing.B, svc *audit.Service, store audit.Store, n int) {
	ctx := context.Background()
	if have, _ := store.Size(ctx, "acme"); have >= int64(n) {
		return
	}
	start := time.Now()
	batches := make(chan []json.RawMessage, 8)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for batch := range batches {
				if _, err := svc.Ingest(ctx, "acme", batch); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for batch := range demo.Batches(demo.Options{Events: n, Days: 365}) {
		batches <- batch
	}
	close(batches)
	wg.Wait()
	b.Logf("loaded %d events in %s", n, time.Since(start).Round(time.Second))
}
