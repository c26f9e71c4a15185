// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// diskUsage is the space the files under dir take on disk (st_blocks,
// like du), so punched holes count as freed.
func diskUsage(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walk (the reclaimer): it holds nothing
		}
		if err != nil {
			return err
		}
		n += info.Sys().(*syscall.Stat_t).Blocks * 512
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPruneFreesDiskAndKeepsProofs prunes most of a log of two orgs in
// whole blocks: the data directory shrinks (files removed, holes
// punched), the tree and a consistency proof from a checkpoint older than
// the pruning point are unchanged, and it all survives a reopen.
func TestPruneFreesDiskAndKeepsProofs(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{BlockEvents: 256, PageEvents: 64, ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 6000 // events 0 … n-1 received a minute apart
	fill(t, s, []string{"acme", "beta"}, 0, n)
	if err := s.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	for s.sealedOf("acme") < n || s.sealedOf("beta") < n {
		if err := s.Seal(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r := audit.HashReader(ctx, s, "acme")
	root, err := ledger.TreeHash(n, r)
	if err != nil {
		t.Fatal(err)
	}
	const old = 1000 // a checkpoint older than the pruning point
	proof, err := ledger.ProveConsistency(old, n, r)
	if err != nil {
		t.Fatal(err)
	}
	oldRoot, _ := ledger.TreeHash(old, r)
	before, blocksBefore := diskUsage(t, dir), diskUsage(t, filepath.Join(dir, "blocks"))

	t0 := testEvent("acme", 0).ReceivedAt
	cutoff := t0.Add(5000*time.Minute + 30*time.Second) // events 0 … 5000 are due
	for _, org := range []string{"acme", "beta"} {
		res, err := s.Prune(ctx, org, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		// Blocks of 256: [4864, 5120) holds 5001 … 5119, not due: it stays.
		if res.From != 0 || res.To != 4864 {
			t.Fatalf("%s: pruned [%d, %d), want [0, 4864)", org, res.From, res.To)
		}
	}
	after, blocksAfter := diskUsage(t, dir), diskUsage(t, filepath.Join(dir, "blocks"))
	t.Logf("pruning 4864 of 6000 events in each of 2 orgs: data directory %d → %d bytes on disk, blocks %d → %d", before, after, blocksBefore, blocksAfter)
	// 19% of the events stay; pages shared with a live block stay too.
	if blocksAfter > blocksBefore*30/100 || after >= before {
		t.Errorf("pruning 81%% of the events left %d of %d bytes of blocks, %d of %d in the directory", blocksAfter, blocksBefore, after, before)
	}
	check := func(s *Store) {
		t.Helper()
		r := audit.HashReader(ctx, s, "acme")
		if got, err := ledger.TreeHash(n, r); err != nil || got != root {
			t.Fatalf("root after pruning = %x, %v; want %x", got, err, root)
		}
		p2, err := ledger.ProveConsistency(old, n, r)
		if err != nil {
			t.Fatalf("consistency proof from %d after pruning: %v", old, err)
		}
		if err := ledger.CheckConsistency(p2, old, oldRoot, n, root); err != nil || len(p2) != len(proof) {
			t.Fatalf("consistency proof from %d after pruning does not verify: %v", old, err)
		}
		if p, _ := s.PrunedBefore(ctx, "beta"); p != 4864 {
			t.Fatalf("beta's P = %d", p)
		}
		seq, _, err := s.Event(ctx, "acme", "ev-5999")
		if err != nil || seq != 5999 {
			t.Fatalf("Event(ev-5999) = %d, %v", seq, err)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{BlockEvents: 256, PageEvents: 64, ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
	if s.rebuilt != 0 {
		t.Errorf("the reopen after pruning rebuilt %d orgs' id filters or edges from the blocks: the catalog's rows were left stale", s.rebuilt)
	}
	// Appends after a reopen extend the same tree.
	fill(t, s, []string{"acme"}, n, 7)
	if err := s.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if sz, _ := s.Size(ctx, "acme"); sz != n+7 {
		t.Fatalf("size %d", sz)
	}
	if _, err := ledger.TreeHash(n+7, audit.HashReader(ctx, s, "acme")); err != nil {
		t.Fatal(err)
	}
}

// TestPruneRewritesOnlyCutIDRows prunes the first merged id filter group
// of an org and half of the second: the first group's catalog row goes,
// the second's is written again for the blocks it keeps, and the rows of
// the groups after it are left as they were (the same rows, by rowid);
// the reopen finds the rows exact and every id left is found.
func TestPruneRewritesOnlyCutIDRows(t *testing.T) {
	dir := t.TempDir()
	opts := Options{BlockEvents: 16, PageEvents: 16, ManualSeal: true}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 700 // 44 blocks: two merged groups of 16 blocks, 12 of one block
	fill(t, s, []string{"acme"}, 0, n)
	for s.sealedOf("acme") < n {
		if err := s.Seal(ctx); err != nil {
			t.Fatal(err)
		}
	}
	type row struct{ rowid, first, end, nblocks int64 }
	rows := func() map[int64]row {
		t.Helper()
		out := map[int64]row{}
		rs, err := s.cat.r.QueryContext(ctx, `SELECT rowid, first, end, nblocks FROM idfilters WHERE org = ?`, s.org("acme").num)
		if err != nil {
			t.Fatal(err)
		}
		defer rs.Close()
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.rowid, &r.first, &r.end, &r.nblocks); err != nil {
				t.Fatal(err)
			}
			out[r.first] = r
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := rows()
	if len(before) != 2+12 || before[0].nblocks != 16 || before[256].nblocks != 16 {
		t.Fatalf("id filter rows before pruning: %v", before)
	}
	cutoff := testEvent("acme", 0).ReceivedAt.Add(300*time.Minute + 30*time.Second) // 0 … 300 are due
	if res, err := s.Prune(ctx, "acme", cutoff); err != nil || res.To != 288 {
		t.Fatalf("Prune = %+v, %v; want [0, 288)", res, err)
	}
	after := rows()
	if len(after) != 1+12 {
		t.Fatalf("id filter rows after pruning: %v", after)
	}
	if r, ok := after[288]; !ok || r.end != 512 || r.nblocks != 14 {
		t.Fatalf("the cut group's row after pruning: %+v (%v)", r, ok)
	}
	for first, r := range before {
		if first < 512 {
			continue
		}
		if after[first] != r {
			t.Errorf("the row of the group at %d, not pruned, was written again: %+v, was %+v", first, after[first], r)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, opts); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.rebuilt != 0 {
		t.Errorf("the reopen after pruning rebuilt %d orgs' id filters or edges", s.rebuilt)
	}
	for _, seq := range []int{288, 300, 511, 512, 699} {
		if got, _, err := s.Event(ctx, "acme", fmt.Sprintf("ev-%d", seq)); err != nil || got != int64(seq) {
			t.Errorf("Event(ev-%d) = %d, %v", seq, got, err)
		}
	}
}
