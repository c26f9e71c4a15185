// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/tlog"
)

// memTree is a tree built with Edge, its stored hashes in a map: what a
// store does, without a database.
type memTree struct {
	edge   *Edge
	stored map[int64]Hash
}

func newMemTree() *memTree { return &memTree{edge: &Edge{}, stored: map[int64]Hash{}} }

func (m *memTree) add(data []byte) {
	s, err := m.edge.Append(nil, LeafHash(data))
	if err != nil {
		panic(err)
	}
	for _, x := range s {
		if _, dup := m.stored[x.Index]; dup {
			panic(fmt.Sprintf("stored hash %d written twice", x.Index))
		}
		m.stored[x.Index] = x.Hash
	}
}

func (m *memTree) ReadHashes(idx []int64) ([]Hash, error) {
	out := make([]Hash, len(idx))
	for i, x := range idx {
		h, ok := m.stored[x]
		if !ok {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = h
	}
	return out, nil
}

type vectors struct {
	Leaves    []string `json:"leaves"`
	Roots     []string `json:"roots"`
	Inclusion []struct {
		Index, Size int64
		Proof       []string
	} `json:"inclusion"`
	Consistency []struct {
		From, To int64
		Proof    []string
	} `json:"consistency"`
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hashes(t *testing.T, ss []string) []Hash {
	out := make([]Hash, len(ss))
	for i, s := range ss {
		out[i] = Hash(unhex(t, s))
	}
	return out
}

func TestVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/rfc6962.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	m := newMemTree()
	roots := hashes(t, v.Roots)
	if m.edge.Root() != roots[0] || EmptyRoot != roots[0] {
		t.Errorf("empty root = %x, want %x", m.edge.Root(), roots[0])
	}
	for i, l := range v.Leaves {
		m.add(unhex(t, l))
		n := int64(i + 1)
		if got := m.edge.Root(); got != roots[n] {
			t.Errorf("edge root of size %d = %x, want %x", n, got, roots[n])
		}
		if got, err := TreeHash(n, m); err != nil || got != roots[n] {
			t.Errorf("TreeHash(%d) = %x, %v; want %x", n, got, err, roots[n])
		}
	}
	for _, tc := range v.Inclusion {
		want := hashes(t, tc.Proof)
		got, err := ProveInclusion(tc.Index, tc.Size, m)
		if err != nil || !equalHashes(got, want) {
			t.Errorf("ProveInclusion(%d, %d) = %x, %v; want %x", tc.Index, tc.Size, got, err, want)
		}
		leaf := LeafHash(unhex(t, v.Leaves[tc.Index]))
		if err := CheckInclusion(want, tc.Index, tc.Size, roots[tc.Size], leaf); err != nil {
			t.Errorf("CheckInclusion(%d, %d): %v", tc.Index, tc.Size, err)
		}
	}
	for _, tc := range v.Consistency {
		want := hashes(t, tc.Proof)
		got, err := ProveConsistency(tc.From, tc.To, m)
		if err != nil || !equalHashes(got, want) {
			t.Errorf("ProveConsistency(%d, %d) = %x, %v; want %x", tc.From, tc.To, got, err, want)
		}
		if err := CheckConsistency(want, tc.From, roots[tc.From], tc.To, roots[tc.To]); err != nil {
			t.Errorf("CheckConsistency(%d, %d): %v", tc.From, tc.To, err)
		}
	}
}

func equalHashes(a, b []Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCrossCheck compares roots and proofs with transparency-dev/merkle,
// an implementation independent of x/mod's tlog.
func TestCrossCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ref := testonly.New(rfc6962.DefaultHasher)
	m := newMemTree()
	const n = 300
	for i := range n {
		data := make([]byte, rng.IntN(40))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		ref.AppendData(data)
		m.add(data)
		size := int64(i + 1)
		if got, want := m.edge.Root(), ref.Hash(); !bytes.Equal(got[:], want) {
			t.Fatalf("root of size %d = %x, merkle says %x", size, got, want)
		}
	}
	for size := int64(1); size <= n; size += 1 + rng.Int64N(7) {
		root := Hash(ref.HashAt(uint64(size)))
		for range 5 {
			idx := rng.Int64N(size)
			got, err := ProveInclusion(idx, size, m)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := ref.InclusionProof(uint64(idx), uint64(size))
			if !equalHashes(got, toHashes(want)) {
				t.Fatalf("inclusion proof of %d in %d = %x, merkle says %x", idx, size, got, want)
			}
			leaf := Hash(ref.LeafHash(uint64(idx)))
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(idx), uint64(size), leaf[:], want, root[:]); err != nil {
				t.Fatal(err)
			}
			if err := CheckInclusion(got, idx, size, root, leaf); err != nil {
				t.Fatal(err)
			}
			if len(got) > 0 {
				bad := append([]Hash(nil), got...)
				bad[rng.IntN(len(bad))][0] ^= 1
				if err := CheckInclusion(bad, idx, size, root, leaf); !errors.Is(err, ErrMismatch) {
					t.Fatalf("a mutated inclusion proof: err = %v, want ErrMismatch", err)
				}
			}
			from := 1 + rng.Int64N(size)
			cgot, err := ProveConsistency(from, size, m)
			if err != nil {
				t.Fatal(err)
			}
			cwant, _ := ref.ConsistencyProof(uint64(from), uint64(size))
			if !equalHashes(cgot, toHashes(cwant)) {
				t.Fatalf("consistency proof %d→%d = %x, merkle says %x", from, size, cgot, cwant)
			}
			fromRoot := Hash(ref.HashAt(uint64(from)))
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(from), uint64(size), toBytes(cgot), fromRoot[:], root[:]); err != nil {
				t.Fatal(err)
			}
			if err := CheckConsistency(cgot, from, fromRoot, size, root); err != nil {
				t.Fatal(err)
			}
			other := fromRoot
			other[3] ^= 0x40
			if err := CheckConsistency(cgot, from, other, size, root); !errors.Is(err, ErrMismatch) {
				t.Fatalf("consistency with a wrong old root: err = %v, want ErrMismatch", err)
			}
		}
	}
}

