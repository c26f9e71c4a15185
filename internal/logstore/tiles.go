// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// The Merkle tree of each org is kept as C2SP tlog tiles of height 8: the
// hashes at tree levels 8, 16, 24… (one per 256, 65,536… leaves) are the
// entries of the tiles at tile levels 1, 2, 3…, kept in memory (32 bytes
// per 256 events) and, once their leaves are sealed, in the catalog's
// tiles table, 256 hashes a row. Level-0 tiles are not stored: a leaf
// hash is recomputed from the event's bytes in its block, and any other
// hash from the 2^k hashes below it at the nearest tile level.

// treeState is an org's tree: its right edge and the upper tiles' entries.
type treeState struct {
	edge  *ledger.Edge
	upper [][]ledger.Hash // upper[t][n]: the hash at level 8(t+1), index n
}

func (t treeState) snapshot() treeState {
	return treeState{edge: t.edge, upper: slices.Clone(t.upper)}
}

// grow appends leaves to a copy of the tree.
func (t treeState) grow(leaves []ledger.Hash) (treeState, error) {
	out := treeState{edge: t.edge.Clone(), upper: slices.Clone(t.upper)}
	var stored []ledger.Stored
	for _, leaf := range leaves {
		var err error
		if stored, err = out.edge.Append(stored[:0], leaf); err != nil {
			return t, err
		}
		for _, s := range stored {
			out.keep(s)
		}
	}
	return out, nil
}

// keep records a completed subtree hash if it is a tile entry.
func (t *treeState) keep(s ledger.Stored) {
	level, n := ledger.SplitIndex(s.Index)
	if level == 0 || level%8 != 0 {
		return
	}
	k := level/8 - 1
	for len(t.upper) <= k {
		t.upper = append(t.upper, nil)
	}
	if int64(len(t.upper[k])) == n {
		t.upper[k] = append(t.upper[k], s.Hash)
	}
}

