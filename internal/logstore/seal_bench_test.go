// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
)

// BenchmarkSeal is the sealer alone: TRAIL_BENCH_SEAL_EVENTS (default
// 65,536) demo events of one org, ingested through the service into a
// store that does not seal by itself, then sealed by one Seal (blocks
// built, written, fdatasync'd, committed), each op on a fresh store. It
// reports the CPU time of the seal per event (the process's, user and
// system: the machine is shared, so wall-clock rates are noisy) beside
// the rate.
//
//	go test -run '^$' -bench Seal -benchtime 3x ./internal/logstore/
func BenchmarkSeal(b *testing.B) {
	n := benchEnv("TRAIL_BENCH_SEAL_EVENTS", 65536)
	var batches [][]json.RawMessage
	for batch := range demo.Batches(demo.Options{Org: "bench", Events: n, Seed: 3}) {
		for i, raw := range batch {
			var m map[string]json.RawMessage
			json.Unmarshal(raw, &m)
			delete(m, "id")
			batch[i], _ = json.Marshal(m)
		}
		batches = append(batches, batch)
	}
	ctx := context.Background()
	var cpu, wall time.Duration
	var sealed, bytes int64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s, err := Open(b.TempDir(), Options{ManualSeal: true})
		if err != nil {
			b.Fatal(err)
		}
		svc := audit.NewService(audit.Config{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		for _, batch := range batches {
			if _, err := svc.Ingest(ctx, "bench", batch); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		b.StartTimer()
		c0, t0 := cpuTime(), time.Now()
		if err := s.Seal(ctx); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
		wall += time.Since(t0)
		b.StopTimer()
		o := s.org("bench")
		sealed += o.sealed
		for _, blk := range o.blocks {
			bytes += blk.size
		}
		svc.Close()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(sealed), "cpu-ns/event")
	b.ReportMetric(float64(sealed)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(bytes)/float64(sealed), "block-B/event")
}
