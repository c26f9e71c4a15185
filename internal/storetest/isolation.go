// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// tenantEvents are n events of org with the same ids, actors, targets and
// words as the other org's, plus values only this org has.
func tenantEvents(org string, n int, own string) []audit.Event {
	evs := make([]audit.Event, n)
	for i := range evs {
		ev := newEvent(org, fmt.Sprintf("x%d", i), i)
		ev.Actor = audit.Actor{Type: "user", ID: "u-shared", Name: "shared"}
		ev.Targets = []audit.Target{{Type: "repo", ID: "r-shared", Name: "shared/repo"}}
		ev.Description = "shared word llama"
		ev.Metadata = map[string]any{"k": "v"}
		if i%2 == 1 {
			ev.ID = own + fmt.Sprint(i)
			ev.Type = own + ".type"
			ev.Category = own
			ev.Actor = audit.Actor{Type: "user", ID: "u-" + own, Name: own}
			ev.Targets = []audit.Target{{Type: "repo", ID: "r-" + own, Name: own + "/repo"}}
			ev.Description = "only " + own
			ev.Location = &audit.Location{CountryCode: "Q" + own[:1]}
		}
		evs[i] = ev
	}
	return evs
}

var isolationTests = []test{
	{"NothingOfOneOrgInAnother", func(h *harness) {
		// Orgs named so that one is a prefix of the other.
		orgs := []string{"acme", "acme2"}
		own := map[string]string{"acme": "alpha", "acme2": "bravo"}
		counts := map[string]int{"acme": 7, "acme2": 6}
		want := map[string]map[int64][]byte{}
		for round := range 2 { // interleaved appends
			for _, org := range orgs {
				evs := tenantEvents(org, counts[org], own[org])
				half := len(evs) / 2
				part := evs[:half]
				if round == 1 {
					part = evs[half:]
				}
				b := batch(org, part...)
				if org == "acme2" && round == 0 {
					// Same id and same Hash as acme's event: still new here.
					b.Events[0].Hash = pending(tenantEvents("acme", 1, own["acme"])[0]).Hash
				}
				h.append(b)
				if want[org] == nil {
					want[org] = map[int64][]byte{}
				}
				for i, seq := range h.seqs(b) {
					want[org][seq] = canonical(part[i], seq)
				}
			}
		}
		for _, org := range orgs {
			h.wantSize(org, int64(counts[org]))
			if len(want[org]) != counts[org] {
				h.t.Errorf("%s: %d distinct seqs, want %d", org, len(want[org]), counts[org])
			}
		}
		for _, org := range orgs {
			h.checkIsolated(org, want[org], own)
		}
	}},
}

// checkIsolated runs every read of org and checks that it returns only
// org's own events, with the bytes in want.
func (h *harness) checkIsolated(org string, want map[int64][]byte, own map[string]string) {
	h.t.Helper()
	check := func(how string, seq int64, data []byte) {
		h.t.Helper()
		if w, ok := want[seq]; !ok || !bytes.Equal(data, w) {
			h.t.Errorf("%s of %s: seq %d is %s, want %s", how, org, seq, data, w)
		}
	}
	var filters []audit.Filter
	for _, v := range own {
		filters = append(filters,
			terms(typ(v+".type")), terms(prefix(v)), terms(cat(v)),
			terms(actor("u-"+v)), terms(actor(v)), terms(target("r-"+v)), terms(target(v+"/repo")),
			terms(country("Q"+v[:1])), terms(text(v)), terms(phrase("only "+v)),
		)
	}
	filters = append(filters, audit.Filter{},
		terms(typ("repo.create")), terms(prefix("repo.")), terms(cat("content")),
		terms(actor("u-shared")), terms(actor("shared")), terms(target("r-shared")), terms(target("shared/repo")),
		terms(country("FR")), terms(text("llama")), terms(phrase("shared word")),
		terms(occurredIn(t0, time.Time{})), terms(receivedIn(time.Time{}, t0.AddDate(1, 0, 0))),
		terms(actor("shared"), text("llama"), prefix("repo.")),
	)
	total := 0
	for _, f := range filters {
		for _, ff := range []audit.Filter{f, negate(f)} {
			for _, o := range []audit.Order{audit.Desc, audit.Asc} {
				q := all(ff)
				q.Order = o
				p := h.query(org, q)
				for i, data := range p.Events {
					check(fmt.Sprintf("Query %+v", ff), p.Seqs[i], data)
				}
				total += len(p.Events)
				seqs, data := h.scan(org, 0, 1000, ff)
				for i, d := range data {
					check(fmt.Sprintf("Scan %+v", ff), seqs[i], d)
				}
			}
		}
	}
	if total == 0 {
		h.t.Errorf("%s: no query returned anything", org)
	}
	for seq, w := range want {
		id := decode(h.t, w).ID
		got, data, err := h.s.Event(h.ctx, org, id)
		if err != nil || got != seq || !bytes.Equal(data, w) {
			h.t.Errorf("Event(%s, %s) = %d %s %v, want %d %s", org, id, got, data, err, seq, w)
		}
	}
	for other, v := range own {
		if v == own[org] {
			continue
		}
		_, _, err := h.s.Event(h.ctx, org, v+"1")
		wantNotFound(h.t, fmt.Sprintf("Event(%s, id of %s)", org, other), err)
	}
	var n int64
	for _, d := range h.dailyCounts(org, day(2000, 1, 1), day(2100, 1, 1)) {
		n += d.Count
		if d.Category != "content" && d.Category != own[org] {
			h.t.Errorf("DailyCounts of %s: category %q of another org", org, d.Category)
		}
	}
	if n != int64(len(want)) {
		h.t.Errorf("DailyCounts of %s: total %d, want %d", org, n, len(want))
	}
	if seqs, _ := h.scan(org, 0, 1000, audit.Filter{}); !slices.Equal(seqs, seqRange(0, int64(len(want)))) {
		h.t.Errorf("Scan of %s: seqs %v, want 0…%d", org, seqs, len(want)-1)
	}
}

// negate negates every term of f (a different filter, not f's complement,
// but one more way to reach other rows).
func negate(f audit.Filter) audit.Filter {
	out := audit.Filter{}
	for _, t := range f.Terms {
		out.Terms = append(out.Terms, not(t))
	}
	return out
}
