// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// TestPrunedRangeIsCompactRange checks that PrunedRange and
// NewPrunedBuilder follow github.com/transparency-dev/merkle/compact: the
// same hashes, left to right, and the same roots with leaves added after.
func TestPrunedRangeIsCompactRange(t *testing.T) {
	f := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	leaf := func(i int) Hash { return LeafHash([]byte(fmt.Sprint("event ", i))) }
	for _, p := range []int{0, 1, 2, 3, 5, 8, 13, 255, 256, 257, 1000} {
		cr := f.NewEmptyRange(0)
		var all Builder
		for i := range p {
			h := leaf(i)
			if err := cr.Append(h[:], nil); err != nil {
				t.Fatal(err)
			}
			all.AddLeaf(h)
		}
		want := cr.Hashes()
		nodes := PrunedRange(int64(p))
		if len(nodes) != len(want) || PrunedRangeSize(int64(p)) != len(want) {
			t.Fatalf("p=%d: %d nodes (size %d), compact has %d", p, len(nodes), PrunedRangeSize(int64(p)), len(want))
		}
		var r RangeReader = builderHashes{leaf}
		hs := make([]Hash, len(nodes))
		for i, n := range nodes {
			hs[i] = r.node(n)
			if !bytes.Equal(hs[i][:], want[i]) {
				t.Fatalf("p=%d node %d (level %d index %d): got %x, compact has %x", p, i, n.Level, n.Index, hs[i], want[i])
			}
		}
		b, err := NewPrunedBuilder(int64(p), hs)
		if err != nil {
			t.Fatal(err)
		}
		for i := p; i < p+300; i++ {
			h := leaf(i)
			b.AddLeaf(h)
			all.AddLeaf(h)
			cr.Append(h[:], nil)
		}
		root, err := cr.GetRootHash(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Root(); got != all.Root() || !bytes.Equal(got[:], root) {
			t.Fatalf("p=%d: root %x, full tree %x, compact %x", p, got, all.Root(), root)
		}
	}
	if _, err := NewPrunedBuilder(5, make([]Hash, 1)); err == nil {
		t.Fatal("5 needs 2 hashes: no error")
	}
	if _, err := NewPrunedBuilder(-1, nil); err == nil {
		t.Fatal("negative p: no error")
	}
}

// RangeReader computes node hashes for the test.
type RangeReader interface{ node(Node) Hash }

type builderHashes struct{ leaf func(int) Hash }

func (b builderHashes) node(n Node) Hash {
	var bl Builder
	for i := n.Start(); i < n.End(); i++ {
		bl.AddLeaf(b.leaf(int(i)))
	}
	return bl.Root()
}

func TestRedacted(t *testing.T) {
	orig := []byte(`{"id":"a","org":"o","seq":1,"metadata":{"k":"v"}}`)
	leaf := LeafHash(orig)
	red := append([]byte(`{"id":"a","org":"o","seq":1,"metadata":{"k":"[erased]"}`), AppendRedacted(nil, leaf, "2026-12-06T18:00:00.000000Z", "er_1")...)
	red = append(red, '}')
	h, at, id, ok := Redacted(red)
	if !ok || h != leaf || at != "2026-12-06T18:00:00.000000Z" || id != "er_1" {
		t.Fatalf("Redacted(%s) = %x %q %q %v", red, h, at, id, ok)
	}
	if got, r := EventLeaf(red); !r || got != leaf {
		t.Fatalf("EventLeaf: %x %v", got, r)
	}
	if got, r := EventLeaf(orig); r || got != leaf {
		t.Fatalf("EventLeaf of the original: %x %v", got, r)
	}
	for _, bad := range []string{
		`{"id":"a","metadata":{"k":"v"}}`,
		`{"id":"a","redacted":{"leaf_hash":"x","at":"t","erasure":"e"}}`,
		`{"redacted":{"leaf_hash":"` + EncodeHash(leaf) + `","at":"t","erasure":"e"}}`, // no comma: not the canonical suffix
		`{"id":"a","m":1,"redacted":{"leaf_hash":"` + EncodeHash(leaf) + `","at":"t","erasure":"e\"x"}}`,
		`{"id":"a","m":1,"redacted":{"leaf_hash":"` + EncodeHash(leaf) + `","erasure":"e","at":"t"}}`,
	} {
		if _, _, _, ok := Redacted([]byte(bad)); ok {
			t.Errorf("Redacted(%s): ok", bad)
		}
	}
}

// redactedBySearch is Redacted as it was before it looked for the key
// from the 9th quote from the end: bytes.LastIndex of the key over the
// whole event (the object after it is parsed the same way).
// TestRedactedSameAsSearch holds the two to the same answers.
func redactedBySearch(data []byte) (leaf Hash, at, erasure string, ok bool) {
	if !bytes.HasSuffix(data, []byte(`"}}`)) {
		return leaf, "", "", false
	}
	i := bytes.LastIndex(data, redactedKey)
	if i < 0 {
		return leaf, "", "", false
	}
	return redactedAt(data, i)
}

// TestRedactedSameAsSearch: Redacted answers as the search of the whole
// event did, on redacted events, events with the key elsewhere (twice, in
// a string, cut short), quotes and backslashes in at and erasure, and
// every cut and one-byte change of those.
func TestRedactedSameAsSearch(t *testing.T) {
	leaf := LeafHash([]byte("x"))
	h := EncodeHash(leaf)
	suffix := func(at, erasure string) string {
		return `,"redacted":{"leaf_hash":"` + h + `","at":"` + at + `","erasure":"` + erasure + `"}}`
	}
	seeds := []string{
		`{"id":"a","metadata":{"k":"v"}` + suffix("2026-12-06T18:00:00Z", "er_1"),
		`{"id":"a"` + suffix("t", "e") + suffix("t", "e"),
		`{"id":"a","metadata":{"s":"` + suffix("t", "e") + `"}}`,
		`{"id":"a","metadata":{"k":"v"}` + suffix(`t"`, "e"),
		`{"id":"a","metadata":{"k":"v"}` + suffix("t", `e\`),
		`{"id":"a","metadata":{"k":"v"}` + suffix("", ""),
		`{"id":"a","metadata":{"k":"v"}` + suffix(`","erasure":"`, "e"),
		`{"id":"a","metadata":{"k":"v"}` + suffix("t", `","at":"`),
		`,"redacted":{"leaf_hash":"` + h + `","at":"t","erasure":"e"}}`,
		`"redacted":{"leaf_hash":"` + h + `","at":"t","erasure":"e"}}`,
		`{"id":"a","metadata":{"k":"v"}}`,
		`"}}`,
	}
	check := func(b []byte) {
		t.Helper()
		l1, a1, e1, ok1 := Redacted(b)
		l2, a2, e2, ok2 := redactedBySearch(b)
		if l1 != l2 || a1 != a2 || e1 != e2 || ok1 != ok2 {
			t.Fatalf("Redacted(%s) = %x %q %q %v; the search says %x %q %q %v", b, l1, a1, e1, ok1, l2, a2, e2, ok2)
		}
	}
	oks := 0
	for _, s := range seeds {
		b := []byte(s)
		for cut := range len(b) + 1 {
			check(b[cut:])
			check(b[:cut])
		}
		for i := range b {
			for _, c := range []byte{'"', '\\', ',', 'x', '}'} {
				m := bytes.Clone(b)
				m[i] = c
				check(m)
			}
		}
		if _, _, _, ok := Redacted(b); ok {
			oks++
		}
	}
	if oks != 4 {
		t.Errorf("%d seeds redacted, want 4", oks)
	}
}
