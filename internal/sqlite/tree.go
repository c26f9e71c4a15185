// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// The Merkle tree of each org is kept as tlog stored hashes in the tree
// table, (org, idx) → hash, written by Append in the same transaction as
// the events. Appending needs only the tree's right edge (ledger.Edge):
// the store caches each org's edge after a commit and checks it against
// the org's size read inside the next transaction, so another process
// appending to the same database (the CLI) only costs a reload.

var treeTable = table{`INSERT INTO tree (org, idx, hash) VALUES `, 3}

// treeOff skips the tree: set only by benchmarks (export_test.go) that
// measure what the tree costs.
var treeOff bool

// treeState is an org's tree during one append transaction.
type treeState struct {
	// edge is the tree at the org's size after the batches kept so far.
	edge *ledger.Edge
	// pending is the tree after the latest insertAll; it becomes edge
	// once the org's size reaches its size (the batch was kept). A batch
	// rolled back leaves the size short of it, and it is dropped.
	pending *ledger.Edge
}

// current returns the edge at st.size, promoting pending when its batch
// was kept, or nil when it must be loaded.
func (t *treeState) current(size int64) *ledger.Edge {
	if t.pending != nil && t.pending.Size() == size {
		t.edge = t.pending
	}
	t.pending = nil
	if t.edge != nil && t.edge.Size() == size {
		return t.edge
	}
	return nil
}

// growTree appends the leaves queued in r (events seq st.size…) to the
// org's tree and writes their stored hashes in the transaction.
func (a *appendTx) growTree(st *orgState, r *rows) error {
	if treeOff {
		return nil
	}
	e := st.tree.current(st.size)
	if e == nil {
		var err error
		if e, err = a.loadEdge(st); err != nil {
			return err
		}
		st.tree.edge = e
	}
	e = e.Clone()
	stored := make([]ledger.Stored, 0, 2*len(r.leaves)+8)
	for _, data := range r.leaves {
		var err error
		if stored, err = e.Append(stored, ledger.LeafHash(data)); err != nil {
			return err
		}
	}
	args := make([]any, 0, treeTable.cols*len(stored))
	for i := range stored {
		args = append(args, st.num, stored[i].Index, stored[i].Hash[:])
	}
	if err := a.s.bulk.insert(a.ctx, a.tx, &treeTable, args); err != nil {
		return err
	}
	st.tree.pending = e
	return nil
}

// loadEdge returns the org's edge at st.size: the cached one if no other
// writer appended since, else read inside the transaction.
func (a *appendTx) loadEdge(st *orgState) (*ledger.Edge, error) {
	a.s.mu.Lock()
	e := a.s.trees[st.num]
	a.s.mu.Unlock()
	if e != nil && e.Size() == st.size {
		return e, nil
	}
	idx := ledger.EdgeIndexes(st.size)
	hashes, err := readHashes(a.ctx, a.tx, st.num, idx)
	if err != nil {
		return nil, err
	}
	return ledger.NewEdge(st.size, hashes)
}

// keepTrees caches each org's edge after a commit.
func (a *appendTx) keepTrees() {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	if a.s.trees == nil {
		a.s.trees = map[int64]*ledger.Edge{}
	}
	for _, st := range a.orgs {
		if e := st.tree.current(st.size); e != nil {
			a.s.trees[st.num] = e
		} else {
			delete(a.s.trees, st.num)
		}
	}
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readHashes reads stored hashes of org num at indexes, in order.
// Sorted, dense indexes (a run of leaves) are read as one range; others
// with IN lists.
func readHashes(ctx context.Context, q querier, num int64, indexes []int64) ([]ledger.Hash, error) {
	found := make(map[int64]ledger.Hash, len(indexes))
	const chunk = 1000
	rest := indexes
	for len(rest) > 0 {
		part := rest[:min(chunk, len(rest))]
		rest = rest[len(part):]
		lo, hi := slices.Min(part), slices.Max(part)
		var rows *sql.Rows
		var err error
		if hi-lo < 4*int64(len(part)) {
			rows, err = q.QueryContext(ctx, `SELECT idx, hash FROM tree WHERE org = ? AND idx BETWEEN ? AND ?`, num, lo, hi)
		} else {
			args := make([]any, 0, len(part)+1)
			args = append(args, num)
			for _, x := range part {
				args = append(args, x)
			}
			rows, err = q.QueryContext(ctx, `SELECT idx, hash FROM tree WHERE org = ? AND idx IN (`+
				strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")+`)`, args...)
		}
		if err != nil {
			return nil, storeErr("reading tree hashes", err)
		}
		for rows.Next() {
			var idx int64
			var h sql.RawBytes
			if err := rows.Scan(&idx, &h); err != nil {
				rows.Close()
				return nil, storeErr("reading tree hashes", err)
			}
			if len(h) != len(ledger.Hash{}) {
				rows.Close()
				return nil, &audit.Error{Code: audit.CodeInternal, Message: "internal error", Err: fmt.Errorf("sqlite: tree hash %d of org %d has %d bytes", idx, num, len(h))}
			}
			found[idx] = ledger.Hash(h)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, storeErr("reading tree hashes", err)
		}
	}
	out := make([]ledger.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := found[x]
		if !ok {
			return nil, &audit.Error{Code: audit.CodeInternal, Message: "internal error", Err: fmt.Errorf("sqlite: tree hash %d of org %d is missing", x, num)}
		}
		out[i] = h
	}
	return out, nil
}

// ReadHashes implements audit.Ledger.
func (s *Store) ReadHashes(ctx context.Context, org string, indexes []int64) ([]ledger.Hash, error) {
	if len(indexes) == 0 {
		return []ledger.Hash{}, nil
	}
	num, ok, err := s.orgNum(ctx, org)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &audit.Error{Code: audit.CodeInternal, Message: "internal error", Err: fmt.Errorf("sqlite: org %q has no tree hashes", org)}
	}
	return readHashes(ctx, s.r, num, indexes)
}
