// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

var seqTests = []test{
	{"DenseFromZeroPerOrg", func(h *harness) {
		h.wantSize("acme", 0)
		var got []int64
		for i, n := range []int{1, 3, 2} {
			evs := make([]audit.Event, n)
			for j := range evs {
				evs[j] = newEvent("acme", fmt.Sprintf("b%d-%d", i, j), i*10+j)
			}
			got = append(got, h.appendOK("acme", evs...)...)
		}
		if want := seqRange(0, 6); !slices.Equal(got, want) {
			h.t.Errorf("seqs = %v, want %v", got, want)
		}
		h.wantSize("acme", 6)
	}},
	{"BatchesOfOneAppendGetConsecutiveRangesInOrder", func(h *harness) {
		a1 := batch("a", newEvent("a", "1", 1), newEvent("a", "2", 2))
		b1 := batch("b", newEvent("b", "1", 1), newEvent("b", "2", 2), newEvent("b", "3", 3))
		a2 := batch("a", newEvent("a", "3", 3), newEvent("a", "4", 4))
		a3 := batch("a", newEvent("a", "5", 5))
		h.append(a1, b1, a2, a3)
		for _, c := range []struct {
			name string
			b    *audit.Batch
			want []int64
		}{
			{"first batch of a", a1, []int64{0, 1}},
			{"batch of b", b1, []int64{0, 1, 2}},
			{"second batch of a", a2, []int64{2, 3}},
			{"third batch of a", a3, []int64{4}},
		} {
			if got := h.seqs(c.b); !slices.Equal(got, c.want) {
				h.t.Errorf("%s: seqs = %v, want %v", c.name, got, c.want)
			}
		}
		h.wantSize("a", 5)
		h.wantSize("b", 3)
	}},
	{"OrgsAreIndependent", func(h *harness) {
		h.appendOK("a", newEvent("a", "x", 0), newEvent("a", "y", 1))
		if got := h.appendOK("b", newEvent("b", "x", 0)); !slices.Equal(got, []int64{0}) {
			h.t.Errorf("first seq of b after 2 events of a = %v, want [0]", got)
		}
		if got := h.appendOK("a", newEvent("a", "z", 2)); !slices.Equal(got, []int64{2}) {
			h.t.Errorf("third seq of a = %v, want [2]", got)
		}
		h.wantSize("a", 3)
		h.wantSize("b", 1)
		h.wantSize("unknown", 0)
	}},
	{"EmptyAppend", func(h *harness) {
		h.append()
		h.wantSize("a", 0)
	}},
}

// trickyEvent has content a re-encoder would change: number text, HTML
// characters, non-ASCII, escapes, nested metadata, no client or location.
func trickyEvent(org, id string) audit.Event {
	ev := newEvent(org, id, 7)
	ev.Description = "a <b> & \"c\" \\ d\te\u2028f – Zürich 🦙"
	ev.Client, ev.Location = nil, nil
	ev.Targets = nil
	ev.RecordedBy = audit.RecordedByTrail
	ev.Metadata = map[string]any{
		"price":   json.Number("1.50"),
		"big":     json.Number("12345678901234567890123"),
		"exp":     json.Number("1e2"),
		"z":       []any{"x", json.Number("-0"), nil, true, map[string]any{"b": "2", "a": "1"}},
		"empty":   map[string]any{},
		"html":    "<script>alert(1)</script>",
		"ctl":     "\x00\x1f",
		"unicode": "日本語",
	}
	ev.OccurredAt = time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)
	ev.ReceivedAt = time.Date(2026, 1, 10, 9, 0, 0, 123456000, time.FixedZone("X", 5*3600))
	return ev
}

