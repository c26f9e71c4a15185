// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// many blocks per org: 1,000 events in blocks of 20 make 50 blocks, so
// the id filters have merged tiers (16 blocks each) and single blocks.
var many = Options{BlockEvents: 20, PageEvents: 8, ManualSeal: true, SegmentBytes: 16 << 10}

// fillSealed fills org acme (and beta) with 1,000 sealed events and 30 in
// the log, closes the store and returns the acknowledged bytes.
func fillSealed(t *testing.T, dir string) map[string][][]byte {
	t.Helper()
	s, err := Open(dir, many)
	if err != nil {
		t.Fatal(err)
	}
	acked := fill(t, s, []string{"acme", "beta"}, 0, 1000)
	if err := s.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	for org, more := range fill(t, s, []string{"acme", "beta"}, 1000, 30) {
		acked[org] = append(acked[org], more...)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return acked
}

// reopen opens dir, checks both orgs and how many orgs Open rebuilt.
func reopen(t *testing.T, dir string, acked map[string][][]byte, rebuilt int) {
	t.Helper()
	s, err := Open(dir, many)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.rebuilt != rebuilt {
		t.Errorf("Open rebuilt the id filters or edges of %d orgs, want %d", s.rebuilt, rebuilt)
	}
	if g := s.org("acme").ids.groups; len(g) < 2 || g[0].tier != 1 {
		t.Errorf("acme's id filters: %d groups, the first of tier %d; want a merged tier first", len(g), g[0].tier)
	}
	for _, org := range []string{"acme", "beta"} {
		wantLog(t, s, org, acked[org]) // every retry of a sealed id finds its seq; the root matches
		wantHashes(t, s, org, acked[org])
	}
}

// wantHashes checks every stored tree hash of org (all tlog stored hash
// indexes of its size: leaves, the levels proofs read from the nodes
// rows, the tiles) against the tree of the acknowledged bytes.
func wantHashes(t *testing.T, s *Store, org string, want [][]byte) {
	t.Helper()
	e := &ledger.Edge{}
	var idx []int64
	var hashes []ledger.Hash
	for _, data := range want {
		stored, err := e.Append(nil, ledger.LeafHash(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range stored {
			idx = append(idx, st.Index)
			hashes = append(hashes, st.Hash)
		}
	}
	got, err := s.ReadHashes(context.Background(), org, idx)
	if err != nil {
		t.Fatalf("%s: ReadHashes: %v", org, err)
	}
	for i := range idx {
		if got[i] != hashes[i] {
			level, n := ledger.SplitIndex(idx[i])
			t.Fatalf("%s: tree hash at level %d index %d differs from the tree of the acknowledged events", org, level, n)
		}
	}
}

// TestIDFiltersAndEdgesKept: Open reads the id filters and tree edges the
// seals stored and rebuilds nothing; retries and roots are right.
func TestIDFiltersAndEdgesKept(t *testing.T) {
	dir := t.TempDir()
	acked := fillSealed(t, dir)
	reopen(t, dir, acked, 0)
	reopen(t, dir, acked, 0)
	s, err := Open(dir, many)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.cat.r.QueryRow(`SELECT sum(length(data) - 4) / 32 FROM nodes5 WHERE org = (SELECT num FROM orgs WHERE name = 'acme')`).Scan(&n); err != nil || n != 1000/32 {
		t.Errorf("acme's stored hashes at level %d: %d, %v; want one per 32 sealed events, %d", nodeLevel, n, err, 1000/32)
	}
}

// TestIDFiltersAndEdgesRebuilt: rows missing (a catalog written before
// they were kept), damaged, stale or describing other blocks are rebuilt
// from the blocks at Open, stored again, and the next Open reads them.
func TestIDFiltersAndEdgesRebuilt(t *testing.T) {
	for name, sql := range map[string]string{
		"missing filters":       `DELETE FROM idfilters`,
		"missing edges":         `DELETE FROM edges`,
		"missing newest filter": `DELETE FROM idfilters WHERE first = (SELECT max(first) FROM idfilters)`,
		"damaged filter":        `UPDATE idfilters SET data = substr(data, 1, 10) || x'ff' || substr(data, 12)`,
		"damaged edge":          `UPDATE edges SET data = substr(data, 1, 10) || x'ff' || substr(data, 12)`,
		"stale edge":            `UPDATE edges SET size = size - 1`,
		"filter moved":          `UPDATE idfilters SET first = first + 1 WHERE first > 0`,
		"other version":         `UPDATE idfilters SET data = x'03' || substr(data, 2)`,
		"version 1 filter":      `UPDATE idfilters SET data = x'01' || substr(data, 2)`, // 64-bit id hashes
		// Not rebuilt, only not used: the hashes are computed from the blocks.
		"missing nodes": `DELETE FROM nodes5`,
		"damaged nodes": `UPDATE nodes5 SET data = substr(data, 1, 10) || x'ff' || substr(data, 12)`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			acked := fillSealed(t, dir)
			cat, err := openCatalog(dir + "/" + CatalogFile)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cat.w.Exec(sql); err != nil {
				t.Fatal(err)
			}
			cat.close()
			rebuilt := 2
			if strings.HasSuffix(name, "nodes") {
				rebuilt = 0
			}
			reopen(t, dir, acked, rebuilt)
			reopen(t, dir, acked, 0)
		})
	}
}

// TestSealCommitFails: a block written whose catalog transaction (block
// row, id filters, edge) does not commit, then a crash: Open cuts the
// block off, replays its events from the log, and retries of its ids and
// of older ones find their seqs; sealing again works.
func TestSealCommitFails(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, many)
	if err != nil {
		t.Fatal(err)
	}
	acked := fill(t, s, []string{"acme"}, 0, 335) // 16 blocks and a part: the next seal merges a tier
	if err := s.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	for org, more := range fill(t, s, []string{"acme"}, 335, 40) {
		acked[org] = append(acked[org], more...)
	}
	failSeals(true)
	err = s.Seal(context.Background())
	failSeals(false)
	if err == nil {
		t.Fatal("Seal with a failing commit: no error")
	}
	s.crash()
	if s, err = Open(dir, many); err != nil {
		t.Fatal(err)
	}
	if s.rebuilt != 0 {
		t.Errorf("Open rebuilt %d orgs' filters after a failed seal; the catalog was consistent", s.rebuilt)
	}
	wantLog(t, s, "acme", acked["acme"])
	wantHashes(t, s, "acme", acked["acme"])
	if err := s.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	reopen1(t, dir, "acme", acked["acme"])
}

