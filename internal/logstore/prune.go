// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/sqlite"
)

// Pruning (retention, issue 11) removes an org's oldest blocks whose
// events were all received before the cutoff: an event stays until every
// event of its block is due. A pruned block's leaf hashes move to the
// catalog (pruned_leaves, 32 bytes per event), so every tree hash stays
// computable: roots, the compact range of [0, P) that exports carry, and
// proofs from checkpoints older than the pruning point. Its catalog row,
// daily counts and id filters go, and its bytes leave the disk once no
// read that began before can still read them (reclaim.go): a block file
// that keeps no live block is removed, else the block's range is punched
// out of it (fallocate PUNCH_HOLE, which frees the space and reads back
// as zeros).
var pruneSchema = []string{
	// The leaf hashes of pruned blocks: events [first, first+len(data)/32)
	// of org. They cover [0, P) without gaps.
	`CREATE TABLE IF NOT EXISTS pruned_leaves (
		org   INTEGER NOT NULL,
		first INTEGER NOT NULL,
		data  BLOB NOT NULL,
		PRIMARY KEY (org, first)
	) WITHOUT ROWID`,
}

// PrunedBefore implements audit.Pruner.
func (s *Store) PrunedBefore(ctx context.Context, org string) (int64, error) {
	o := s.org(org)
	if o == nil {
		return 0, nil
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.pruned, nil
}

// Prune implements audit.Pruner: whole blocks, oldest first, while every
// event of the block was received before cutoff. Unsealed events are
// never pruned (they are the newest).
func (s *Store) Prune(ctx context.Context, org string, cutoff time.Time) (audit.PruneResult, error) {
	if s.reader {
		return audit.PruneResult{}, &audit.Error{Code: audit.CodeUnavailable,
			Message: "the data directory " + s.dir + " is in use by a running trail serve, which prunes every --prune-interval: let it, or stop it first"}
	}
	o := s.org(org)
	if o == nil {
		return audit.PruneResult{}, nil
	}
	s.sealMu.Lock() // no seal changes the blocks meanwhile
	defer s.sealMu.Unlock()
	o.mu.RLock()
	blocks, from, num := o.blocks, o.pruned, o.num
	o.mu.RUnlock()
	cut := cutoff.UnixMicro()
	var gone []*blockRef
	for _, b := range blocks {
		h, err := s.blocks.header(b)
		if err != nil {
			return audit.PruneResult{}, err
		}
		if h.sum.maxRec >= cut {
			break
		}
		gone = append(gone, b)
	}
	if len(gone) == 0 {
		return audit.PruneResult{From: from, To: from}, nil
	}
	leaves, daily, err := s.pruneData(gone)
	if err != nil {
		return audit.PruneResult{}, err
	}
	last := gone[len(gone)-1]
	to := last.first + last.n
	o.mu.RLock()
	groups, trimmed := dropPrunedIDs(o.ids.groups, to) // only seals change them, and sealMu is held
	o.mu.RUnlock()
	if err := s.cat.writePrune(ctx, num, gone, leaves, daily, to, groups, trimmed); err != nil {
		return audit.PruneResult{}, err
	}
	o.mu.Lock()
	o.blocks = slices.Clone(o.blocks[len(gone):])
	o.pruned = to
	o.ids.groups = groups
	for k, n := range daily {
		if o.daily[k] -= n; o.daily[k] <= 0 {
			delete(o.daily, k)
		}
	}
	o.mu.Unlock()
	s.retire(gone)
	return audit.PruneResult{From: from, To: to}, nil
}

// pruneData reads the blocks' events once: their leaf hashes (one row per
// block) and their daily counts.
func (s *Store) pruneData(gone []*blockRef) ([][]byte, map[dayCat]int64, error) {
	leaves := make([][]byte, len(gone))
	daily := map[dayCat]int64{}
	var buf []byte
	for i, b := range gone {
		h, err := s.blocks.header(b)
		if err != nil {
			return nil, nil, err
		}
		row := make([]byte, 0, 32*b.n)
		for p := range h.pages {
			var events [][]byte
			if events, buf, err = s.blocks.pageInto(b, h, p, nil, buf); err != nil {
				return nil, nil, err
			}
			for _, e := range events {
				leaf, _ := ledger.EventLeaf(e)
				row = append(row, leaf[:]...)
				d, err := scanFields(e)
				if err != nil {
					return nil, nil, internalErr("pruning: reading an event of the block at seq %d: %v", b.first, err)
				}
				daily[dayCat{dayOf(d.occurred), d.category}]++
			}
		}
		if int64(len(row)) != 32*b.n {
			return nil, nil, damaged(b, fmt.Errorf("%d events in its pages, %d in the catalog", len(row)/32, b.n))
		}
		leaves[i] = row
	}
	return leaves, daily, nil
}

// writePrune is one catalog transaction: the pruned leaves in, the block
// rows out, the daily counts down, the id filter rows of the pruned
// groups out and, if cut, the row of the first group left (which lost
// blocks) written again, so that Open does not find the rows stale and
// rebuild them from every block. The rows of the groups after it are
// unchanged.
func (c *catalog) writePrune(ctx context.Context, org int64, gone []*blockRef, leaves [][]byte, daily map[dayCat]int64, to int64, groups []idGroup, cut bool) error {
	tx, err := c.w.BeginTx(ctx, nil)
	if err != nil {
		return sqlite.StoreErr("pruning", err)
	}
	defer tx.Rollback()
	for i, b := range gone {
		if _, err := tx.ExecContext(ctx, `INSERT INTO pruned_leaves (org, first, data) VALUES (?, ?, ?)`, org, b.first, leaves[i]); err != nil {
			return sqlite.StoreErr("pruning: keeping the leaf hashes", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM blocks WHERE org = ? AND first < ?`, org, to); err != nil {
		return sqlite.StoreErr("pruning: removing the blocks", err)
	}
	less := make(map[dayCat]int64, len(daily))
	for k, n := range daily {
		less[k] = -n
	}
	if err := addCounts(ctx, tx, org, less); err != nil {
		return sqlite.StoreErr("pruning: counting", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM idfilters WHERE org = ? AND first < ?`, org, to); err != nil {
		return sqlite.StoreErr("pruning: the id filters", err)
	}
	if cut {
		if err := insertIDs(ctx, tx, org, groups[:1]); err != nil {
			return sqlite.StoreErr("pruning: the id filters", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return sqlite.StoreErr("pruning", err)
	}
	return nil
}

// prunedPoints reads each org's P from the catalog (recover).
func (c *catalog) prunedPoints(ctx context.Context) (map[int64]int64, error) {
	out := map[int64]int64{}
	err := c.each(ctx, `SELECT org, max(first + length(data) / 32) FROM pruned_leaves GROUP BY org`, func(r *sql.Rows) error {
		var org, p int64
		if err := r.Scan(&org, &p); err != nil {
			return err
		}
		out[org] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("logstore: reading the pruned ranges: %w", err)
	}
	return out, nil
}

// prunedLeaf reads the leaf hash of a pruned event, keeping the last
// row read.
func (c *leafCache) prunedLeaf(seq int64) (ledger.Hash, error) {
	if seq < c.prunedFirst || seq >= c.prunedFirst+int64(len(c.prunedRow)/32) {
		var first int64
		var data []byte
		err := c.s.cat.r.QueryRow(`SELECT first, data FROM pruned_leaves WHERE org = ? AND first <= ? ORDER BY first DESC LIMIT 1`, c.v.o.num, seq).Scan(&first, &data)
		if err != nil {
			return ledger.Hash{}, internalErr("the leaf hash of pruned seq %d of %s: %v", seq, c.v.o.name, err)
		}
		if seq >= first+int64(len(data)/32) {
			return ledger.Hash{}, internalErr("the leaf hash of pruned seq %d of %s is missing", seq, c.v.o.name)
		}
		c.prunedFirst, c.prunedRow = first, data
	}
	i := 32 * (seq - c.prunedFirst)
	return ledger.Hash(c.prunedRow[i : i+32]), nil
}

// dropPrunedIDs removes pruned blocks from the id filters' groups (the
// filters keep their bits: a pruned id only costs a false positive); cut
// says whether the first group left lost blocks (the groups are
// consecutive: only that one can, and those after it are unchanged).
func dropPrunedIDs(groups []idGroup, p int64) (out []idGroup, cut bool) {
	for _, g := range groups {
		var kept []*blockRef
		for _, b := range g.blocks {
			if b.first >= p {
				kept = append(kept, b)
			}
		}
		if len(kept) > 0 {
			cut = cut || len(out) == 0 && len(kept) < len(g.blocks)
			g.blocks = kept
			out = append(out, g)
		}
	}
	return out, cut
}