var bytesTests = []test{
	{"EveryReadReturnsTheEncodedBytes", func(h *harness) {
		evs := []audit.Event{newEvent("acme", "plain", 1), trickyEvent("acme", "tricky"), newEvent("acme", "last", 2)}
		seqs := h.appendOK("acme", evs...)
		want := map[int64][]byte{}
		for i, ev := range evs {
			want[seqs[i]] = canonical(ev, seqs[i])
			if !json.Valid(want[seqs[i]]) {
				h.t.Fatalf("test bug: canonical bytes are not JSON: %s", want[seqs[i]])
			}
		}
		check := func(how string, seq int64, got []byte) {
			h.t.Helper()
			if !bytes.Equal(got, want[seq]) {
				h.t.Errorf("%s seq %d:\n got %s\nwant %s", how, seq, got, want[seq])
			}
		}
		var kept []audit.Page
		for _, o := range []audit.Order{audit.Desc, audit.Asc} {
			q := all(audit.Filter{})
			q.Order = o
			p := h.query("acme", q)
			if len(p.Events) != len(evs) {
				h.t.Fatalf("Query order %d: got %d events, want %d", o, len(p.Events), len(evs))
			}
			for i, data := range p.Events {
				check("Query", p.Seqs[i], data)
			}
			kept = append(kept, p)
		}
		// Text and ref filters take other access paths; their bytes too.
		for _, f := range []audit.Filter{
			terms(audit.Term{Field: audit.FieldText, Value: "Zürich"}),
			terms(audit.Term{Field: audit.FieldActor, Value: "alice"}),
			terms(audit.Term{Field: audit.FieldType, Value: "repo.create"}),
		} {
			p := h.query("acme", all(f))
			if len(p.Events) == 0 {
				h.t.Errorf("Query %+v: no events, want at least the tricky one", f)
			}
			for i, data := range p.Events {
				check(fmt.Sprintf("Query %+v", f), p.Seqs[i], data)
			}
		}
		gotSeqs, data := h.scan("acme", 0, 10, audit.Filter{})
		if !slices.Equal(gotSeqs, seqs) {
			h.t.Errorf("Scan seqs = %v, want %v", gotSeqs, seqs)
		}
		for i, d := range data {
			check("Scan", gotSeqs[i], d)
		}
		for i, ev := range evs {
			seq, data, err := h.s.Event(h.ctx, "acme", ev.ID)
			if err != nil {
				h.t.Fatalf("Event(%q): %v", ev.ID, err)
			}
			if seq != seqs[i] {
				h.t.Errorf("Event(%q) seq = %d, want %d", ev.ID, seq, seqs[i])
			}
			check("Event", seq, data)
		}
		// Pages read earlier must not change under later reads.
		for _, p := range kept {
			for i, data := range p.Events {
				check("earlier Query page", p.Seqs[i], data)
			}
		}
	}},
}

