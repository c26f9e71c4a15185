// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"context"
	"fmt"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// checkTree rebuilds org's tree from its stored bytes and compares every
// stored hash the store holds for it: the contract of Append's tree.
func (h *harness) checkTree(org string) ledger.Hash {
	h.t.Helper()
	size := h.size(org)
	_, events := h.scan(org, 0, size, audit.Filter{})
	e := &ledger.Edge{}
	var want []ledger.Stored
	for _, data := range events {
		var err error
		leaf, _ := ledger.EventLeaf(data)
		if want, err = e.Append(want, leaf); err != nil {
			h.t.Fatal(err)
		}
	}
	if size == 0 {
		return e.Root()
	}
	idx := make([]int64, len(want))
	for i, s := range want {
		idx[i] = s.Index
	}
	got, err := h.s.ReadHashes(h.ctx, org, idx)
	if err != nil {
		h.t.Fatalf("ReadHashes(%s, all %d stored hashes): %v", org, len(idx), err)
	}
	for i := range want {
		if got[i] != want[i].Hash {
			h.t.Fatalf("org %s: stored hash %d = %x, want %x (from the stored events)", org, want[i].Index, got[i], want[i].Hash)
		}
	}
	root, err := ledger.TreeHash(size, audit.HashReader(h.ctx, h.s, org))
	if err != nil || root != e.Root() {
		h.t.Fatalf("org %s: TreeHash(%d) = %x, %v; want %x", org, size, root, err, e.Root())
	}
	return root
}

func evs(org, prefix string, from, n int) []audit.Event {
	out := make([]audit.Event, n)
	for i := range out {
		out[i] = newEvent(org, fmt.Sprintf("%s%d", prefix, from+i), from+i)
	}
	return out
}

var ledgerTests = []test{
	{"TreeHashesMatchStoredBytes", func(h *harness) {
		for i := range 13 {
			h.appendOK("acme", evs("acme", "e", i*7, 1+i%5)...)
		}
		h.append(batch("acme", evs("acme", "g", 0, 3)...), batch("beta", evs("beta", "g", 0, 9)...),
			batch("acme", evs("acme", "h", 0, 4)...))
		h.checkTree("acme")
		h.checkTree("beta")
	}},
	{"FailedBatchLeavesNoHashes", func(h *harness) {
		first := evs("acme", "a", 0, 3)
		h.appendOK("acme", first...)
		// The middle batch reuses id a1 with other content: it fails alone
		// and the batches around it, of the same org, share the tree.
		clash := newEvent("acme", "a1", 99)
		ok1 := batch("acme", evs("acme", "b", 0, 2)...)
		bad := batch("acme", append(evs("acme", "c", 0, 3), clash)...)
		ok2 := batch("acme", evs("acme", "d", 0, 5)...)
		h.append(ok1, bad, ok2)
		if bad.Err == nil {
			h.t.Fatal("the conflicting batch did not fail")
		}
		h.seqs(ok1)
		h.seqs(ok2)
		h.wantSize("acme", 10)
		h.checkTree("acme")
		// The next commit appends on the tree the group left.
		h.appendOK("acme", evs("acme", "e", 0, 2)...)
		h.checkTree("acme")
	}},
	{"RetriesAddNoLeaves", func(h *harness) {
		es := evs("acme", "r", 0, 4)
		h.appendOK("acme", es...)
		h.appendOK("acme", append(es[1:3:3], newEvent("acme", "new", 9))...)
		h.wantSize("acme", 5)
		h.checkTree("acme")
	}},
	{"CancelledAppendThenAppend", func(h *harness) {
		h.appendOK("acme", evs("acme", "a", 0, 3)...)
		ctx, cancel := context.WithCancel(h.ctx)
		cancel()
		h.s.Append(ctx, []*audit.Batch{batch("acme", evs("acme", "x", 0, 2)...)})
		h.appendOK("acme", evs("acme", "b", 0, 3)...)
		h.checkTree("acme")
	}},
	{"Checkpoints", func(h *harness) {
		if _, err := h.s.LatestCheckpoint(h.ctx, "acme"); audit.ErrorCode(err) != audit.CodeNotFound {
			h.t.Fatalf("LatestCheckpoint of an empty org: err = %v, want not found", err)
		}
		h.appendOK("acme", evs("acme", "a", 0, 5)...)
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		cp := func(n int64) audit.SignedCheckpoint {
			root, err := ledger.TreeHash(n, audit.HashReader(h.ctx, h.s, "acme"))
			if err != nil {
				h.t.Fatal(err)
			}
			return audit.SignedCheckpoint{Size: n, Root: root, Note: fmt.Sprintf("note %d\n", n), SignedAt: at.Add(time.Duration(n) * time.Second)}
		}
		for _, c := range []struct {
			size int64
			kept bool
		}{{3, true}, {2, false}, {3, false}, {5, true}, {6, false}} {
			c3 := cp(min(c.size, 5))
			c3.Size = c.size
			kept, err := h.s.SaveCheckpoint(h.ctx, "acme", c3)
			if err != nil || kept != c.kept {
				h.t.Errorf("SaveCheckpoint(size %d) = %v, %v; want %v", c.size, kept, err, c.kept)
			}
		}
		got, err := h.s.LatestCheckpoint(h.ctx, "acme")
		if want := cp(5); err != nil || got != want {
			h.t.Errorf("LatestCheckpoint = %+v, %v; want %+v", got, err, want)
		}
		if _, err := h.s.LatestCheckpoint(h.ctx, "beta"); audit.ErrorCode(err) != audit.CodeNotFound {
			h.t.Errorf("LatestCheckpoint of another org: err = %v, want not found", err)
		}
	}},
	{"MissingHashIsAnError", func(h *harness) {
		h.appendOK("acme", evs("acme", "a", 0, 2)...)
		if _, err := h.s.ReadHashes(h.ctx, "acme", []int64{ledger.LeafIndex(5)}); err == nil {
			h.t.Error("ReadHashes of a leaf past the size: no error")
		}
		if _, err := h.s.ReadHashes(h.ctx, "nobody", []int64{0}); err == nil {
			h.t.Error("ReadHashes of an unknown org: no error")
		}
	}},
}
