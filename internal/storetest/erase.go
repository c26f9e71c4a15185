// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// eraseTests hold an engine that implements audit.Eraser to erasure's
// contract: redacted bytes replace the old ones in every read and index
// (filters find the event by its new values only), the tree is unchanged,
// retries of the original content still get their seq, erasure records
// round-trip, and the person's viewer links and sessions go.
var eraseTests = []test{
	{"Redact", func(h *harness) {
		er := h.eraser()
		if er == nil {
			return
		}
		for i := 0; i < 9; i += 3 {
			h.appendOK("acme", evs("acme", "a", i, 3)...)
		}
		hashes := h.allHashes("acme", 9)
		_, before := h.scan("acme", 0, 9, audit.Filter{})
		red := map[int64][]byte{}
		var rs []audit.Redaction
		for _, seq := range []int64{2, 5} {
			ev := newEvent("acme", "a"+string(rune('0'+seq)), int(seq))
			ev.Seq = seq
			ev.Actor.ID, ev.Actor.Name = audit.Erased, audit.Erased
			ev.Description = strings.ReplaceAll(ev.Description, "alice", audit.Erased)
			data := ev.AppendCanonical(nil)
			data = append(ledger.AppendRedacted(data[:len(data)-1], ledger.LeafHash(before[seq]), "2026-12-06T18:00:00.000000Z", "er_test"), '}')
			red[seq] = data
			rs = append(rs, audit.Redaction{Seq: seq, Data: data, Event: &ev})
		}
		if err := er.Redact(h.ctx, "acme", rs); err != nil {
			h.t.Fatalf("Redact: %v", err)
		}
		_, after := h.scan("acme", 0, 9, audit.Filter{})
		for seq := range after {
			want := before[seq]
			if r, ok := red[int64(seq)]; ok {
				want = r
			}
			if string(after[seq]) != string(want) {
				h.t.Fatalf("seq %d after Redact:\n%s\nwant\n%s", seq, after[seq], want)
			}
		}
		if _, data, err := h.s.Event(h.ctx, "acme", "a2"); err != nil || string(data) != string(red[2]) {
			h.t.Errorf("Event(a2) after Redact: %s, %v", data, err)
		}
		if got := h.walk("acme", audit.Filter{Terms: []audit.Term{actor("alice")}}, audit.Asc, 100); len(got) != 7 || containsSeq(got, 2) || containsSeq(got, 5) {
			h.t.Errorf("actor:alice after erasing seqs 2 and 5: %v", got)
		}
		if got := h.walk("acme", audit.Filter{Terms: []audit.Term{actor(audit.Erased)}}, audit.Asc, 100); len(got) != 2 {
			h.t.Errorf("actor:[erased]: %v, want seqs 2 and 5", got)
		}
		if got := h.walk("acme", audit.Filter{Terms: []audit.Term{text("alice")}}, audit.Asc, 100); containsSeq(got, 2) || containsSeq(got, 5) {
			h.t.Errorf("the word alice still finds an erased event: %v", got)
		}
		if got := h.allHashes("acme", 9); !slices.Equal(got, hashes) {
			h.t.Fatal("Redact changed the tree")
		}
		b := batch("acme", newEvent("acme", "a2", 2))
		h.append(b)
		if b.Err != nil || b.Results[0].Seq != 2 {
			h.t.Errorf("a retry of an erased event's original content: %+v %v", b.Results, b.Err)
		}
	}},
	{"RecordsAndViewers", func(h *harness) {
		er := h.eraser()
		if er == nil {
			return
		}
		rec := audit.ErasureRecord{ID: "er_1", Org: "acme", Reason: "GDPR art. 17", State: audit.ErasureRunning, CreatedAt: t0}
		if err := er.SaveErasure(h.ctx, rec); err != nil {
			h.t.Fatal(err)
		}
		rec.State, rec.Events, rec.DoneAt = audit.ErasureDone, 42, t0.Add(time.Minute)
		if err := er.SaveErasure(h.ctx, rec); err != nil {
			h.t.Fatal(err)
		}
		if got, err := er.Erasure(h.ctx, "acme", "er_1"); err != nil || got != rec {
			h.t.Fatalf("Erasure = %+v, %v; want %+v", got, err, rec)
		}
		if _, err := er.Erasure(h.ctx, "beta", "er_1"); !errors.Is(err, audit.ErrNotFound) {
			h.t.Errorf("another org's erasure: %v", err)
		}
		h.viewerLink("acme", "u-alice", "tok-a")
		h.session("tok-a", "sess-a")
		h.viewerLink("acme", "u-bob", "tok-b")
		h.viewerLink("beta", "u-alice", "tok-c")
		if err := er.ForgetViewer(h.ctx, "acme", "u-alice"); err != nil {
			h.t.Fatal(err)
		}
		if _, err := h.s.ViewerLinkByHash(h.ctx, audit.HashSecret("tok-a")); !errors.Is(err, audit.ErrNotFound) {
			h.t.Errorf("the erased person's link: %v", err)
		}
		if _, err := h.sessionByHash("sess-a"); !errors.Is(err, audit.ErrNotFound) {
			h.t.Errorf("the erased person's session: %v", err)
		}
		for _, tok := range []string{"tok-b", "tok-c"} {
			if _, err := h.s.ViewerLinkByHash(h.ctx, audit.HashSecret(tok)); err != nil {
				h.t.Errorf("link %s of someone else: %v", tok, err)
			}
		}
	}},
}

func (h *harness) eraser() audit.Eraser {
	e, ok := h.s.(audit.Eraser)
	if !ok {
		h.t.Log("this engine cannot erase (no audit.Eraser): nothing to check")
		return nil
	}
	return e
}

func containsSeq(s []int64, v int64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