var idempotencyTests = []test{
	{"SameIDSameHashReturnsOriginalSeq", func(h *harness) {
		ev := newEvent("acme", "evt-1", 1)
		h.appendOK("acme", newEvent("acme", "evt-0", 0), ev)
		_, before, err := h.s.Event(h.ctx, "acme", "evt-1")
		if err != nil {
			h.t.Fatal(err)
		}
		counts := h.dailyCounts("acme", t0.AddDate(0, 0, -1), t0.AddDate(0, 0, 1))
		// The retry is received later: received_at differs, Hash does not.
		retry := ev
		retry.ReceivedAt = ev.ReceivedAt.Add(time.Hour)
		p := pending(retry)
		p.Hash = pending(ev).Hash
		b := &audit.Batch{Org: "acme", Events: []*audit.Pending{p}}
		h.append(b)
		if got := h.seqs(b); !slices.Equal(got, []int64{1}) {
			h.t.Errorf("retry seqs = %v, want [1]", got)
		}
		h.wantSize("acme", 2)
		_, after, err := h.s.Event(h.ctx, "acme", "evt-1")
		if err != nil {
			h.t.Fatal(err)
		}
		if !bytes.Equal(after, before) {
			h.t.Errorf("retry changed the stored bytes:\n got %s\nwant %s", after, before)
		}
		if got := h.dailyCounts("acme", t0.AddDate(0, 0, -1), t0.AddDate(0, 0, 1)); !slices.Equal(got, counts) {
			h.t.Errorf("retry changed DailyCounts: got %v, want %v", got, counts)
		}
		if got := ids(h.t, h.query("acme", all(audit.Filter{}))); !slices.Equal(got, []string{"evt-1", "evt-0"}) {
			h.t.Errorf("events after retry = %v, want [evt-1 evt-0]", got)
		}
	}},
	{"SameIDOtherHashIsAConflictOfThatBatchOnly", func(h *harness) {
		h.appendOK("acme", newEvent("acme", "evt-0", 0), newEvent("acme", "evt-1", 1))
		changed := newEvent("acme", "evt-1", 1)
		changed.Description = "something else"
		before := batch("acme", newEvent("acme", "ok-1", 2))
		bad := batch("acme", newEvent("acme", "new-1", 3), newEvent("acme", "new-2", 4), changed)
		other := batch("beta", newEvent("beta", "evt-1", 5))
		after := batch("acme", newEvent("acme", "ok-2", 6))
		h.append(before, bad, other, after)
		var e *audit.Error
		switch {
		case bad.Err == nil:
			h.t.Fatalf("conflicting batch: Err = nil, want a CodeConflict *audit.Error")
		case !asError(bad.Err, &e):
			h.t.Fatalf("conflicting batch: Err = %T %v, want *audit.Error", bad.Err, bad.Err)
		case e.Code != audit.CodeConflict:
			h.t.Errorf("conflicting batch: code = %q, want %q", e.Code, audit.CodeConflict)
		}
		if e != nil && !slices.ContainsFunc(e.Details, func(d audit.Detail) bool { return d.Index == 2 }) {
			h.t.Errorf("conflict details = %+v, want one naming index 2", e.Details)
		}
		if got := h.seqs(before); !slices.Equal(got, []int64{2}) {
			h.t.Errorf("batch before the conflict: seqs = %v, want [2]", got)
		}
		if got := h.seqs(after); !slices.Equal(got, []int64{3}) {
			h.t.Errorf("batch after the conflict: seqs = %v, want [3]", got)
		}
		if got := h.seqs(other); !slices.Equal(got, []int64{0}) {
			h.t.Errorf("batch of another org: seqs = %v, want [0]", got)
		}
		h.wantSize("acme", 4)
		for _, id := range []string{"new-1", "new-2"} {
			_, _, err := h.s.Event(h.ctx, "acme", id)
			wantNotFound(h.t, "Event("+id+") of the conflicting batch", err)
		}
		_, data, err := h.s.Event(h.ctx, "acme", "evt-1")
		if err != nil {
			h.t.Fatal(err)
		}
		if bytes.Contains(data, []byte("something else")) {
			h.t.Errorf("conflicting event overwrote the stored one: %s", data)
		}
	}},
	{"SameIDInTwoBatchesOfOneAppend", func(h *harness) {
		h.appendOK("acme", newEvent("acme", "old", 0))
		first := batch("acme", newEvent("acme", "a", 1), newEvent("acme", "dup", 2))
		second := batch("acme", newEvent("acme", "dup", 2), newEvent("acme", "b", 3))
		changed := newEvent("acme", "dup", 2)
		changed.Type = "repo.delete"
		third := batch("acme", changed)
		h.append(first, second, third)
		if got := h.seqs(first); !slices.Equal(got, []int64{1, 2}) {
			h.t.Errorf("first batch: seqs = %v, want [1 2]", got)
		}
		if got := h.seqs(second); !slices.Equal(got, []int64{2, 3}) {
			h.t.Errorf("second batch: seqs = %v, want [2 3] (dup gets the first batch's seq)", got)
		}
		if audit.ErrorCode(third.Err) != audit.CodeConflict {
			h.t.Errorf("third batch, same id with other content: Err = %v, want a conflict", third.Err)
		}
		h.wantSize("acme", 4)
	}},
	{"KnownAndNewIDsInOneBatch", func(h *harness) {
		h.appendOK("acme", newEvent("acme", "k0", 0), newEvent("acme", "k1", 1))
		b := batch("acme", newEvent("acme", "n0", 2), newEvent("acme", "k1", 1), newEvent("acme", "n1", 3), newEvent("acme", "k0", 0), newEvent("acme", "n2", 4))
		h.append(b)
		if got, want := h.seqs(b), []int64{2, 1, 3, 0, 4}; !slices.Equal(got, want) {
			h.t.Errorf("seqs = %v, want %v", got, want)
		}
		h.wantSize("acme", 5)
		seqs, data := h.scan("acme", 0, 5, audit.Filter{})
		gotIDs := make([]string, len(data))
		for i, d := range data {
			gotIDs[i] = decode(h.t, d).ID
		}
		if want := []string{"k0", "k1", "n0", "n1", "n2"}; !slices.Equal(gotIDs, want) {
			h.t.Errorf("Scan ids = %v (seqs %v), want %v", gotIDs, seqs, want)
		}
	}},
	{"ZeroHashIsAHashToo", func(h *harness) {
		p := &audit.Pending{Event: newEvent("acme", "z", 0)} // Hash left zero
		b := &audit.Batch{Org: "acme", Events: []*audit.Pending{p}}
		h.append(b)
		retry := &audit.Batch{Org: "acme", Events: []*audit.Pending{{Event: newEvent("acme", "z", 0)}}}
		h.append(retry)
		if got := h.seqs(retry); !slices.Equal(got, []int64{0}) {
			h.t.Errorf("retry with the same zero Hash: seqs = %v, want [0]", got)
		}
		other := batch("acme", newEvent("acme", "z", 0))
		h.append(other)
		if audit.ErrorCode(other.Err) != audit.CodeConflict {
			h.t.Errorf("same id, non-zero Hash after a zero one: Err = %v, want a conflict", other.Err)
		}
		h.wantSize("acme", 1)
	}},
	{"WholeBatchRetried", func(h *harness) {
		evs := []audit.Event{newEvent("acme", "r0", 0), newEvent("acme", "r1", 1), newEvent("acme", "r2", 2)}
		first := h.appendOK("acme", evs...)
		h.appendOK("acme", newEvent("acme", "later", 3))
		if got := h.appendOK("acme", evs...); !slices.Equal(got, first) {
			h.t.Errorf("retried batch: seqs = %v, want %v", got, first)
		}
		h.wantSize("acme", 4)
	}},
}

