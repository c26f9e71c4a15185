// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
)

var loadTests = []test{
	{"ConcurrentAppends", func(h *harness) {
		const goroutines, appends = 4, 50
		orgs := []string{"acme", "beta"}
		perAppend := map[string]int{"acme": 3, "beta": 1}
		var mu sync.Mutex
		acked := map[string]map[int64]string{"acme": {}, "beta": {}}
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range appends {
					var bs []*audit.Batch
					for _, org := range orgs {
						evs := make([]audit.Event, perAppend[org])
						for j := range evs {
							evs[j] = newEvent(org, fmt.Sprintf("g%d-%d-%d", g, i, j), i)
						}
						bs = append(bs, batch(org, evs...))
					}
					if err := h.s.Append(h.ctx, bs); err != nil {
						h.t.Errorf("goroutine %d, Append %d: %v", g, i, err)
						return
					}
					mu.Lock()
					for _, b := range bs {
						if b.Err != nil {
							h.t.Errorf("goroutine %d, Append %d, %s: Err = %v", g, i, b.Org, b.Err)
							continue
						}
						for k, r := range b.Results {
							if k > 0 && r.Seq != b.Results[k-1].Seq+1 {
								h.t.Errorf("%s: batch seqs %v are not consecutive", b.Org, b.Results)
							}
							if prev, dup := acked[b.Org][r.Seq]; dup {
								h.t.Errorf("%s: seq %d acked for %s and %s", b.Org, r.Seq, prev, r.ID)
							}
							acked[b.Org][r.Seq] = r.ID
						}
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, org := range orgs {
			n := int64(goroutines * appends * perAppend[org])
			h.wantSize(org, n)
			seqs, data := h.scan(org, 0, n+10, audit.Filter{})
			if !slices.Equal(seqs, seqRange(0, n)) {
				h.t.Errorf("%s: Scan gave %d seqs, want dense 0…%d", org, len(seqs), n-1)
				continue
			}
			for i, d := range data {
				if got := decode(h.t, d).ID; got != acked[org][seqs[i]] {
					h.t.Errorf("%s seq %d: stored id %q, acked %q", org, seqs[i], got, acked[org][seqs[i]])
				}
			}
			var counted int64
			for _, d := range h.dailyCounts(org, t0.AddDate(0, 0, -1), t0.AddDate(0, 0, 2)) {
				counted += d.Count
			}
			if counted != n {
				h.t.Errorf("%s: DailyCounts add up to %d, want %d", org, counted, n)
			}
		}
	}},
	{"LargeLogPagedWalk", func(h *harness) {
		if testing.Short() {
			h.t.Skip("20k events: skipped in -short mode")
		}
		const total, batchSize = 20000, 500
		want := make([][]byte, 0, total)
		actors := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"}
		for start := 0; start < total; start += 2 * batchSize {
			var bs []*audit.Batch
			var evs [][]audit.Event
			for b := range 2 {
				part := make([]audit.Event, batchSize)
				for j := range part {
					n := start + b*batchSize + j
					ev := newEvent("acme", fmt.Sprintf("ev-%05d", n), n)
					ev.Actor.Name = actors[n%len(actors)]
					ev.Actor.ID = "u-" + ev.Actor.Name
					if n%10 == 0 {
						ev.Description += " tenth"
					}
					part[j] = ev
				}
				evs = append(evs, part)
				bs = append(bs, batch("acme", part...))
			}
			h.append(bs...)
			for b, bb := range bs {
				for j, seq := range h.seqs(bb) {
					if seq != int64(len(want)) {
						h.t.Fatalf("event %d got seq %d", len(want), seq)
					}
					want = append(want, canonical(evs[b][j], seq))
				}
			}
		}
		h.wantSize("acme", total)

		seen := 0
		q := audit.Query{Before: -1, After: -1, Limit: 1000}
		for {
			p := h.query("acme", q)
			for i, data := range p.Events {
				wantSeq := int64(total - 1 - seen)
				if p.Seqs[i] != wantSeq {
					h.t.Fatalf("walk: event %d has seq %d, want %d", seen, p.Seqs[i], wantSeq)
				}
				if !bytes.Equal(data, want[wantSeq]) {
					h.t.Fatalf("walk: seq %d:\n got %s\nwant %s", wantSeq, data, want[wantSeq])
				}
				seen++
			}
			if !p.More {
				break
			}
			q.Before = p.Seqs[len(p.Seqs)-1]
		}
		if seen != total {
			h.t.Errorf("walk saw %d events, want %d", seen, total)
		}

		wantSeqs := func(keep func(n int) bool, desc bool) []int64 {
			var s []int64
			for n := range total {
				if keep(n) {
					s = append(s, int64(n))
				}
			}
			if desc {
				slices.Reverse(s)
			}
			return s
		}
		for _, c := range []struct {
			name string
			f    audit.Filter
			keep func(n int) bool
		}{
			{"actor", terms(actor("carol")), func(n int) bool { return n%7 == 2 }},
			{"text", terms(text("tenth")), func(n int) bool { return n%10 == 0 }},
			{"negated actor + text", terms(not(actor("u-alice")), text("tenth")), func(n int) bool { return n%10 == 0 && n%7 != 0 }},
		} {
			if got, w := h.walk("acme", c.f, audit.Desc, 700), wantSeqs(c.keep, true); !slices.Equal(got, w) {
				h.t.Errorf("%s: desc walk gave %d seqs, want %d", c.name, len(got), len(w))
			}
			if got, w := h.walk("acme", c.f, audit.Asc, 700), wantSeqs(c.keep, false); !slices.Equal(got, w) {
				h.t.Errorf("%s: asc walk gave %d seqs, want %d", c.name, len(got), len(w))
			}
			if got, _ := h.scan("acme", 0, total, c.f); !slices.Equal(got, wantSeqs(c.keep, false)) {
				h.t.Errorf("%s: Scan gave %d seqs", c.name, len(got))
			}
		}
		seqs, data := h.scan("acme", 1234, 17891, audit.Filter{})
		if !slices.Equal(seqs, seqRange(1234, 17891)) {
			h.t.Fatalf("Scan [1234, 17891): got %d seqs", len(seqs))
		}
		for i, d := range data {
			if !bytes.Equal(d, want[seqs[i]]) {
				h.t.Fatalf("Scan seq %d: bytes differ", seqs[i])
			}
		}
	}},
}