func reopen1(t *testing.T, dir, org string, want [][]byte) {
	t.Helper()
	s, err := Open(dir, many)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.rebuilt != 0 {
		t.Errorf("Open rebuilt %d orgs' filters", s.rebuilt)
	}
	wantLog(t, s, org, want)
	wantHashes(t, s, org, want)
}

// failSeals makes every seal's catalog transaction fail (or not).
func failSeals(fail bool) {
	if !fail {
		beforeSealCommit.Store(nil)
		return
	}
	hook := func() error { return errors.New("sealing fails (test)") }
	beforeSealCommit.Store(&hook)
}

// TestAppendsWaitForTheSealer: with background sealing, the unsealed
// events in memory stay within MaxTailBytes (plus the group that crossed
// it); when sealing fails, an append waits maxSealerWait and is refused
// as unavailable with nothing stored, and appends resume once sealing
// works again.
func TestAppendsWaitForTheSealer(t *testing.T) {
	defer func(d time.Duration) { maxSealerWait = d }(maxSealerWait)
	maxSealerWait = time.Minute // a loaded machine seals slowly
	opts := Options{BlockEvents: 1000, PageEvents: 8, MaxTailBytes: 16 << 10}
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	appendN := func(from, n int) error {
		b := &audit.Batch{Org: "acme"}
		for i := from; i < from+n; i++ {
			b.Events = append(b.Events, pendingOf(testEvent("acme", i)))
		}
		if err := s.Append(ctx, []*audit.Batch{b}); err != nil {
			return err
		}
		return b.Err
	}
	const batch = 20 // ~6 KB
	next := 0
	for ; next < 2000; next += batch {
		if err := appendN(next, batch); err != nil {
			t.Fatal(err)
		}
		if tail := s.totalTail(); tail > opts.MaxTailBytes+8<<10 {
			t.Fatalf("after %d events the tails hold %d bytes, over MaxTailBytes %d and one batch", next+batch, tail, opts.MaxTailBytes)
		}
	}
	failSeals(true)
	defer failSeals(false)
	maxSealerWait = 300 * time.Millisecond
	refused := false
	for range 100 {
		size, _ := s.Size(ctx, "acme")
		err := appendN(next, batch)
		if err != nil {
			if audit.ErrorCode(err) != audit.CodeUnavailable {
				t.Fatalf("append while sealing fails: %v, want unavailable", err)
			}
			if after, _ := s.Size(ctx, "acme"); after != size {
				t.Fatalf("a refused append stored events: size %d → %d", size, after)
			}
			refused = true
			break
		}
		next += batch
	}
	if !refused {
		t.Fatal("appends went on while nothing could be sealed")
	}
	failSeals(false)
	maxSealerWait = time.Minute
	if err := appendN(next, batch); err != nil {
		t.Fatalf("append once sealing works again: %v", err)
	}
	if n, _ := s.Size(ctx, "acme"); n != int64(next+batch) {
		t.Fatalf("size %d, want %d", n, next+batch)
	}
}

