// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"fmt"
	"math/bits"
)

// Node is a perfect, aligned subtree: leaves [Index<<Level, (Index+1)<<Level).
type Node struct {
	Level int
	Index int64
	Hash  Hash
}

// Start is the node's first leaf.
func (n Node) Start() int64 { return n.Index << n.Level }

// End is one past the node's last leaf.
func (n Node) End() int64 { return (n.Index + 1) << n.Level }

// Cover appends to dst the largest aligned perfect subtrees that exactly
// cover the leaves [from, to), left to right (hashes left zero). Every one
// of them lies inside any tree of size >= to, so its hash is a stored hash
// (StoredIndex). At most 2·log₂(to-from) nodes.
func Cover(dst []Node, from, to int64) []Node {
	for from < to {
		l := 62
		if from != 0 {
			l = bits.TrailingZeros64(uint64(from))
		}
		for int64(1)<<l > to-from { // (from+1<<l may overflow)
			l--
		}
		dst = append(dst, Node{Level: l, Index: from >> l})
		from += 1 << l
	}
	return dst
}

// Builder computes the RFC 6962 root of a tree from its leaves and
// aligned subtrees given left to right (a compact range that grows from
// 0). The zero Builder is an empty tree.
type Builder struct {
	stack []Node
	size  int64
}

// Size is the number of leaves covered so far.
func (b *Builder) Size() int64 { return b.size }

// AddLeaf adds the next leaf's hash.
func (b *Builder) AddLeaf(h Hash) {
	b.push(Node{Level: 0, Index: b.size, Hash: h})
}

// AddNode adds the perfect subtree of 2^level leaves that starts at
// Size(); it fails if that subtree is not aligned there.
func (b *Builder) AddNode(level int, h Hash) error {
	if level < 0 || level > 62 || b.size&(1<<level-1) != 0 {
		return fmt.Errorf("ledger: a subtree of 2^%d leaves cannot start at leaf %d", level, b.size)
	}
	b.push(Node{Level: level, Index: b.size >> level, Hash: h})
	return nil
}

func (b *Builder) push(n Node) {
	b.size = n.End()
	for len(b.stack) > 0 {
		top := b.stack[len(b.stack)-1]
		if top.Level != n.Level || top.Index&1 != 0 {
			break
		}
		b.stack = b.stack[:len(b.stack)-1]
		n = Node{Level: n.Level + 1, Index: top.Index >> 1, Hash: NodeHash(top.Hash, n.Hash)}
	}
	b.stack = append(b.stack, n)
}

// Root is the root of the tree of Size() leaves.
func (b *Builder) Root() Hash {
	if len(b.stack) == 0 {
		return EmptyRoot
	}
	h := b.stack[len(b.stack)-1].Hash
	for i := len(b.stack) - 2; i >= 0; i-- {
		h = NodeHash(b.stack[i].Hash, h)
	}
	return h
}
