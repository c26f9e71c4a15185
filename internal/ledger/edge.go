// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// Stored is one stored hash to write: its tlog.StoredHashIndex and value.
type Stored struct {
	Index int64
	Hash  Hash
}

// Edge is the right edge of a tree of size n: the root of each perfect
// subtree in the binary decomposition of n, largest first. Those are
// exactly the stored hashes that appending leaf n reads, so an Edge lets
// a store append without reading, and gives the root without reading.
// An Edge is a value: Clone before changing one that others hold.
type Edge struct {
	size  int64
	nodes []Stored // perfect subtrees of [0, size), left to right
}

// EdgeIndexes returns the stored hash indexes of the right edge of a tree
// of size n, left to right: what NewEdge needs.
func EdgeIndexes(n int64) []int64 {
	idx := make([]int64, 0, bits.OnesCount64(uint64(n)))
	var start int64
	for l := 62; l >= 0; l-- {
		if n&(1<<l) != 0 {
			idx = append(idx, tlog.StoredHashIndex(l, start>>l))
			start += 1 << l
		}
	}
	return idx
}

// NewEdge returns the edge of a tree of size n from the stored hashes at
// EdgeIndexes(n), in that order.
func NewEdge(n int64, hashes []Hash) (*Edge, error) {
	idx := EdgeIndexes(n)
	if len(hashes) != len(idx) {
		return nil, fmt.Errorf("ledger: the edge of a tree of size %d has %d hashes, got %d", n, len(idx), len(hashes))
	}
	e := &Edge{size: n, nodes: make([]Stored, len(idx))}
	for i := range idx {
		e.nodes[i] = Stored{idx[i], hashes[i]}
	}
	return e, nil
}

// Size is the number of leaves.
func (e *Edge) Size() int64 { return e.size }

// Clone returns an independent copy.
func (e *Edge) Clone() *Edge {
	return &Edge{size: e.size, nodes: append(make([]Stored, 0, len(e.nodes)+1), e.nodes...)}
}

// Root returns the tree's root hash.
func (e *Edge) Root() Hash {
	if len(e.nodes) == 0 {
		return EmptyRoot
	}
	h := e.nodes[len(e.nodes)-1].Hash
	for i := len(e.nodes) - 2; i >= 0; i-- {
		h = NodeHash(e.nodes[i].Hash, h)
	}
	return h
}

// ReadHashes implements tlog.HashReader over the edge's nodes only.
func (e *Edge) ReadHashes(indexes []int64) ([]Hash, error) {
	out := make([]Hash, len(indexes))
next:
	for i, x := range indexes {
		for _, n := range e.nodes {
			if n.Index == x {
				out[i] = n.Hash
				continue next
			}
		}
		return nil, fmt.Errorf("ledger: stored hash %d is not on the edge of a tree of size %d", x, e.size)
	}
	return out, nil
}

// Append adds a leaf with the given leaf hash and appends to dst the
// stored hashes to write (tlog.StoredHashesForRecordHash: the leaf and the
// subtrees it completes), in index order. It computes what
// tlog.StoredHashesForRecordHash over the edge computes, without its
// allocations (they cost more than its hashing; TestEdgeAppendIsTlog).
func (e *Edge) Append(dst []Stored, leaf Hash) ([]Stored, error) {
	n := e.size
	// Each trailing 1 bit of n completes a subtree: the leaf merges with
	// the edge's last m nodes, the smallest (level 0) last.
	m := bits.TrailingZeros64(uint64(n + 1))
	if m > len(e.nodes) {
		return dst, fmt.Errorf("ledger: the edge of a tree of size %d has %d nodes, fewer than %d", n, len(e.nodes), m)
	}
	for i := range m {
		if x := e.nodes[len(e.nodes)-1-i].Index; x != tlog.StoredHashIndex(i, n>>uint(i)-1) {
			return dst, fmt.Errorf("ledger: stored hash %d is not on the edge of a tree of size %d", tlog.StoredHashIndex(i, n>>uint(i)-1), n)
		}
	}
	first := tlog.StoredHashIndex(0, n)
	h := leaf
	dst = append(dst, Stored{first, h})
	for i := range m {
		h = NodeHash(e.nodes[len(e.nodes)-1-i].Hash, h)
		dst = append(dst, Stored{first + int64(i) + 1, h})
	}
	e.nodes = append(e.nodes[:len(e.nodes)-m], Stored{first + int64(m), h})
	e.size++
	return dst, nil
}
