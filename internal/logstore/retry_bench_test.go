// SPDX-License-Identifier: Apache-2.0

package logstore_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/logstore"
)

// BenchmarkSealedRetry measures retries of sealed events: N (default
// 65,536) demo events of one org with their producer ids, sealed, then
// every 16th sent again through the service, in batches of 256 (a
// lookup by id in the blocks, the event read, the content hashes
// compared). It reports the CPU time per retried event (user and
// system: the machine is shared).
//
//	go test -run '^$' -bench 'SealedRetry$' -benchtime 5x -cpu 1 ./internal/logstore/
func BenchmarkSealedRetry(b *testing.B) {
	n := 65536
	if v, err := strconv.Atoi(os.Getenv("TRAIL_BENCH_SEAL_EVENTS")); err == nil && v > 0 {
		n = v
	}
	var batches [][]json.RawMessage // with their producer ids
	for batch := range demo.Batches(demo.Options{Org: "bench", Events: n, Seed: 1}) {
		batches = append(batches, batch)
	}
	ctx := context.Background()
	s, err := logstore.Open(b.TempDir(), logstore.Options{ManualSeal: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	svc := newService(s)
	defer svc.Close()
	var again []json.RawMessage
	for _, batch := range batches {
		if _, err := svc.Ingest(ctx, "bench", batch); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(batch); i += 16 {
			again = append(again, batch[i])
		}
	}
	if err := s.Seal(ctx); err != nil {
		b.Fatal(err)
	}
	stored, err := s.Size(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	var cpu time.Duration
	retried := 0
	b.ResetTimer()
	for range b.N {
		c0 := benchCPU()
		for i := 0; i < len(again); i += 256 {
			part := again[i:min(i+256, len(again))]
			res, err := svc.Ingest(ctx, "bench", part)
			if err != nil || len(res) != len(part) {
				b.Fatal(err)
			}
			retried += len(part)
		}
		cpu += benchCPU() - c0
	}
	if size, _ := s.Size(ctx, "bench"); size != stored {
		b.Fatalf("%d events after retries, %d before", size, stored)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(retried)/1000, "cpu-µs/retry")
}
