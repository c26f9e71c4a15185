// SPDX-License-Identifier: Apache-2.0

package logstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/query"
	"github.com/trailaudit/trail/internal/sqlite"
)

// Benchmarks of the log engine beside the SQLite engine, in one run (the
// machine is shared: compare ratios, not absolute numbers). Sizes:
// TRAIL_BENCH_EVENTS (default 200,000) events for the query benchmarks,
// TRAIL_BENCH_PAGE_EVENTS (default: the store's) events per page;
// TRAIL_BENCH_MAX_HEADERS caps the block headers cached (at 1M events,
// 100 of the 245 blocks is the share 1,024 of a 10M org's 2,440 are),
// and with TRAIL_BENCH_AB=1 each first page is measured twice,
// interleaved: "summaries" as searches run, "headers" reading every
// walked block's header before testing its summary (as before summaries
// were kept in memory).
//
//	go test -run '^$' -bench . -benchtime 3x ./internal/logstore/

// engines opens each embedded engine in a fresh directory.
var engines = []struct {
	name string
	open func(dir string) (audit.Store, error)
}{
	{"log", func(dir string) (audit.Store, error) { return logstore.Open(dir, logstore.Options{}) }},
	{"sqlite", func(dir string) (audit.Store, error) { return sqlite.Open(dir, sqlite.Options{}) }},
}

// demoBatches is n demo events, producer ids removed (Trail assigns them).
func demoBatches(n int) [][]json.RawMessage {
	var out [][]json.RawMessage
	for batch := range demo.Batches(demo.Options{Org: "bench", Events: n, Seed: 1}) {
		for i, raw := range batch {
			var m map[string]json.RawMessage
			json.Unmarshal(raw, &m)
			delete(m, "id")
			batch[i], _ = json.Marshal(m)
		}
		out = append(out, batch)
	}
	return out
}

