// SPDX-License-Identifier: Apache-2.0

package logstore_test

import (
	"context"
	"encoding/json"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/trailaudit/trail/internal/logstore"
)

// BenchmarkIngestMix is trail bench's ingest phase in one process, without
// HTTP: request bodies of 500 demo events posted through
// Service.IngestBody by 4 clients, every other request to the big org
// "bench", the others round 1,000 small orgs in turn (each small org's
// batch is then its own WAL record and, sealed when the tails grow, its
// own small block), with background sealing. An op is two requests (1,000
// events); what is unsealed at the end is sealed within the measure. It
// reports the process's CPU (user and system) and minor page faults per
// event: on a shared machine compare those, not the rates.
//
//	go test -run '^$' -bench 'IngestMix' -benchtime 400x ./internal/logstore/
func BenchmarkIngestMix(b *testing.B) {
	const smallOrgs = 1000
	var bodies [][]byte
	for _, batch := range demoBatches(50000) {
		if len(batch) != 500 {
			continue
		}
		body, err := json.Marshal(map[string]any{"events": batch})
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	logstore.BenchCheckDocs(false)
	defer logstore.BenchCheckDocs(true)
	store, svc := openServed(b, b.TempDir(), logstore.Options{})
	ctx := context.Background()
	requests := int64(2 * b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	runtime.GC()
	c0, f0 := rusage()
	for range 4 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= requests {
					return
				}
				org := "bench"
				if i%2 == 1 {
					org = "small-" + strconv.Itoa(int(i/2)%smallOrgs)
				}
				if _, _, err := svc.IngestBody(ctx, org, bodies[i%int64(len(bodies))], false); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := store.Seal(ctx); err != nil {
		b.Fatal(err)
	}
	c1, f1 := rusage()
	events := float64(requests * 500)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(c1-c0)/events, "cpu-ns/event")
	b.ReportMetric(float64(f1-f0)/events, "minflt/event")
}

// rusage is the process's CPU time (user and system, ns) and minor page
// faults.
func rusage() (cpu, minflt int64) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano(), ru.Minflt
}
