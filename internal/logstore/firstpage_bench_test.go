// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"cmp"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// BenchmarkFirstPages measures the first page (50 events, newest first)
// of the searches of `trail bench` on a store built by it: a type (every
// type of the org's blocks), `type:billing.*`, a category, an actor, a
// target, a country, a negation and a word, with values taken from the
// org's newest events as the bench takes them from its pool. Every query
// runs TRAIL_QUERY_ROUNDS times (default 5) in each mode of
// TRAIL_QUERY_MODES (default "seq,par": pages run one by one, or with a
// helper goroutine; see pageHelper), the modes alternated query by query,
// and each kind's wall p50/p99 and CPU per query (getrusage of the
// process: the helper's too) are logged. TRAIL_QUERY_DROP=1 empties the
// header cache before each query (as at 10M events and 1,000 small orgs,
// where the headers a search needs are seldom cached). It opens the store (a copy: Open
// may write):
//
//	cp -a /tmp/s10m /tmp/copy
//	TRAIL_QUERY_DIR=/tmp/copy go test -run '^$' -bench FirstPages -benchtime 1x -v ./internal/logstore/
func BenchmarkFirstPages(b *testing.B) {
	dir := os.Getenv("TRAIL_QUERY_DIR")
	if dir == "" {
		b.Skip("TRAIL_QUERY_DIR (a copy of a store written by trail bench) is not set")
	}
	org := cmp.Or(os.Getenv("TRAIL_QUERY_ORG"), "bench")
	rounds := benchEnv("TRAIL_QUERY_ROUNDS", 5)
	modes := strings.Split(cmp.Or(os.Getenv("TRAIL_QUERY_MODES"), "seq,par"), ",")
	drop := os.Getenv("TRAIL_QUERY_DROP") != ""
	s, err := Open(dir, Options{ManualSeal: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	kinds := firstPageQueries(b, s, org)
	if only := os.Getenv("TRAIL_QUERY_KINDS"); only != "" {
		kinds = slices.DeleteFunc(kinds, func(k probeKind) bool { return !slices.Contains(strings.Split(only, ","), k.name) })
	}
	defer func(old bool) { parallelPages = old }(parallelPages)
	type stat struct {
		wall      []time.Duration
		cpu, walk time.Duration
		rows      int
	}
	// The walk's own thread: its CPU is what a walk would take on a quiet
	// machine, with a helper on the other core.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	stats := map[string]*stat{}
	for _, k := range kinds {
		for _, m := range modes {
			stats[k.name+"/"+m] = &stat{}
		}
	}
	b.ResetTimer()
	for range b.N {
		for r := 0; r < rounds; r++ {
			for _, k := range kinds {
				for _, f := range k.filters {
					for i := range modes {
						m := modes[(i+r)%len(modes)] // alternate which mode goes first
						parallelPages = m != "seq"
						st := stats[k.name+"/"+m]
						if drop {
							s.blocks.dropHeaders()
						}
						c0, w0, t0 := procCPU(), threadCPU(), time.Now()
						page, err := s.Query(ctx, org, audit.Query{Filter: f, Order: audit.Desc, Before: -1, After: -1, Limit: audit.DefaultPageSize})
						st.wall = append(st.wall, time.Since(t0))
						st.cpu += procCPU() - c0
						st.walk += threadCPU() - w0
						if err != nil {
							b.Fatal(err)
						}
						st.rows += len(page.Events)
					}
				}
			}
		}
	}
	b.StopTimer()
	for _, k := range kinds {
		for _, m := range modes {
			st := stats[k.name+"/"+m]
			slices.Sort(st.wall)
			n := len(st.wall)
			b.Logf("%-12s %-4s %3d queries (%d values, %.1f rows): wall p50 %6.2f p99 %6.2f max %6.2f ms, CPU %6.2f ms/query (walk's thread %6.2f)",
				k.name, m, n, len(k.filters), float64(st.rows)/float64(n),
				ms(st.wall[n/2]), ms(st.wall[min(n-1, n*99/100)]), ms(st.wall[n-1]), ms(st.cpu/time.Duration(n)), ms(st.walk/time.Duration(n)))
		}
	}
	if os.Getenv("TRAIL_QUERY_EACH") != "" {
		// Per type: which types are slow.
		for _, f := range kinds[0].filters {
			for _, m := range modes {
				parallelPages = m != "seq"
				var walls []time.Duration
				c0 := procCPU()
				for range 5 {
					t0 := time.Now()
					if _, err := s.Query(ctx, org, audit.Query{Filter: f, Order: audit.Desc, Before: -1, After: -1, Limit: audit.DefaultPageSize}); err != nil {
						b.Fatal(err)
					}
					walls = append(walls, time.Since(t0))
				}
				slices.Sort(walls)
				b.Logf("type %-32s %-4s wall p50 %6.2f ms, CPU %6.2f ms/query", f.Terms[0].Value, m, ms(walls[2]), ms((procCPU()-c0)/5))
			}
		}
	}
}

type probeKind struct {
	name    string
	filters []audit.Filter
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// procCPU is the process's user and system CPU time.
func procCPU() time.Duration { return rusage(syscall.RUSAGE_SELF) }

// threadCPU is the calling thread's (RUSAGE_THREAD).
func threadCPU() time.Duration { return rusage(1) }

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// firstPageQueries builds the bench's query kinds from org's blocks and
// its newest 20,000 events (as the bench's vocabulary takes them from its
// pool: vocab.go).
func firstPageQueries(b *testing.B, s *Store, org string) []probeKind {
	o := s.org(org)
	if o == nil {
		b.Fatalf("no org %q", org)
	}
	v := s.view(o)
	sets := [3]map[string]bool{{}, {}, {}}
	for _, blk := range v.blocks {
		if blk.sum == nil {
			continue
		}
		for k := range sets {
			for _, id := range blk.sum.sets[k] {
				sets[k][s.cat.strs.str(id)] = true
			}
		}
	}
	s.unpin(&v)
	page, err := s.Query(context.Background(), org, audit.Query{Order: audit.Desc, Before: -1, After: -1, Limit: 20000})
	if err != nil {
		b.Fatal(err)
	}
	types, actors, targets, words := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for _, data := range page.Events {
		var e struct {
			Type    string
			Actor   struct{ Name string }
			Targets []struct{ Name string }
		}
		if json.Unmarshal(data, &e) != nil {
			continue
		}
		types[e.Type]++
		actors[e.Actor.Name]++
		seen := map[string]bool{}
		for _, t := range e.Targets {
			targets[t.Name]++
			for _, w := range words1(t.Name) {
				if !seen[w] {
					seen[w] = true
					words[w]++
				}
			}
		}
	}
	n := len(page.Events)
	is := func(f audit.Field, neg bool, vals ...string) []audit.Filter {
		var out []audit.Filter
		for _, v := range vals {
			out = append(out, audit.Filter{Terms: []audit.Term{{Field: f, Value: v, Negate: neg}}})
		}
		return out
	}
	return []probeKind{
		{"type", is(audit.FieldType, false, setKeys(sets[0])...)},
		{"type prefix", is(audit.FieldTypePrefix, false, "billing.")},
		{"category", is(audit.FieldCategory, false, setKeys(sets[1])...)},
		{"actor", is(audit.FieldActor, false, counted(actors, n/200, n, 8)...)},
		{"target", is(audit.FieldTarget, false, counted(targets, n/1000, n/20, 12)...)},
		{"country", is(audit.FieldCountry, false, setKeys(sets[2])...)},
		{"negation", is(audit.FieldType, true, counted(types, 1, n, 3)...)},
		{"word", is(audit.FieldText, false, counted(words, n/100, n/5, 12)...)},
		{"none", []audit.Filter{{}}},
	}
}

func setKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// counted returns up to max values counted lo..hi times, most frequent
// first.
func counted(c map[string]int, lo, hi, max int) []string {
	var out []string
	for k, n := range c {
		if n >= lo && n <= hi && k != "" {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(c[b]-c[a], strings.Compare(a, b)) })
	return out[:min(len(out), max)]
}

// words1 is the bench's tokens: lower-case words of four characters or
// more, three of them letters.
func words1(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}) {
		letters := len(w) - len(strings.Map(func(r rune) rune {
			if 'a' <= r && r <= 'z' {
				return -1
			}
			return r
		}, w))
		if len(w) >= 4 && letters >= 3 {
			out = append(out, w)
		}
	}
	return out
}

// BenchmarkProofsOf times inclusion proofs of 300 random events of a store
// written by trail bench (TRAIL_QUERY_DIR, a copy; org TRAIL_QUERY_ORG,
// default "bench"), in-process: the event found by its id, then its proof
// (what GET …/events/{id}/proof does in the store), two rounds after
// Open's pass over the id sections has ended, wall p50/p99/max per round:
//
//	TRAIL_QUERY_DIR=/tmp/copy go test -run '^$' -bench ProofsOf -benchtime 1x -v ./internal/logstore/
func BenchmarkProofsOf(b *testing.B) {
	dir := os.Getenv("TRAIL_QUERY_DIR")
	if dir == "" {
		b.Skip("TRAIL_QUERY_DIR (a copy of a store written by trail bench) is not set")
	}
	org := cmp.Or(os.Getenv("TRAIL_QUERY_ORG"), "bench")
	s, err := Open(dir, Options{ManualSeal: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	size, err := s.Size(ctx, org)
	if err != nil || size == 0 {
		b.Fatalf("org %q: %d events, %v", org, size, err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var ids []string
	for range 300 {
		seq := r.Int64N(size)
		p, err := s.Query(ctx, org, audit.Query{Before: seq + 1, After: seq - 1, Limit: 1})
		if err != nil || len(p.Events) != 1 {
			b.Fatalf("event %d: %v", seq, err)
		}
		ids = append(ids, eventID(p.Events[0]))
	}
	<-s.warmed
	b.ResetTimer()
	for range b.N {
		for round := range 2 {
			var lat []time.Duration
			for _, id := range ids {
				t0 := time.Now()
				seq, _, err := s.Event(ctx, org, id)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ledger.ProveInclusion(seq, size, audit.HashReader(ctx, s, org)); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.Logf("round %d: %d proofs, wall p50 %.2f p99 %.2f max %.2f ms", round, len(lat),
				ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1]))
		}
	}
}