// ingestAll ingests the batches into org bench from 8 goroutines.
func ingestAll(b *testing.B, svc *audit.Service, batches [][]json.RawMessage) {
	work := make(chan []json.RawMessage)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for batch := range work {
				if _, err := svc.Ingest(context.Background(), "bench", batch); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for _, batch := range batches {
		work <- batch
	}
	close(work)
	wg.Wait()
}

// openServed opens a log store in dir and a service over it, both closed
// when the benchmark ends.
func openServed(b *testing.B, dir string, opts logstore.Options) (*logstore.Store, *audit.Service) {
	store, err := logstore.Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	svc := newService(store)
	b.Cleanup(func() {
		svc.Close()
		store.Close()
	})
	return store, svc
}

func newService(s audit.Store) *audit.Service {
	return audit.NewService(audit.Config{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// BenchmarkIngest is the write path through the service (validate,
// group commit, store), batches of 500 from 8 goroutines, per engine,
// with the log engine's background sealing: what is left unsealed at the
// end is sealed within the measure, so cpu-ns/event (the process's CPU)
// is the whole cost of the events stored.
//
//	go test -run '^$' -bench 'Ingest$/log' -benchtime 10x ./internal/logstore/
func BenchmarkIngest(b *testing.B) {
	batches := demoBatches(50000)
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			store, err := e.open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			svc := newService(store)
			defer svc.Close()
			var send [][]json.RawMessage
			events := 0
			for i := range b.N * 20 {
				send = append(send, batches[i%len(batches)])
				events += len(batches[i%len(batches)])
			}
			b.ResetTimer()
			cpu := benchCPU()
			ingestAll(b, svc, send)
			// What the background sealer has not sealed yet is sealed in
			// the time and CPU measured: the cost of the events stored.
			if s, ok := store.(interface{ Seal(context.Context) error }); ok {
				if err := s.Seal(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64((benchCPU()-cpu).Nanoseconds())/float64(events), "cpu-ns/event")
		})
	}
}

// BenchmarkQueries loads TRAIL_BENCH_EVENTS demo events into the log
// engine, seals them, reports the bytes on disk per event, and measures
// first pages (50, newest first) and a whole Scan.
func BenchmarkQueries(b *testing.B) {
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("TRAIL_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	pageEvents, _ := strconv.Atoi(os.Getenv("TRAIL_BENCH_PAGE_EVENTS"))
	store, svc := openServed(b, dir, logstore.Options{PageEvents: pageEvents})
	ctx := context.Background()
	batches := demoBatches(n)
	start := time.Now()
	ingestAll(b, svc, batches)
	loaded := time.Since(start)
	if err := store.Seal(ctx); err != nil {
		b.Fatal(err)
	}
	size, _ := store.Size(ctx, "bench")
	b.Logf("loaded %d events in %v (%.0f/s, 8 goroutines, batches of %d)", size, loaded.Round(time.Millisecond), float64(size)/loaded.Seconds(), demo.BatchSize)
	b.Logf("disk after sealing: %.1f bytes/event (every file under the directory); blocks %.1f, log %.1f, catalog %.1f",
		float64(duBytes(b, dir))/float64(size), float64(duBytes(b, filepath.Join(dir, "blocks")))/float64(size),
		float64(duBytes(b, filepath.Join(dir, "wal")))/float64(size), float64(duBytes(b, filepath.Join(dir, "catalog.db"))+
			duBytes(b, filepath.Join(dir, "catalog.db-wal")))/float64(size))
	b.Run("scan", func(b *testing.B) {
		for range b.N {
			var got int64
			if err := store.Scan(ctx, "bench", 0, size, audit.Filter{}, func(int64, []byte) error { got++; return nil }); err != nil || got != size {
				b.Fatal(got, err)
			}
		}
		b.ReportMetric(float64(int64(b.N)*size)/b.Elapsed().Seconds(), "events/s")
	})
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -30)
	rare := rareWord(b, store, size)
	b.Logf("rare word: %q", rare)
	maxHdrs, _ := strconv.Atoi(os.Getenv("TRAIL_BENCH_MAX_HEADERS"))
	modes := []string{""}
	if os.Getenv("TRAIL_BENCH_AB") == "1" {
		modes = []string{"/summaries", "/headers"}
	}
	defer store.BenchHeaders(0, false)
	for _, q := range []string{
		"", "type:repo.create", "type:billing.*", "category:billing", "actor:olivia", "target:acme/llama",
		"created:" + day.Format("2006-01-02"), "created:" + day.AddDate(0, -1, 0).Format("2006-01-02") + ".." + day.Format("2006-01-02"), "received:" + time.Now().UTC().Format("2006-01-02"),
		"-type:repo.update_settings", "llama", "gated", `"changed the role"`, "type:repo.create actor:alice llama",
		rare, "zebra",
	} {
		f, err := query.Parse(q, query.Options{})
		if err != nil {
			b.Fatalf("%q: %v", q, err)
		}
		for _, mode := range modes {
			b.Run(fmt.Sprintf("first-page/%q%s", q, mode), func(b *testing.B) {
				store.BenchHeaders(maxHdrs, mode == "/headers")
				var lat []time.Duration
				cpu := benchCPU()
				for range b.N {
					t := time.Now()
					if _, err := store.Query(ctx, "bench", audit.Query{Filter: f, Before: -1, After: -1, Limit: 50}); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(t))
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64((benchCPU()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

// rareWord returns a word of the search text of an event in the middle
// of the log that few events hold: the last target's id (random hex in
// the demo).
func rareWord(b *testing.B, store audit.Store, size int64) string {
	var word string
	err := store.Scan(context.Background(), "bench", size/3, size, audit.Filter{}, func(_ int64, data []byte) error {
		var ev audit.Event
		if err := json.Unmarshal(data, &ev); err != nil {
			return err
		}
		for _, t := range ev.Targets {
			if len(t.ID) >= 16 {
				word = t.ID
			}
		}
		if word != "" {
			return audit.ErrStop
		}
		return nil
	})
	if err != nil && err != audit.ErrStop {
		b.Fatal(err)
	}
	return word
}

// benchCPU is the CPU time the process has used.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func duBytes(b *testing.B, dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	return total
}

// BenchmarkAppend is the store alone: groups of 8 batches of 500 events
// of one org (what the service's committer hands over under load), new
// ids each time, per engine.
func BenchmarkAppend(b *testing.B) {
	t0 := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			store, err := e.open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			n := 0
			b.ResetTimer()
			for range b.N {
				var group []*audit.Batch
				for range 8 {
					batch := &audit.Batch{Org: "bench"}
					for range 500 {
						ev := audit.Event{
							ID: "ev-" + strconv.Itoa(n), Org: "bench", Type: "repo.create", Category: "content",
							Actor:       audit.Actor{Type: "user", ID: "u-" + strconv.Itoa(n%50), Name: "user" + strconv.Itoa(n%50)},
							Targets:     []audit.Target{{Type: "repo", ID: "r-" + strconv.Itoa(n), Name: "acme/model-" + strconv.Itoa(n)}},
							Description: "user" + strconv.Itoa(n%50) + " created the model acme/model-" + strconv.Itoa(n),
							Client:      &audit.Client{IP: "203.0.113.0", IPPrefixLen: 24, UserAgent: "bench/1"},
							Location:    &audit.Location{CountryCode: "FR", Country: "France", City: "Paris"},
							OccurredAt:  t0.Add(time.Duration(n) * time.Second), ReceivedAt: t0.Add(time.Duration(n) * time.Second),
							Metadata: map[string]any{"private": true, "license": "apache-2.0"},
						}
						batch.Events = append(batch.Events, &audit.Pending{Event: ev})
						n++
					}
					group = append(group, batch)
				}
				if err := store.Append(context.Background(), group); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkSeal is the sealer alone: TRAIL_BENCH_SEAL_EVENTS (default
// 65,536) demo events of one org, ingested through the service into a
// store that does not seal by itself, then sealed by one Seal (blocks
// built, written, fdatasync'd, committed), each op on a fresh store. It
// reports the CPU time of the seal per event (the process's, user and
// system: the machine is shared, so wall-clock rates are noisy) beside
// the rate and the block files' bytes per event. TRAIL_BENCH_PAGE_LEVEL
// (better, default) and TRAIL_BENCH_PAGE_EVENTS set the store's options.
//
//	go test -run '^$' -bench 'Seal$' -benchtime 3x ./internal/logstore/
func BenchmarkSeal(b *testing.B) {
	n := 65536
	if v, err := strconv.Atoi(os.Getenv("TRAIL_BENCH_SEAL_EVENTS")); err == nil && v > 0 {
		n = v
	}
	batches := demoBatches(n)
	ctx := context.Background()
	var cpu, wall time.Duration
	var sealed, bytes int64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		pe, _ := strconv.Atoi(os.Getenv("TRAIL_BENCH_PAGE_EVENTS")) // 0: the default
		s, err := logstore.Open(dir, logstore.Options{ManualSeal: true, PageLevel: benchPageLevel(b), PageEvents: pe})
		if err != nil {
			b.Fatal(err)
		}
		svc := newService(s)
		for _, batch := range batches {
			if _, err := svc.Ingest(ctx, "bench", batch); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		b.StartTimer()
		c0, t0 := benchCPU(), time.Now()
		if err := s.Seal(ctx); err != nil {
			b.Fatal(err)
		}
		cpu += benchCPU() - c0
		wall += time.Since(t0)
		b.StopTimer()
		size, err := s.Size(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		sealed += size
		bytes += duBytes(b, filepath.Join(dir, "blocks"))
		svc.Close()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(sealed), "cpu-ns/event")
	b.ReportMetric(float64(sealed)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(bytes)/float64(sealed), "block-B/event")
}

// benchPageLevel is the page level TRAIL_BENCH_PAGE_LEVEL names (better
// or default), for measuring the two in one build; unset, the default.
func benchPageLevel(b *testing.B) logstore.PageLevel {
	name := os.Getenv("TRAIL_BENCH_PAGE_LEVEL")
	if name == "" {
		return logstore.PageLevelDefault
	}
	l, err := logstore.ParsePageLevel(name)
	if err != nil {
		b.Fatal(err)
	}
	return l
}
