// SPDX-License-Identifier: Apache-2.0

package ledger

import "golang.org/x/mod/sumdb/tlog"

// storedIndex is the stored hash index of a perfect subtree.
func storedIndex(n Node) int64 { return tlog.StoredHashIndex(n.Level, n.Index) }

// StoredIndex is the tlog stored hash index of the node's hash.
func (n Node) StoredIndex() int64 { return storedIndex(n) }

// LeafIndex is the stored hash index of leaf i's hash.
func LeafIndex(i int64) int64 { return tlog.StoredHashIndex(0, i) }

// SplitIndex is the inverse of the stored hash index: the level and the
// index within the level of the subtree whose hash is stored there.
func SplitIndex(index int64) (level int, n int64) { return tlog.SplitStoredHashIndex(index) }
