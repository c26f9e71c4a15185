// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"errors"
	"slices"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// pruneTests hold an engine that implements audit.Pruner to retention's
// contract: only a prefix of events received before the cutoff goes
// (how much of it is the engine's unit: whole blocks, rows), every read
// starts at the first kept seq P, the tree and its hashes are unchanged,
// sizes stay, other orgs are untouched, and later appends go on from the
// size. Engines without pruning (the SQLite engine) skip them.
var pruneTests = []test{
	{"PrefixOnly", func(h *harness) {
		p := h.pruner()
		if p == nil {
			return
		}
		for i := 0; i < 30; i += 3 {
			h.appendOK("acme", evs("acme", "a", i, 3)...)
		}
		h.appendOK("beta", evs("beta", "b", 0, 10)...)
		rootA, rootB := h.checkTree("acme"), h.checkTree("beta")
		hashes := h.allHashes("acme", 30)
		_, before := h.scan("acme", 0, 30, audit.Filter{})
		cutoff := t0.Add(20 * time.Minute) // events 0 … 19 are due
		res, err := p.Prune(h.ctx, "acme", cutoff)
		if err != nil {
			h.t.Fatalf("Prune: %v", err)
		}
		if res.From != 0 || res.To < 0 || res.To > 20 {
			h.t.Fatalf("Prune removed [%d, %d), want a prefix of [0, 20)", res.From, res.To)
		}
		if res.To == 0 {
			h.t.Log("nothing pruned: the engine keeps these events in a unit not yet due (an unsealed tail)")
		}
		P := res.To
		if got, err := p.PrunedBefore(h.ctx, "acme"); err != nil || got != P {
			h.t.Fatalf("PrunedBefore = %d, %v; want %d", got, err, P)
		}
		h.wantSize("acme", 30)
		seqs, data := h.scan("acme", 0, 30, audit.Filter{})
		if int64(len(seqs)) != 30-P || len(seqs) > 0 && seqs[0] != P {
			h.t.Fatalf("Scan after pruning before %d: seqs %v", P, seqs)
		}
		for i, d := range data {
			if string(d) != string(before[P+int64(i)]) {
				h.t.Fatalf("seq %d changed by pruning", seqs[i])
			}
		}
		page := h.query("acme", audit.Query{Before: -1, After: -1, Limit: 100})
		if int64(len(page.Seqs)) != 30-P || page.More {
			h.t.Fatalf("Query after pruning: %d events, more %v; want %d", len(page.Seqs), page.More, 30-P)
		}
		if P > 0 {
			if _, _, err := h.s.Event(h.ctx, "acme", "a0"); !errors.Is(err, audit.ErrNotFound) {
				h.t.Errorf("Event of a pruned id: err = %v, want ErrNotFound", err)
			}
		}
		if seq, _, err := h.s.Event(h.ctx, "acme", "a29"); err != nil || seq != 29 {
			h.t.Errorf("Event(a29) = %d, %v", seq, err)
		}
		if got := h.allHashes("acme", 30); !slices.Equal(got, hashes) {
			h.t.Fatal("the tree's stored hashes changed with pruning")
		}
		if root, err := ledger.TreeHash(30, audit.HashReader(h.ctx, h.s, "acme")); err != nil || root != rootA {
			h.t.Fatalf("root after pruning = %x, %v; want %x", root, err, rootA)
		}
		var n int64
		for _, d := range h.dailyCounts("acme", t0.Add(-48*time.Hour), t0.Add(48*time.Hour)) {
			n += d.Count
		}
		if n != 30-P {
			h.t.Errorf("daily counts after pruning sum to %d, want %d", n, 30-P)
		}
		if h.checkTree("beta") != rootB || h.size("beta") != 10 {
			h.t.Error("pruning acme changed beta")
		}
		if got, _ := p.PrunedBefore(h.ctx, "beta"); got != 0 {
			h.t.Errorf("beta's PrunedBefore = %d, want 0", got)
		}
		// Again with the same cutoff: nothing more.
		if again, err := p.Prune(h.ctx, "acme", cutoff); err != nil || again.From != P || again.To != P {
			h.t.Fatalf("Prune again = %+v, %v; want [%d, %d)", again, err, P, P)
		}
		// Appends go on at the size; the tree grows from the kept hashes.
		if s := h.appendOK("acme", evs("acme", "c", 30, 3)...); s[0] != 30 {
			h.t.Fatalf("append after pruning got seq %d, want 30", s[0])
		}
		if _, err := ledger.TreeHash(33, audit.HashReader(h.ctx, h.s, "acme")); err != nil {
			h.t.Fatalf("TreeHash(33) after pruning: %v", err)
		}
		// A retry of a kept id is still one.
		b := batch("acme", newEvent("acme", "a29", 29))
		h.append(b)
		if b.Err != nil || b.Results[0].Seq != 29 {
			h.t.Errorf("retry of a kept id: %+v %v", b.Results, b.Err)
		}
	}},
	{"NothingDue", func(h *harness) {
		p := h.pruner()
		if p == nil {
			return
		}
		h.appendOK("acme", evs("acme", "a", 0, 6)...)
		if res, err := p.Prune(h.ctx, "acme", t0); err != nil || res.From != 0 || res.To != 0 {
			h.t.Fatalf("Prune with nothing due = %+v, %v", res, err)
		}
		if res, err := p.Prune(h.ctx, "nobody", t0.Add(time.Hour)); err != nil || res.To != 0 {
			h.t.Fatalf("Prune of an org without events = %+v, %v", res, err)
		}
	}},
}

// pruner returns the store as an audit.Pruner, or nil (logged, not
// skipped: the SQLite engine has no pruning by design, and CI runs with
// no skips).
func (h *harness) pruner() audit.Pruner {
	p, ok := h.s.(audit.Pruner)
	if !ok {
		h.t.Log("this engine cannot prune (no audit.Pruner): nothing to check")
		return nil
	}
	return p
}

// allHashes reads every stored hash of a tree of size n.
func (h *harness) allHashes(org string, n int64) []ledger.Hash {
	h.t.Helper()
	var idx []int64
	for i := int64(0); i < n; i++ {
		for l := 0; (i+1)%(1<<l) == 0; l++ {
			idx = append(idx, ledger.Node{Level: l, Index: (i + 1 - 1<<l) >> l}.StoredIndex())
		}
	}
	hs, err := h.s.ReadHashes(h.ctx, org, idx)
	if err != nil {
		h.t.Fatalf("ReadHashes(%s): %v", org, err)
	}
	return hs
}
