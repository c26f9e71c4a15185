// SPDX-License-Identifier: Apache-2.0

package logstore_test

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/logstore"
)

// BenchmarkIngestMemory ingests TRAIL_BENCH_EVENTS demo events (default
// 300,000) through the service from 8 goroutines into one org, and 10
// events of every 4th batch into one of 1,000 small orgs, with background
// sealing, and reports the heap in use beyond the events to send: its
// peak (sampled every 20 ms, garbage included) and after a collection at
// the end (live, before sealing what is left).
//
//	TRAIL_BENCH_EVENTS=300000 go test -run '^$' -bench IngestMemory -benchtime 1x ./internal/logstore/
func BenchmarkIngestMemory(b *testing.B) {
	n := benchEvents(300000)
	batches := demoBatches(n)
	ctx := context.Background()
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	base := float64(m0.HeapInuse) // the events to send
	for range b.N {
		store, err := logstore.Open(b.TempDir(), logstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		svc := newService(store)
		var peak atomic.Uint64
		done := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Go(func() {
			for {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
		start := time.Now()
		work := make(chan int)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for i := range work {
					if _, err := svc.Ingest(ctx, "bench", batches[i]); err != nil {
						b.Error(err)
					}
					if i%4 == 0 {
						small := make([]json.RawMessage, 10)
						copy(small, batches[i])
						if _, err := svc.Ingest(ctx, "small-"+strconv.Itoa(i/4%1000), small); err != nil {
							b.Error(err)
						}
					}
				}
			})
		}
		for i := range batches {
			work <- i
		}
		close(work)
		wg.Wait()
		took := time.Since(start)
		close(done)
		sampler.Wait()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if path := os.Getenv("TRAIL_BENCH_HEAPPROFILE"); path != "" {
			f, err := os.Create(path)
			if err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
		b.ReportMetric(float64(n)/took.Seconds(), "events/s")
		b.ReportMetric((float64(peak.Load())-base)/(1<<20), "peak-heap-MiB")
		b.ReportMetric((float64(m.HeapInuse)-base)/(1<<20), "live-heap-MiB")
		svc.Close()
		store.Close()
	}
}

func benchEvents(def int) int {
	if v, err := strconv.Atoi(os.Getenv("TRAIL_BENCH_EVENTS")); err == nil && v > 0 {
		return v
	}
	return def
}