// TestCatalogPageSize: a new catalog has catalogPageSize pages; one made
// with 4,096-byte pages (before) keeps them and opens as before.
func TestCatalogPageSize(t *testing.T) {
	pageSize := func(dir string) int {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, CatalogFile)+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(`PRAGMA page_size`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	dir := t.TempDir()
	acked := fillSealed(t, dir)
	if n := pageSize(dir); n != catalogPageSize {
		t.Errorf("new catalog's page size %d, want %d", n, catalogPageSize)
	}
	reopen(t, dir, acked, 0)

	old := t.TempDir()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(old, CatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{"PRAGMA page_size = 4096", "PRAGMA journal_mode = WAL", catalogSchema[0]} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	acked = fillSealed(t, old)
	reopen(t, old, acked, 0)
	if n := pageSize(old); n != 4096 {
		t.Errorf("existing catalog's page size %d, want 4096 kept", n)
	}
}

// TestIDFiltersOfAnotherSize: id filters stored with 20 bits per id (as
// before idBitsPerKey was 16) are read as they are, not rebuilt, and
// every retry of a sealed id still finds its event.
func TestIDFiltersOfAnotherSize(t *testing.T) {
	dir := t.TempDir()
	acked := fillSealed(t, dir)
	s, err := Open(dir, many)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		org, first int64
		data       []byte
	}
	var rows []row
	for _, name := range []string{"acme", "beta"} {
		o := s.org(name)
		for _, g := range o.ids.groups {
			var n int
			for _, b := range g.blocks {
				hs, err := s.blockIDs(b)
				if err != nil {
					t.Fatal(err)
				}
				n += len(hs)
			}
			f := newBloomBits(n, 20)
			for _, b := range g.blocks {
				hs, _ := s.blockIDs(b)
				for _, h := range hs {
					f.add(idKey(h))
				}
			}
			if len(f) <= len(g.filter) {
				t.Fatalf("a 20-bit filter of %d ids has %d bytes, the stored one %d", n, len(f), len(g.filter))
			}
			g.filter = f
			rows = append(rows, row{o.num, g.first(), encodeIDFilter(o.num, g)})
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cat, err := openCatalog(filepath.Join(dir, CatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if res, err := cat.w.Exec(`UPDATE idfilters SET data = ? WHERE org = ? AND first = ?`, r.data, r.org, r.first); err != nil {
			t.Fatal(err)
		} else if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("updated %d rows of org %d from %d", n, r.org, r.first)
		}
	}
	cat.close()
	reopen(t, dir, acked, 0)
}

// TestIDFilterFalsePositives: an id filter (idBitsPerKey) answers yes for
// about 0.09% of ids it does not hold; each such yes costs one id section
// scan (docs/storage.md).
func TestIDFilterFalsePositives(t *testing.T) {
	const n, probes = 20000, 1000000
	hs := make([]uint32, n)
	for i := range hs {
		hs[i] = idHash32(fmt.Sprintf("held-%d", i))
	}
	f := idFilter(hs)
	for _, h := range hs {
		if !f.has(idKey(h)) {
			t.Fatalf("the filter lost %08x", h)
		}
	}
	yes := 0
	for i := range probes {
		if f.has(idKey(idHash32(fmt.Sprintf("other-%d", i)))) {
			yes++
		}
	}
	rate, want := float64(yes)/probes, fpRate(f, n)
	t.Logf("%d bits per id: %.4f%% false positives (estimate %.4f%%)", idBitsPerKey, rate*100, want*100)
	if want > 0.001 || rate > 2*want {
		t.Errorf("false-positive rate %.5f (estimate %.5f), want ≤ 0.001", rate, want)
	}
}

// TestNodeRows: a proof's hashes below level 8 come from the stored
// level-5 rows (the 31 other leaves of its group of 32 hashed), from the
// level-4 rows of a catalog written by an earlier binary (15), or, with
// neither, from the leaves (255); the hashes are right in every case.
func TestNodeRows(t *testing.T) {
	const acme = `(SELECT num FROM orgs WHERE name = 'acme')`
	for _, c := range []struct {
		name   string
		sql    []string
		hashed int
	}{
		{"level 5", nil, 31},
		{"level 4 (earlier binaries)", []string{`DELETE FROM nodes5`, `INSERT INTO nodes (org, idx, data) VALUES (` + acme + `, 0, ?)`}, 15},
		{"both", []string{`INSERT INTO nodes (org, idx, data) VALUES (` + acme + `, 0, ?)`}, 15},
		{"none", []string{`DELETE FROM nodes5`}, 255},
		{"level 4 damaged", []string{`DELETE FROM nodes5`, `INSERT INTO nodes (org, idx, data) VALUES (` + acme + `, 0, ?)`,
			`UPDATE nodes SET data = substr(data, 1, 10) || x'ff' || substr(data, 12)`}, 255},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			acked := fillSealed(t, dir)
			cat, err := openCatalog(dir + "/" + CatalogFile)
			if err != nil {
				t.Fatal(err)
			}
			var num int64
			if err := cat.w.QueryRow(`SELECT num FROM orgs WHERE name = 'acme'`).Scan(&num); err != nil {
				t.Fatal(err)
			}
			for _, q := range c.sql {
				var args []any
				if strings.Contains(q, "?") { // the row an earlier binary wrote
					args = append(args, encodeNodes(num, 0, level4Hashes(t, acked["acme"][:1000])))
				}
				if _, err := cat.w.Exec(q, args...); err != nil {
					t.Fatal(err)
				}
			}
			cat.close()
			s, err := Open(dir, many)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			v := s.view(s.org("acme"))
			defer s.unpin(&v)
			lc := &leafCache{s: s, v: &v, pages: map[pageKey]*leafPage{}}
			for level := range 8 { // a proof of leaf 300: its siblings at levels 0 to 7
				if _, err := lc.node(level, (300>>level)^1); err != nil {
					t.Fatal(err)
				}
			}
			if lc.hashed != c.hashed {
				t.Errorf("a proof hashed %d leaves, want %d", lc.hashed, c.hashed)
			}
			wantHashes(t, s, "acme", acked["acme"])
		})
	}
}

// level4Hashes is the tree hashes at level 4 over events.
func level4Hashes(t *testing.T, events [][]byte) []ledger.Hash {
	e := &ledger.Edge{}
	var out []ledger.Hash
	for _, data := range events {
		stored, err := e.Append(nil, ledger.LeafHash(data))
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range stored {
			if level, _ := ledger.SplitIndex(st.Index); level == 4 {
				out = append(out, st.Hash)
			}
		}
	}
	return out
}

// TestIDCandidates: a lookup by id reads about one block's id section,
// not every block of the merged group whose filter lets the id through:
// each block of a merged group keeps its own filter in memory, made when
// the group is merged and, after Open (which reads only the groups'
// filters), by warmIDs in the background: the test waits for it.
func TestIDCandidates(t *testing.T) {
	dir := t.TempDir()
	acked := fillSealed(t, dir)
	check := func(t *testing.T, s *Store) {
		t.Helper()
		o := s.org("acme")
		merged := 0
		for _, g := range o.ids.groups {
			if len(g.blocks) > 1 {
				merged++
			}
		}
		if merged == 0 {
			t.Fatalf("no merged id filter groups among %d", len(o.ids.groups))
		}
		total := 0
		for _, data := range acked["acme"] {
			id := eventID(data)
			seq, _, err := s.Event(context.Background(), "acme", id)
			if err != nil {
				t.Fatal(id, err)
			}
			if seq >= o.sealed {
				continue // in the tail
			}
			cs := o.ids.candidates(idHash32(id))
			if !slices.ContainsFunc(cs, func(b *blockRef) bool { return b.first <= seq && seq < b.first+b.n }) {
				t.Fatalf("event %d (%s): its block is not among the %d candidates", seq, id, len(cs))
			}
			total += len(cs)
		}
		if avg := float64(total) / float64(o.sealed); avg > 1.1 {
			t.Errorf("%.2f candidate blocks per sealed id, want about 1", avg)
		}
	}
	s, err := Open(dir, many)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("after Open", func(t *testing.T) {
		<-s.warmed // Open's warmIDs is done
		check(t, s)
	})
	acked["acme"] = append(acked["acme"], fill(t, s, []string{"acme"}, 1030, 400)["acme"]...)
	if err := s.Seal(context.Background()); err != nil { // more merges, of blocks sealed now
		t.Fatal(err)
	}
	t.Run("after sealing", func(t *testing.T) { check(t, s) })
	s.Close()
	if s, err = Open(dir, many); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Run("after reopening", func(t *testing.T) {
		<-s.warmed
		check(t, s)
	})
}

// TestSealStatementsPrepared: after the first seals, a seal's catalog
// statements run prepared (stmtTx), and the blocks they record read back
// (events, retries, tree hashes).
func TestSealStatementsPrepared(t *testing.T) {
	s, err := Open(t.TempDir(), many)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acked := fill(t, s, []string{"acme"}, 0, 200)
	if err := s.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.cat.stmtMu.Lock()
	prepared := 0
	for q, st := range s.cat.stmts {
		if st == nil {
			t.Errorf("statement not prepared after a seal: %s", q)
		}
		prepared++
	}
	s.cat.stmtMu.Unlock()
	// The block, its counts (read and written), id filters (deleted and
	// written), the edge, the tree nodes (read and written).
	if prepared < 8 {
		t.Errorf("%d statements prepared, want the 8 or more a seal runs", prepared)
	}
	wantLog(t, s, "acme", acked["acme"])
	wantHashes(t, s, "acme", acked["acme"])
}
