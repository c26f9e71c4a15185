// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

var scanTests = []test{
	{"Ranges", func(h *harness) {
		h.loadDataset()
		evs := dataset("acme")
		for _, c := range []struct {
			name     string
			from, to int64
			f        audit.Filter
			want     []int64
		}{
			{"whole log", 0, 9, audit.Filter{}, seqRange(0, 9)},
			{"middle", 2, 5, audit.Filter{}, []int64{2, 3, 4}},
			{"to past the end", 5, 100, audit.Filter{}, []int64{5, 6, 7, 8}},
			{"to far past the end", 7, 1 << 62, audit.Filter{}, []int64{7, 8}},
			{"empty range", 3, 3, audit.Filter{}, nil},
			{"reversed range", 5, 2, audit.Filter{}, nil},
			{"from past the end", 9, 20, audit.Filter{}, nil},
			{"text", 1, 8, terms(text("llama")), []int64{1, 6}},
			{"actor", 0, 9, terms(actor("alice")), []int64{0, 2, 4}},
			{"negated text", 3, 8, terms(not(text("llama"))), []int64{3, 4, 5, 7}},
			{"type prefix, to exclusive", 0, 6, terms(prefix("repo.")), []int64{0, 1, 2, 3}},
		} {
			seqs, data := h.scan("acme", c.from, c.to, c.f)
			if !slices.Equal(seqs, c.want) {
				h.t.Errorf("Scan %s [%d, %d): got seqs %v, want %v", c.name, c.from, c.to, seqs, c.want)
				continue
			}
			for i, d := range data {
				if want := canonical(evs[seqs[i]], seqs[i]); !bytes.Equal(d, want) {
					h.t.Errorf("Scan %s seq %d:\n got %s\nwant %s", c.name, seqs[i], d, want)
				}
			}
		}
		// Bounds far past any seq must not wrap into another org's range.
		for _, to := range []int64{1<<40 + 3, 3<<40 + 3, 1<<50 + 1} {
			for _, org := range []string{"noise", "acme"} {
				if seqs, _ := h.scan(org, 0, to, audit.Filter{}); !slices.Equal(seqs, seqRange(0, 9)) {
					h.t.Errorf("Scan(%s, 0, %d): got seqs %v, want 0…8", org, to, seqs)
				}
				p := h.query(org, audit.Query{Before: to, After: -1, Limit: 100})
				if len(p.Seqs) != 9 {
					h.t.Errorf("Query(%s, Before %d): got seqs %v, want 8…0", org, to, p.Seqs)
				}
			}
		}
		if seqs, _ := h.scan("nobody", 0, 10, audit.Filter{}); len(seqs) != 0 {
			h.t.Errorf("Scan of an org without events: got %v, want nothing", seqs)
		}
	}},
	{"FnErrorAborts", func(h *harness) {
		h.loadDataset()
		stop := errors.New("stop here")
		var seen []int64
		err := h.s.Scan(h.ctx, "acme", 0, 9, audit.Filter{}, func(seq int64, _ []byte) error {
			seen = append(seen, seq)
			if len(seen) == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) {
			h.t.Errorf("Scan returned %v, want the callback's error", err)
		}
		if want := []int64{0, 1, 2}; !slices.Equal(seen, want) {
			h.t.Errorf("callback saw %v, want %v and no call after the error", seen, want)
		}
	}},
}

var eventTests = []test{
	{"ByID", func(h *harness) {
		h.loadDataset()
		for i, ev := range dataset("acme") {
			seq, data, err := h.s.Event(h.ctx, "acme", ev.ID)
			if err != nil {
				h.t.Errorf("Event(%q): %v", ev.ID, err)
				continue
			}
			if seq != int64(i) || !bytes.Equal(data, canonical(ev, int64(i))) {
				h.t.Errorf("Event(%q) = %d %s, want %d %s", ev.ID, seq, data, i, canonical(ev, int64(i)))
			}
		}
	}},
	{"NotFound", func(h *harness) {
		h.loadDataset()
		h.appendOK("other", newEvent("other", "only-in-other", 0))
		for _, c := range []struct{ org, id string }{
			{"acme", "nope"},
			{"acme", "E0"}, // ids are compared exactly
			{"acme", "only-in-other"},
			{"nobody", "e0"},
			{"", "e0"},
		} {
			_, _, err := h.s.Event(h.ctx, c.org, c.id)
			wantNotFound(h.t, "Event("+c.org+", "+c.id+")", err)
		}
	}},
}

func dc(day time.Time, category string, n int64) audit.DayCount {
	return audit.DayCount{Day: day, Category: category, Count: n}
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

var dailyTests = []test{
	{"PerDayAndCategory", func(h *harness) {
		d1 := day(2026, 2, 1)
		at := func(id string, t time.Time, category string) audit.Event {
			ev := newEvent("acme", id, 0)
			ev.OccurredAt, ev.Category = t, category
			return ev
		}
		plus5 := time.FixedZone("UTC+5", 5*3600)
		h.appendOK("acme",
			at("before", d1.Add(-time.Microsecond), "content"),
			at("d1-start", d1, "content"),
			at("d1-noon", d1.Add(12*time.Hour), "content"),
		)
		h.appendOK("acme",
			at("d1-end", d1.Add(24*time.Hour-time.Microsecond), "billing"),
			at("d1-again", d1.Add(13*time.Hour), "content"), // a second Append adds to the same count
			at("d2-start", d1.AddDate(0, 0, 1), "content"),
			// 02:00 at UTC+5 on Feb 3 is 21:00 UTC on Feb 2.
			at("d2-zone", time.Date(2026, 2, 3, 2, 0, 0, 0, plus5), "membership"),
			at("d4", d1.AddDate(0, 0, 3).Add(time.Hour), "content"),
		)
		h.appendOK("other", newEvent("other", "x", 0), at("other-d1", d1, "content"))
		for _, c := range []struct {
			name     string
			from, to time.Time
			want     []audit.DayCount
		}{
			{"three days", d1, d1.AddDate(0, 0, 3), []audit.DayCount{
				dc(d1, "billing", 1), dc(d1, "content", 3),
				dc(d1.AddDate(0, 0, 1), "content", 1), dc(d1.AddDate(0, 0, 1), "membership", 1),
			}},
			{"one day", d1, d1.AddDate(0, 0, 1), []audit.DayCount{dc(d1, "billing", 1), dc(d1, "content", 3)}},
			{"to is exclusive", d1.AddDate(0, 0, 1), d1.AddDate(0, 0, 3), []audit.DayCount{
				dc(d1.AddDate(0, 0, 1), "content", 1), dc(d1.AddDate(0, 0, 1), "membership", 1),
			}},
			{"wide", day(2000, 1, 1), day(2100, 1, 1), []audit.DayCount{
				dc(d1.AddDate(0, 0, -1), "content", 1),
				dc(d1, "billing", 1), dc(d1, "content", 3),
				dc(d1.AddDate(0, 0, 1), "content", 1), dc(d1.AddDate(0, 0, 1), "membership", 1),
				dc(d1.AddDate(0, 0, 3), "content", 1),
			}},
			{"no events", day(2030, 1, 1), day(2030, 2, 1), nil},
		} {
			got := h.dailyCounts("acme", c.from, c.to)
			h.checkDays(c.name, got, c.want)
		}
		if got := h.dailyCounts("nobody", day(2000, 1, 1), day(2100, 1, 1)); len(got) != 0 {
			h.t.Errorf("DailyCounts of an org without events = %v, want none", got)
		}
	}},
}

// checkDays compares day counts: days ascending, midnight UTC; the order of
// categories within a day is not part of the contract.
func (h *harness) checkDays(name string, got, want []audit.DayCount) {
	h.t.Helper()
	for i, d := range got {
		if d.Day.Location() != time.UTC || !d.Day.Equal(d.Day.Truncate(24*time.Hour)) {
			h.t.Errorf("%s: day %v is not midnight UTC", name, d.Day)
		}
		if i > 0 && d.Day.Before(got[i-1].Day) {
			h.t.Errorf("%s: days out of order: %v", name, got)
		}
	}
	sorted := slices.Clone(got)
	slices.SortStableFunc(sorted, func(a, b audit.DayCount) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		return strings.Compare(a.Category, b.Category)
	})
	if !slices.EqualFunc(sorted, want, func(a, b audit.DayCount) bool {
		return a.Day.Equal(b.Day) && a.Category == b.Category && a.Count == b.Count
	}) {
		h.t.Errorf("%s: DailyCounts = %v, want %v", name, got, want)
	}
}

var orgsTests = []test{
	{"SortedOrgsWithEvents", func(h *harness) {
		orgs, err := h.s.Orgs(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(orgs) != 0 {
			h.t.Errorf("Orgs of an empty store = %v, want none", orgs)
		}
		for _, org := range []string{"beta", "acme", "Acme", "a.b-c_1", "acme"} {
			h.appendOK(org, newEvent(org, "x"+string(rune('0'+h.size(org))), 0))
		}
		orgs, err = h.s.Orgs(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		// Sorted byte-wise, as Go sorts strings: upper case first.
		if want := []string{"Acme", "a.b-c_1", "acme", "beta"}; !slices.Equal(orgs, want) {
			h.t.Errorf("Orgs = %v, want %v", orgs, want)
		}
	}},
}
