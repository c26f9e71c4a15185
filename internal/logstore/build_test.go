// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
)

// sealEvents is n bench events of org as buildBlock takes them.
func sealEvents(t *testing.T, org string, n int) []sealEvent {
	t.Helper()
	out := make([]sealEvent, n)
	for i := range out {
		p := benchEvent(org, i)
		if i%3 == 0 {
			// Some variety in the columns and words.
			p.Event.Type, p.Event.Category = "member.add."+strconv.Itoa(i%7), "people"
			p.Event.Description += " " + strconv.Itoa(i%11) + "x rotated " + org
		}
		data := p.Encode(int64(i))
		d, err := scanDoc(data)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = sealEvent{data: data, doc: d, id: p.Event.ID, hash: p.Hash, bits: pendingBits(p)}
	}
	return out
}

// TestBuildBlockReusesBuilder builds a block, then other blocks with the
// pooled builder, then the first again: a builder must carry nothing
// from one block to the next.
func TestBuildBlockReusesBuilder(t *testing.T) {
	a, b := sealEvents(t, "a", 333), sealEvents(t, "b", 1500)
	first, _, err := buildBlock(0, a, 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, pe := range []int{64, 7} {
		if _, _, err := buildBlock(0, b, pe); err != nil {
			t.Fatal(err)
		}
	}
	again, h, err := buildBlock(0, a, 64)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Fatalf("the same events built after others give another block (%d bytes, then %d)", len(first), len(again))
	}
	if len(h.sum.types) != 8 || len(h.pages) != 6 {
		t.Fatalf("block of 333 events has %d types and %d pages, want 8 and 6", len(h.sum.types), len(h.pages))
	}
}

// TestPairSet checks the sealer's pair set against a map, through its
// growth, and its Bloom filter's keys against pairHash.
func TestPairSet(t *testing.T) {
	var s pairSet
	want := map[uint64]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	for range 50000 {
		k := uint64(r.IntN(300))<<32 | uint64(r.IntN(300))
		s.add(k)
		want[k] = true
	}
	if s.n != len(want) {
		t.Fatalf("pair set holds %d keys, want %d", s.n, len(want))
	}
	s.reset()
	s.add(0)
	s.add(0)
	if s.n != 1 {
		t.Fatalf("after a reset and one key added twice the set holds %d", s.n)
	}
	var d dictBuilder
	d.reset()
	d.add(0, []string{"alice", "created", "the", "model", "the", "model"})
	f := d.pairFilter()
	for _, p := range [][2]string{{"alice", "created"}, {"created", "the"}, {"the", "model"}, {"model", "the"}} {
		if !f.has(pairHash(p[0], p[1])) {
			t.Errorf("pair filter lacks %q", p)
		}
	}
	if d.pairs.n != 4 {
		t.Errorf("%d distinct pairs, want 4", d.pairs.n)
	}
}