var failedBatchTests = []test{
	{"StoresNothing", func(h *harness) {
		h.appendOK("acme", newEvent("acme", "taken", 0))
		// The failed batch's events have values found nowhere else.
		day := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		ghost := func(id string) audit.Event {
			ev := newEvent("acme", id, 0)
			ev.Type, ev.Category = "ghost.walk", "ghosts"
			ev.Actor = audit.Actor{Type: "user", ID: "u-ghost", Name: "casper"}
			ev.Targets = []audit.Target{{Type: "repo", ID: "r-ghost", Name: "acme/haunted"}}
			ev.Description = "casper walked through walls"
			ev.Location = &audit.Location{CountryCode: "ZZ"}
			ev.Metadata = map[string]any{"spirit": "ectoplasm"}
			ev.OccurredAt = day
			return ev
		}
		conflict := newEvent("acme", "taken", 0)
		conflict.Description = "other content"
		bad := batch("acme", ghost("g0"), ghost("g1"), conflict)
		newOrg := batch("ghosts", ghost("g0"), newEvent("ghosts", "taken", 0))
		newOrg.Events[1].Hash = bad.Events[2].Hash // no conflict: another org
		good := batch("acme", newEvent("acme", "good", 1))
		h.append(bad, newOrg, good)
		if bad.Err == nil {
			h.t.Fatal("batch reusing an id with other content: Err = nil, want a conflict")
		}
		if got := h.seqs(good); !slices.Equal(got, []int64{1}) {
			h.t.Errorf("batch after the failed one: seqs = %v, want [1] (no seq used by the failed batch)", got)
		}
		if got := h.seqs(newOrg); !slices.Equal(got, []int64{0, 1}) {
			h.t.Errorf("batch of another org reusing the ids and hash: seqs = %v, want [0 1]", got)
		}
		h.wantSize("acme", 2)
		for _, f := range []audit.Filter{
			terms(audit.Term{Field: audit.FieldType, Value: "ghost.walk"}),
			terms(audit.Term{Field: audit.FieldTypePrefix, Value: "ghost."}),
			terms(audit.Term{Field: audit.FieldCategory, Value: "ghosts"}),
			terms(audit.Term{Field: audit.FieldActor, Value: "u-ghost"}),
			terms(audit.Term{Field: audit.FieldActor, Value: "casper"}),
			terms(audit.Term{Field: audit.FieldTarget, Value: "r-ghost"}),
			terms(audit.Term{Field: audit.FieldTarget, Value: "acme/haunted"}),
			terms(audit.Term{Field: audit.FieldCountry, Value: "ZZ"}),
			terms(audit.Term{Field: audit.FieldText, Value: "ectoplasm"}),
			terms(audit.Term{Field: audit.FieldText, Value: "walls"}),
			terms(audit.Term{Field: audit.FieldOccurred, From: day, To: day.Add(time.Hour)}),
		} {
			if got := ids(h.t, h.query("acme", all(f))); len(got) != 0 {
				h.t.Errorf("Query %+v after a failed batch: got %v, want nothing", f, got)
			}
		}
		if got := h.dailyCounts("acme", day.AddDate(0, 0, -1), day.AddDate(0, 0, 1)); len(got) != 0 {
			h.t.Errorf("DailyCounts of the failed batch's day = %v, want none", got)
		}
		if got := ids(h.t, h.query("acme", all(audit.Filter{}))); !slices.Equal(got, []string{"good", "taken"}) {
			h.t.Errorf("events = %v, want [good taken]", got)
		}
		// Later appends fill the seqs densely.
		if got := h.appendOK("acme", newEvent("acme", "g0", 3)); !slices.Equal(got, []int64{2}) {
			h.t.Errorf("id of the failed batch sent again: seqs = %v, want [2]", got)
		}
	}},
	{"FailedAppendStoresNothing", func(h *harness) {
		h.appendOK("acme", newEvent("acme", "a", 0))
		ctx, cancel := context.WithCancel(h.ctx)
		cancel()
		b1 := batch("acme", newEvent("acme", "b", 1))
		b2 := batch("fresh", newEvent("fresh", "c", 2))
		if err := h.s.Append(ctx, []*audit.Batch{b1, b2}); err == nil {
			h.t.Fatal("Append with a cancelled context: err = nil, want an error")
		}
		h.wantSize("acme", 1)
		h.wantSize("fresh", 0)
		orgs, err := h.s.Orgs(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		if want := []string{"acme"}; !slices.Equal(orgs, want) {
			h.t.Errorf("Orgs = %v, want %v", orgs, want)
		}
		if got := h.appendOK("acme", newEvent("acme", "b", 1)); !slices.Equal(got, []int64{1}) {
			h.t.Errorf("after a failed Append: seqs = %v, want [1]", got)
		}
	}},
}