// ReadHashes implements audit.Ledger.
func (s *Store) ReadHashes(ctx context.Context, org string, indexes []int64) ([]ledger.Hash, error) {
	if len(indexes) == 0 {
		return []ledger.Hash{}, nil
	}
	o := s.org(org)
	if o == nil {
		return nil, internalErr("org %q has no tree hashes", org)
	}
	v := s.view(o)
	defer s.unpin(&v)
	leaves := &leafCache{s: s, v: &v, pages: map[pageKey]*leafPage{}}
	out := make([]ledger.Hash, len(indexes))
	for i, x := range indexes {
		level, n := ledger.SplitIndex(x)
		if level > 62 || (n+1)<<level > v.size || n < 0 {
			return nil, internalErr("tree hash %d (level %d, index %d) of org %q is past its size %d", x, level, n, org, v.size)
		}
		h, err := leaves.node(level, n)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

type pageKey struct {
	b    *blockRef
	page int
}

// leafCache computes tree hashes over one view, decoding each page of
// leaves at most once.
type leafCache struct {
	s     *Store
	v     *view
	pages map[pageKey]*leafPage
	// the pruned leaves' row last read (prune.go)
	prunedFirst int64
	prunedRow   []byte
	nodes       map[nodeKey][]ledger.Hash // rows of stored hashes read, by level and row index
	hashed      int                       // leaves hashed (for tests)
}

func (c *leafCache) node(level int, n int64) (ledger.Hash, error) {
	if level == 0 {
		return c.leaf(n)
	}
	if level%8 == 0 {
		if k := level/8 - 1; k < len(c.v.tree.upper) && n < int64(len(c.v.tree.upper[k])) {
			return c.v.tree.upper[k][n], nil
		}
	}
	if (level == nodeLevel || level == 4 && c.s.cat.level4) && (n+1)<<level <= c.v.sealed {
		if h, ok := c.storedNode(level, n); ok {
			return h, nil
		}
	}
	l, err := c.node(level-1, 2*n)
	if err != nil {
		return l, err
	}
	r, err := c.node(level-1, 2*n+1)
	return ledger.NodeHash(l, r), err
}

func (c *leafCache) leaf(seq int64) (ledger.Hash, error) {
	if seq >= c.v.sealed {
		return c.v.tail[seq-c.v.sealed].leaf, nil
	}
	if seq < c.v.pruned {
		return c.prunedLeaf(seq)
	}
	b := findBlock(c.v.blocks, seq)
	p, pi, version, err := c.s.blocks.locate(b, seq) // no header read: the summary places the page
	if err != nil {
		return ledger.Hash{}, err
	}
	key := pageKey{b, p}
	lp, ok := c.pages[key]
	if !ok {
		events, _, err := c.s.blocks.readPage(b, version, p, &pi, nil, nil)
		if err != nil {
			return ledger.Hash{}, err
		}
		lp = &leafPage{events: events, hashes: make([]ledger.Hash, len(events)), done: make([]bool, len(events))}
		if len(c.pages) > 64 {
			clear(c.pages)
		}
		c.pages[key] = lp
	}
	// Hashed when asked: a proof needs the 32 leaves of its group, not the
	// whole page.
	i := seq - pi.first
	if !lp.done[i] {
		c.hashed++
		lp.hashes[i], _ = ledger.EventLeaf(lp.events[i]) // a redacted event stands by its original leaf
		lp.done[i] = true
	}
	return lp.hashes[i], nil
}

// leafPage is a decoded page and the leaf hashes of its events computed
// so far.
type leafPage struct {
	events [][]byte
	hashes []ledger.Hash
	done   []bool
}

// tileRows returns the tile rows a seal from sealed0 to sealed1 completes
// or extends: for each tile level, the tiles holding entries whose leaves
// are all below sealed1.
func (t treeState) tileRows(sealed0, sealed1 int64) []tileRow {
	var rows []tileRow
	for k, entries := range t.upper {
		shift := uint(8 * (k + 1))
		from, to := sealed0>>shift, min(sealed1>>shift, int64(len(entries)))
		if to <= from {
			continue
		}
		for idx := from / 256; idx <= (to-1)/256; idx++ {
			end := min(to, idx*256+256)
			data := make([]byte, 0, 32*(end-idx*256))
			for _, h := range entries[idx*256 : end] {
				data = append(data, h[:]...)
			}
			rows = append(rows, tileRow{level: k + 1, idx: idx, data: data})
		}
	}
	return rows
}

type tileRow struct {
	level int
	idx   int64
	data  []byte
}

// loadTiles sets the upper entries from stored tile rows (ascending).
func (t *treeState) loadTiles(rows []tileRow) error {
	for _, r := range rows {
		k := r.level - 1
		for len(t.upper) <= k {
			t.upper = append(t.upper, nil)
		}
		if len(r.data)%32 != 0 || int64(len(t.upper[k])) < r.idx*256 {
			return fmt.Errorf("logstore: tile %d/%d is malformed or out of order", r.level, r.idx)
		}
		t.upper[k] = t.upper[k][:r.idx*256]
		for i := 0; i < len(r.data); i += 32 {
			t.upper[k] = append(t.upper[k], ledger.Hash(r.data[i:i+32]))
		}
	}
	return nil
}

// SaveCheckpoint implements audit.Ledger.
func (s *Store) SaveCheckpoint(ctx context.Context, org string, c audit.SignedCheckpoint) (bool, error) {
	n, _ := s.Size(ctx, org)
	if n == 0 || c.Size > n {
		return false, nil
	}
	return s.cat.saveCheckpoint(ctx, org, c)
}

// LatestCheckpoint implements audit.Ledger.
func (s *Store) LatestCheckpoint(ctx context.Context, org string) (audit.SignedCheckpoint, error) {
	return s.cat.latestCheckpoint(ctx, org)
}

// DailyCounts implements audit.EventStore, from the counts kept in memory
// (the catalog's per sealed block plus the tail's).
func (s *Store) DailyCounts(ctx context.Context, org string, from, to time.Time) ([]audit.DayCount, error) {
	o := s.org(org)
	if o == nil {
		return nil, nil
	}
	lo, hi := dayOf(from.UnixMicro()), dayOf(to.Add(-time.Microsecond).UnixMicro())+1
	var out []audit.DayCount
	o.mu.RLock()
	for k, n := range o.daily {
		if k.day >= lo && k.day < hi && n > 0 {
			out = append(out, audit.DayCount{Day: time.UnixMicro(k.day * microsPerDay).UTC(), Category: k.category, Count: n})
		}
	}
	o.mu.RUnlock()
	slices.SortFunc(out, func(a, b audit.DayCount) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		if a.Category < b.Category {
			return -1
		}
		if a.Category > b.Category {
			return 1
		}
		return 0
	})
	return out, nil
}

// The edge of an org's tree at its sealed size is kept in the catalog
// (edges), written with each seal, so that Open reads no block for it:
//
//	version (1 byte, edgeVersion) | the hashes at ledger.EdgeIndexes(size), 32 bytes each | CRC-32C (u32)
//
// the CRC-32C covering the org number and size (u64, u64) then the
// version and hashes. A missing, stale or damaged edge is recomputed from
// the tiles and the last blocks.
const edgeVersion = 1

func edgeCRC(org, size int64, body []byte) uint32 {
	var key [16]byte
	binary.LittleEndian.PutUint64(key[0:], uint64(org))
	binary.LittleEndian.PutUint64(key[8:], uint64(size))
	return crc32.Update(crc32.Checksum(key[:], castagnoli), castagnoli, body)
}

func encodeEdge(org int64, e *ledger.Edge) ([]byte, error) {
	hashes, err := e.ReadHashes(ledger.EdgeIndexes(e.Size()))
	if err != nil {
		return nil, err
	}
	data := make([]byte, 0, 1+32*len(hashes)+4)
	data = append(data, edgeVersion)
	for _, h := range hashes {
		data = append(data, h[:]...)
	}
	return binary.LittleEndian.AppendUint32(data, edgeCRC(org, e.Size(), data)), nil
}

// decodeEdge returns the stored edge of a tree of size want, or false if
// it is missing, of another size or version, or damaged.
func decodeEdge(org int64, r edgeRow, want int64) (*ledger.Edge, bool) {
	n := len(r.data)
	if r.size != want || n < 5 || r.data[0] != edgeVersion || (n-5)%32 != 0 ||
		binary.LittleEndian.Uint32(r.data[n-4:]) != edgeCRC(org, r.size, r.data[:n-4]) {
		return nil, false
	}
	hashes := make([]ledger.Hash, (n-5)/32)
	for i := range hashes {
		hashes[i] = ledger.Hash(r.data[1+32*i : 1+32*i+32])
	}
	e, err := ledger.NewEdge(r.size, hashes)
	return e, err == nil
}

// sealTree is o's sealed edge grown by the events being sealed, and the
// tree hashes at level nodeLevel those events complete (nil edge if o has
// none: an org whose damaged block kept it from being computed). Only
// the sealer changes o.sealedEdge, so it reads it unlocked.
func sealTree(o *orgLog, events []*tailEvent) (*ledger.Edge, nodeRun) {
	if o.sealedEdge == nil && o.sealed > 0 {
		return nil, nodeRun{}
	}
	e := &ledger.Edge{}
	if o.sealedEdge != nil {
		e = o.sealedEdge.Clone()
	}
	var run nodeRun
	var stored []ledger.Stored
	for _, ev := range events {
		var err error
		if stored, err = e.Append(stored[:0], ev.leaf); err != nil {
			return nil, nodeRun{}
		}
		for _, st := range stored {
			if level, n := ledger.SplitIndex(st.Index); level == nodeLevel {
				if len(run.hashes) == 0 {
					run.first = n
				}
				run.hashes = append(run.hashes, st.Hash)
			}
		}
	}
	return e, run
}

// Proofs need the hashes of levels 0 to 7 below a leaf, which no tile
// holds (level-0 tiles are not stored: 32 bytes per event). Each seal
// stores the hashes of tree level nodeLevel its events complete (one per
// 32 events, 1 byte per event) in the catalog's nodes5 table, 256 a row:
// a proof then hashes the 32 leaves of its event's group (one or two
// pages decoded) and reads the levels above from a row and the tiles,
// instead of decoding and hashing the 256 events of its level-8 tile. A
// row's data is the hashes, then a CRC-32C (u32) of the org number and
// row index (u64, u64) and the hashes; a row that is missing, short or
// damaged only means those hashes are computed from the blocks.
//
// Catalogs written before kept the hashes of level 4 instead (one per 16
// events, 2 bytes per event), in the nodes table, in the same encoding:
// those rows are still read (a level-4 hash found there is not computed
// from its 16 leaves) and no longer written.
const (
	nodeLevel   = 5
	nodesPerRow = 256
)

// nodeTables are the catalog's tables of stored tree hashes by their
// level: nodeLevel, written by every seal, and level 4, only read.
var nodeTables = map[int]string{nodeLevel: "nodes5", 4: "nodes"}

// nodeRun is consecutive hashes at nodeLevel, from index first.
type nodeRun struct {
	first  int64
	hashes []ledger.Hash
}

func nodesCRC(org, idx int64, hashes []byte) uint32 {
	var key [16]byte
	binary.LittleEndian.PutUint64(key[0:], uint64(org))
	binary.LittleEndian.PutUint64(key[8:], uint64(idx))
	return crc32.Update(crc32.Checksum(key[:], castagnoli), castagnoli, hashes)
}

// decodeNodes returns a nodes row's hashes, or false if it is damaged.
func decodeNodes(org, idx int64, data []byte) ([]ledger.Hash, bool) {
	n := len(data) - 4
	if n < 0 || n%32 != 0 || n/32 > nodesPerRow || binary.LittleEndian.Uint32(data[n:]) != nodesCRC(org, idx, data[:n]) {
		return nil, false
	}
	out := make([]ledger.Hash, n/32)
	for i := range out {
		out[i] = ledger.Hash(data[32*i : 32*i+32])
	}
	return out, true
}

func encodeNodes(org, idx int64, hashes []ledger.Hash) []byte {
	data := make([]byte, 0, 32*len(hashes)+4)
	for _, h := range hashes {
		data = append(data, h[:]...)
	}
	return binary.LittleEndian.AppendUint32(data, nodesCRC(org, idx, data))
}

// nodeKey is a row of stored tree hashes: its level and index.
type nodeKey struct {
	level int
	idx   int64
}

// storedNode returns the stored hash at level (a key of nodeTables),
// index n, of org (its leaves all sealed), reading its row once per
// leafCache; ok is false if it is not stored (sealed before such rows
// were kept, or by a binary that kept the other level) or its row is
// damaged.
func (c *leafCache) storedNode(level int, n int64) (ledger.Hash, bool) {
	key := nodeKey{level, n / nodesPerRow}
	row, read := c.nodes[key]
	if !read {
		if c.v.num != 0 {
			row, _ = c.s.cat.nodes(level, c.v.num, key.idx)
		}
		if c.nodes == nil {
			c.nodes = map[nodeKey][]ledger.Hash{}
		}
		c.nodes[key] = row
	}
	if k := n - key.idx*nodesPerRow; k < int64(len(row)) {
		return row[k], true
	}
	return ledger.Hash{}, false
}