func toHashes(b [][]byte) []Hash {
	out := make([]Hash, len(b))
	for i := range b {
		out[i] = Hash(b[i])
	}
	return out
}

func toBytes(h []Hash) [][]byte {
	out := make([][]byte, len(h))
	for i := range h {
		out[i] = h[i][:]
	}
	return out
}

func TestEdgeMatchesStoredHashes(t *testing.T) {
	m := newMemTree()
	for i := range 200 {
		m.add([]byte{byte(i)})
		n := m.edge.Size()
		idx := EdgeIndexes(n)
		hs, err := m.ReadHashes(idx)
		if err != nil {
			t.Fatalf("size %d: edge index not stored: %v", n, err)
		}
		e, err := NewEdge(n, hs)
		if err != nil {
			t.Fatal(err)
		}
		if e.Root() != m.edge.Root() {
			t.Fatalf("size %d: loaded edge root differs", n)
		}
		// A loaded edge appends the same hashes as the live one.
		a, _ := e.Clone().Append(nil, LeafHash([]byte("x")))
		b, _ := m.edge.Clone().Append(nil, LeafHash([]byte("x")))
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("size %d: loaded edge appends %v, live edge %v", n, a, b)
		}
	}
}

// TestBuilderWithGaps computes roots from a subset of leaves plus the
// stored hashes covering the rest, as a filtered export does.
func TestBuilderWithGaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := newMemTree()
	var leaves []Hash
	for i := range 257 {
		d := []byte(fmt.Sprint(i))
		m.add(d)
		leaves = append(leaves, LeafHash(d))
	}
	for trial := range 200 {
		size := 1 + rng.Int64N(int64(len(leaves)))
		keep := rng.Float64()
		var b Builder
		prev := int64(0)
		add := func(from, to int64) {
			for _, n := range Cover(nil, from, to) {
				hs, err := m.ReadHashes([]int64{storedIndex(n)})
				if err != nil {
					t.Fatalf("trial %d: cover node %+v not stored", trial, n)
				}
				if err := b.AddNode(n.Level, hs[0]); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range size {
			if rng.Float64() < keep {
				add(prev, i)
				b.AddLeaf(leaves[i])
				prev = i + 1
			}
		}
		add(prev, size)
		want, _ := TreeHash(size, m)
		if b.Size() != size || b.Root() != want {
			t.Fatalf("trial %d: builder size %d root %x; want %d %x", trial, b.Size(), b.Root(), size, want)
		}
	}
	var b Builder
	b.AddLeaf(Hash{})
	if err := b.AddNode(1, Hash{}); err == nil {
		t.Error("AddNode(1) at leaf 1: no error for an unaligned subtree")
	}
}

func TestCheckpoint(t *testing.T) {
	// Keys whose base64 holds '+' and '/' too.
	for range 20 {
		skey, vkey, err := GenerateKey("trail.example")
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSigner(skey)
		if err != nil {
			t.Fatalf("NewSigner(%q): %v", skey, err)
		}
		if s.VerifierKey() != vkey {
			t.Fatalf("derived verifier key %q, generated %q", s.VerifierKey(), vkey)
		}
	}
	skey, vkey, err := GenerateKey("trail.example")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	c := Checkpoint{Origin: Origin("trail.example", "acme"), Size: 42, Root: sha256.Sum256([]byte("x"))}
	signed, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	text, _, _ := SplitNote(signed)
	if want := "trail.example/orgs/acme\n42\n" + EncodeHash(c.Root) + "\n"; text != want {
		t.Errorf("checkpoint text %q, want %q", text, want)
	}
	vs, _ := Verifiers(vkey)
	got, _, err := OpenCheckpoint(signed, vs)
	if err != nil || got != c {
		t.Fatalf("OpenCheckpoint = %+v, %v; want %+v", got, err, c)
	}
	tampered := []byte(signed)
	tampered[len("trail.example/orgs/acme\n")] = '5'
	if _, _, err := OpenCheckpoint(string(tampered), vs); err == nil {
		t.Error("a tampered checkpoint opened")
	}
	_, other, _ := GenerateKey("trail.example")
	ovs, _ := Verifiers(other)
	if _, _, err := OpenCheckpoint(signed, ovs); err == nil {
		t.Error("a checkpoint opened with another key")
	}
	for _, bad := range []string{"", "o\n1\n", "o\n01\n" + EncodeHash(c.Root) + "\n", "o\n-1\n" + EncodeHash(c.Root) + "\n", "o\n1\nAAAA\n", "o p\n1\n" + EncodeHash(c.Root) + "\n"} {
		if _, err := ParseCheckpoint(bad); err == nil {
			t.Errorf("ParseCheckpoint(%q): no error", bad)
		}
	}
	if _, err := ParseCheckpoint(c.Text() + "extension line\n"); err != nil {
		t.Errorf("extension lines: %v", err)
	}
	p := []Hash{sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))}
	idx, gp, gcp, err := ParseProofText(ProofText(7, p, signed))
	if err != nil || idx != 7 || !equalHashes(gp, p) || gcp != signed {
		t.Errorf("ParseProofText(ProofText) = %d %x %q %v", idx, gp, gcp, err)
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/" + KeyFile
	k1, created, err := LoadOrCreateKey(path, "host")
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateKey: created %v, %v", created, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %o, want 600", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKey(path, "other")
	if err != nil || created || k1 != k2 {
		t.Fatalf("second LoadOrCreateKey: same key %v, created %v, %v", k1 == k2, created, err)
	}
	s1, _ := NewSigner(k1)
	old, nv, err := Rotate(dir)
	if err != nil || old != s1.VerifierKey() || nv == old {
		t.Fatalf("Rotate = %q, %q, %v", old, nv, err)
	}
	trusted, err := ReadTrusted(dir + "/" + TrustedFile)
	if err != nil || len(trusted) != 1 || trusted[0] != old {
		t.Fatalf("trusted after rotation = %v, %v", trusted, err)
	}
	os.Chmod(path, 0o644)
	if _, err := ReadKeyFile(path); err == nil {
		t.Error("a world-readable key file was accepted")
	}
}

