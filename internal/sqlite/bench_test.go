// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/sqlite"
)

// BenchmarkIngest measures the write path (validate, enrich, group commit,
// SQLite) without HTTP, in batches of 500 from 4 goroutines.
func BenchmarkIngest(b *testing.B) {
	var batches [][]json.RawMessage
	for batch := range demo.Batches(demo.Options{Org: "bench", Events: 50000, Seed: 1}) {
		for i, raw := range batch {
			var m map[string]json.RawMessage
			json.Unmarshal(raw, &m)
			delete(m, "id")
			batch[i], _ = json.Marshal(m)
		}
		batches = append(batches, batch)
	}
	store, err := sqlite.Open(b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	svc := audit.NewService(audit.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer svc.Close()
	ctx := context.Background()
	b.SetParallelism(2)
	b.ResetTimer()
	var i atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := int(i.Add(1)) % len(batches)
			if _, err := svc.Ingest(ctx, "bench", batches[n]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkScan measures reading a whole org's log in seq order, as an
// export does.
func BenchmarkScan(b *testing.B) {
	store, err := sqlite.Open(b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	svc := audit.NewService(audit.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer svc.Close()
	ctx := context.Background()
	for batch := range demo.Batches(demo.Options{Org: "bench", Events: 50000, Seed: 1}) {
		if _, err := svc.Ingest(ctx, "bench", batch); err != nil {
			b.Fatal(err)
		}
	}
	n, _ := store.Size(ctx, "bench")
	b.ResetTimer()
	for range b.N {
		var got int64
		err := store.Scan(ctx, "bench", 0, n, audit.Filter{}, func(int64, []byte) error { got++; return nil })
		if err != nil || got != n {
			b.Fatalf("scan: %d events, %v", got, err)
		}
	}
	b.ReportMetric(float64(int64(b.N)*n)/b.Elapsed().Seconds(), "events/s")
}
