// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/query"
)

// TestHelpedWalks: walks that run pages on a helper goroutine (pageHelper)
// give the rows a walk running them one by one gives, and an exact test
// of every event gives, for first pages that stop mid-walk (every type of
// the fixture, rare and common, with other terms), newest first and
// ascending. Pages of 4 events make a rare type's first page a walk of
// many pages.
func TestHelpedWalks(t *testing.T) {
	s, events := fixtureCopy(t, Options{BlockEvents: 64, PageEvents: 4, ManualSeal: true})
	// The newest events in the tail: an ascending walk hands them after
	// the pages a helper holds.
	tail := len(events) / 2
	s2, _ := fixtureCopy(t, Options{BlockEvents: 64, PageEvents: 4, ManualSeal: true}, tail)
	qs := []string{"alice", "-type:repo.create", "type:billing.*", "country:FR"}
	seen := map[string]bool{}
	for _, data := range events {
		var ev audit.Event
		json.Unmarshal(data, &ev)
		if !seen[ev.Type] {
			seen[ev.Type] = true
			qs = append(qs, "type:"+ev.Type, "type:"+ev.Type+" -country:US", "type:"+ev.Type+" actor:"+quote(ev.Actor.Name))
		}
	}
	defer func(old bool) { parallelPages = old }(parallelPages)
	helped := helpedWalks.Load()
	for _, q := range qs {
		f, err := query.Parse(q, query.Options{})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		want := exact(t, events, f)
		for _, limit := range []int{1, 5, 20, 50} {
			for _, order := range []audit.Order{audit.Desc, audit.Asc} {
				var pages [4]audit.Page
				for i := range pages {
					parallelPages = i%2 == 1
					st := []*Store{s, s2}[i/2]
					if pages[i], err = st.Query(context.Background(), "bench", audit.Query{Filter: f, Order: order, Before: -1, After: -1, Limit: limit}); err != nil {
						t.Fatal(err)
					}
				}
				var exp []int64 // want's newest first part
				for _, seq := range want {
					if seq >= 0 {
						exp = append(exp, seq)
					}
				}
				if order == audit.Asc {
					slices.Reverse(exp)
				}
				more := len(exp) > limit
				exp = exp[:min(limit, len(exp))]
				for i, p := range pages {
					if !slices.Equal(p.Seqs, exp) || p.More != more {
						t.Fatalf("%q, %d %v, helper %v, tail %v: %v (more %v), want %v (more %v)", q, limit, order, i%2 == 1, i >= 2, p.Seqs, p.More, exp, more)
					}
					for k, seq := range p.Seqs {
						if string(p.Events[k]) != string(events[seq]) {
							t.Fatalf("%q, helper %v, tail %v: seq %d gives other bytes", q, i%2 == 1, i >= 2, seq)
						}
					}
				}
			}
		}
	}
	if helpedWalks.Load() == helped {
		t.Fatal("no walk used a helper")
	}
}

// fixtureCopy returns a store opened with opts holding the events of the
// format 1 fixture (testdata/v1store) in org bench, sealed (or, given
// sealed, that many sealed and the others in the tail), and the events.
func fixtureCopy(t *testing.T, opts Options, sealed ...int) (*Store, [][]byte) {
	t.Helper()
	old, err := Open(copyFixture(t, filepath.Join("testdata", "v1store")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	events := fixtureEvents(t, old)
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var imported []Imported
	for seq, data := range events {
		imported = append(imported, Imported{Seq: int64(seq), Data: data, Hash: sha256.Sum256(data)})
	}
	n := len(imported)
	if len(sealed) > 0 {
		n = sealed[0]
	}
	if err := s.Import(context.Background(), "bench", imported[:n]); err != nil {
		t.Fatal(err)
	}
	sealCurrent(t, s)
	if n < len(imported) {
		if err := s.Import(context.Background(), "bench", imported[n:]); err != nil {
			t.Fatal(err)
		}
	}
	return s, events
}