func TestCoverHugeRanges(t *testing.T) {
	const max = int64(^uint64(0) >> 1)
	for _, r := range [][2]int64{{0, max}, {1 << 62, max}, {max - 1, max}, {3, 1 << 62}} {
		nodes := Cover(nil, r[0], r[1])
		at := r[0]
		for _, n := range nodes {
			if n.Start() != at {
				t.Fatalf("Cover(%d, %d): node %+v starts at %d, want %d", r[0], r[1], n, n.Start(), at)
			}
			at += 1 << n.Level
		}
		if at != r[1] || len(nodes) > 126 {
			t.Fatalf("Cover(%d, %d) ends at %d with %d nodes", r[0], r[1], at, len(nodes))
		}
	}
}

// TestEdgeAppendIsTlog checks Edge.Append against
// tlog.StoredHashesForRecordHash (which it computes without allocating)
// for every size up to 3,000: the same stored hashes at the same indexes,
// and the same edge after.
func TestEdgeAppendIsTlog(t *testing.T) {
	e := &Edge{}
	var got []Stored
	for n := range int64(3000) {
		leaf := LeafHash([]byte(fmt.Sprint(n)))
		before := e.Clone()
		want, err := tlog.StoredHashesForRecordHash(n, leaf, before)
		if err != nil {
			t.Fatal(err)
		}
		if got, err = e.Append(got[:0], leaf); err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if len(got) != len(want) {
			t.Fatalf("size %d: %d stored hashes, tlog %d", n, len(got), len(want))
		}
		for i := range want {
			if got[i].Index != tlog.StoredHashIndex(0, n)+int64(i) || got[i].Hash != want[i] {
				t.Fatalf("size %d: stored hash %d is %v, tlog's %x at %d", n, i, got[i], want[i], tlog.StoredHashIndex(0, n)+int64(i))
			}
		}
		hs, err := e.ReadHashes(EdgeIndexes(n + 1))
		if err != nil {
			t.Fatalf("size %d: %v", n+1, err)
		}
		if root, err := tlog.TreeHash(n+1, e); err != nil || root != e.Root() || len(hs) != len(e.nodes) {
			t.Fatalf("size %d: edge root %x, tlog %x (%v)", n+1, e.Root(), root, err)
		}
	}
	// An edge that is not the edge of its size is refused.
	bad := &Edge{size: 3, nodes: []Stored{{0, Hash{}}}}
	if _, err := bad.Append(nil, Hash{}); err == nil {
		t.Fatal("an edge of size 3 with one node appended")
	}
}
