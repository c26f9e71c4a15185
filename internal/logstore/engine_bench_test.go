// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// Benchmarks of what the log engine costs as it grows: memory, Open
// (restart) time and inclusion proofs. A store of TRAIL_BENCH_BIG events
// (default 200,000) in one org plus TRAIL_BENCH_SMALL_ORGS (default 1,000)
// orgs of 100 is built once per run (or reused from TRAIL_BENCH_DIR, which
// keeps it between runs), sealed in the background as a server would:
//
//	TRAIL_BENCH_BIG=1000000 TRAIL_BENCH_DIR=/tmp/lsbench go test -run '^$' -bench 'Open|Proof' -benchtime 20x ./internal/logstore/

func benchEnv(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// benchEvent is event n of org: ~600 bytes of canonical JSON.
func benchEvent(org string, n int) *audit.Pending {
	t0 := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	ev := audit.Event{
		ID: org + "-ev-" + strconv.Itoa(n), Org: org, Type: "repo.create", Category: "content",
		Actor:       audit.Actor{Type: "user", ID: "u-" + strconv.Itoa(n%50), Name: "user" + strconv.Itoa(n%50)},
		Targets:     []audit.Target{{Type: "repo", ID: "r-" + strconv.Itoa(n), Name: org + "/model-" + strconv.Itoa(n)}},
		Description: "user" + strconv.Itoa(n%50) + " created the model " + org + "/model-" + strconv.Itoa(n),
		Client:      &audit.Client{IP: "203.0.113.0", IPPrefixLen: 24, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) bench/1"},
		Location:    &audit.Location{CountryCode: "FR", Country: "France", City: "Paris"},
		OccurredAt:  t0.Add(time.Duration(n) * time.Second), ReceivedAt: t0.Add(time.Duration(n) * time.Second),
		Metadata: map[string]any{"private": true, "license": "apache-2.0", "visibility": "internal", "size_bytes": n * 7},
	}
	return &audit.Pending{Event: ev, Hash: sha256.Sum256([]byte(ev.ID))}
}

// benchStore builds (or reuses) the benchmark's directory and returns it
// with the big org's size.
func benchStore(b *testing.B) (dir string, big int) {
	big = benchEnv("TRAIL_BENCH_BIG", 200000)
	smallOrgs, smallEvents := benchEnv("TRAIL_BENCH_SMALL_ORGS", 1000), 100
	dir = os.Getenv("TRAIL_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	dir = filepath.Join(dir, fmt.Sprintf("big%d-small%d", big, smallOrgs))
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir, big
	}
	os.RemoveAll(dir)
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	ctx := context.Background()
	n, small := 0, 0
	for n < big || small < smallOrgs*smallEvents {
		var group []*audit.Batch
		for range 8 {
			if n >= big {
				break
			}
			batch := &audit.Batch{Org: "big"}
			for range min(500, big-n) {
				batch.Events = append(batch.Events, benchEvent("big", n))
				n++
			}
			group = append(group, batch)
		}
		// The small orgs get their events in step with the big one, a few
		// at a time, so that their blocks are small and many (as a
		// server's background sealer makes them).
		for range 4 {
			if small >= smallOrgs*smallEvents {
				break
			}
			org := "small-" + strconv.Itoa(small%smallOrgs)
			batch := &audit.Batch{Org: org}
			for k := range 10 {
				batch.Events = append(batch.Events, benchEvent(org, small/smallOrgs*10+k))
			}
			small += 10
			group = append(group, batch)
		}
		if err := s.Append(ctx, group); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("heap in use after loading: %.1f MiB", float64(heapInuse())/(1<<20))
	// Close without Seal: what the sealer has not sealed stays in the log
	// for Open to replay, as after a server's stop.
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %s in %v", dir, time.Since(start).Round(time.Millisecond))
	os.WriteFile(filepath.Join(dir, "done"), nil, 0o600)
	return dir, big
}

// cpuTime is the CPU time the process has used (user and system; the
// machine is shared, so wall-clock times are noisy).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkOpen is a restart: Open of the built store (replaying its log),
// then the first append of an id already stored in the big org (which
// needs the id filters), reported with the heap in use after each.
func BenchmarkOpen(b *testing.B) {
	dir, big := benchStore(b)
	ctx := context.Background()
	base := heapInuse()
	var open, openCPU, first []time.Duration
	var heapOpen, heapFirst uint64
	for range b.N {
		t, c := time.Now(), cpuTime()
		s, err := Open(dir, Options{ManualSeal: true})
		if err != nil {
			b.Fatal(err)
		}
		open = append(open, time.Since(t))
		openCPU = append(openCPU, cpuTime()-c)
		heapOpen = heapInuse() - base
		t = time.Now()
		batch := &audit.Batch{Org: "big", Events: []*audit.Pending{benchEvent("big", big/3)}}
		if err := s.Append(ctx, []*audit.Batch{batch}); err != nil || batch.Err != nil || batch.Results[0].Seq != int64(big/3) {
			b.Fatal(err, batch.Err, batch.Results)
		}
		first = append(first, time.Since(t))
		heapFirst = heapInuse() - base
		runtime.KeepAlive(s)
		s.Close()
	}
	slices.Sort(open)
	slices.Sort(openCPU)
	slices.Sort(first)
	b.ReportMetric(float64(open[len(open)/2].Microseconds())/1000, "open-p50-ms")
	b.ReportMetric(float64(openCPU[len(openCPU)/2].Microseconds())/1000, "open-cpu-ms")
	b.ReportMetric(float64(first[len(first)/2].Microseconds())/1000, "first-retry-ms")
	b.ReportMetric(float64(heapOpen)/(1<<20), "heap-open-MiB")
	b.ReportMetric(float64(heapFirst)/(1<<20), "heap-MiB")
}

// BenchmarkProof is an inclusion proof of a random event of the big org
// (what GET …/events/{id}/proof does in the store: find the event by id,
// then the proof's hashes): cold drops every cached block header before
// each proof (what most proofs at 10M met before block summaries placed
// pages without the header), warm keeps them.
func BenchmarkProof(b *testing.B) {
	dir, big := benchStore(b)
	ctx := context.Background()
	s, err := Open(dir, Options{ManualSeal: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Seal(ctx); err != nil { // every event in a block: nothing else runs
		b.Fatal(err)
	}
	size, _ := s.Size(ctx, "big")
	for _, cold := range []bool{false, true} {
		b.Run(map[bool]string{false: "warm", true: "cold"}[cold], func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			var lat []time.Duration
			var cpu time.Duration
			for range b.N {
				n := r.IntN(big)
				if cold {
					s.blocks.dropHeaders()
				}
				t, c := time.Now(), cpuTime()
				seq, data, err := s.Event(ctx, "big", "big-ev-"+strconv.Itoa(n))
				if err != nil || seq != int64(n) {
					b.Fatal(seq, err)
				}
				proof, err := ledger.ProveInclusion(seq, size, audit.HashReader(ctx, s, "big"))
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
				cpu += cpuTime() - c
				if b.N < 100 || n%10 == 0 {
					root, _ := ledger.TreeHash(size, audit.HashReader(ctx, s, "big"))
					if err := ledger.CheckInclusion(proof, seq, size, root, ledger.LeafHash(data)); err != nil {
						b.Fatal(err)
					}
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/proof")
		})
	}
}

// dropHeaders forgets every cached block header.
func (f *blockFiles) dropHeaders() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.cached {
		b.hdr.Store(nil)
	}
	f.cached, f.cost = nil, 0
}
