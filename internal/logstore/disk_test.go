// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/query"
	"github.com/trailaudit/trail/internal/sqlite"
)

// TestDiskBreakdown prints where the bytes of a closed data directory go,
// per event: files by kind, the catalog's tables, and the sections of
// every sealed block. It measures, it asserts nothing about sizes:
//
//	TRAIL_DISK_DIR=/tmp/disk-b go test -run TestDiskBreakdown -v ./internal/logstore/
func TestDiskBreakdown(t *testing.T) {
	dir := os.Getenv("TRAIL_DISK_DIR")
	if dir == "" {
		t.Skip("TRAIL_DISK_DIR is not set")
	}
	files := map[string]int64{}
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		kind := rel
		if i := strings.IndexByte(rel, '/'); i >= 0 {
			kind = rel[:i] + "/"
		}
		files[kind] += fi.Size()
		total += fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.OpenDB(filepath.Join(dir, "catalog.db"), 16, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var events, nblocks int64
	if err := db.QueryRow(`SELECT COALESCE(SUM(n), 0), COUNT(*) FROM blocks`).Scan(&events, &nblocks); err != nil {
		t.Fatal(err)
	}
	per := func(n int64) string {
		return fmt.Sprintf("%8.2f B/event  %12d B", float64(n)/float64(max(events, 1)), n)
	}
	t.Logf("%d sealed events in %d blocks; every file: %s", events, nblocks, per(total))
	for _, k := range sortedKeys(files) {
		t.Logf("  file %-24s %s", k, per(files[k]))
	}
	tables := map[string]int64{}
	rows, err := db.Query(`SELECT name, SUM(pgsize) FROM dbstat GROUP BY name`)
	if err == nil {
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				t.Fatal(err)
			}
			tables[name] = n
		}
		rows.Close()
		for _, k := range sortedKeys(tables) {
			t.Logf("  catalog table %-18s %s", k, per(tables[k]))
		}
	} else {
		t.Logf("  (no dbstat: %v)", err)
	}
	blockBreakdown(t, dir, db, per)
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return m[out[i]] > m[out[j]] })
	return out
}

// blockBreakdown sums the sections of every block listed in the catalog.
func blockBreakdown(t *testing.T, dir string, db *sql.DB, per func(int64) string) {
	rows, err := db.Query(`SELECT n, file, off, len FROM blocks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	parts := map[string]int64{}
	var small, smallEvents, raw, wholeHashes, bitsBytes int64
	versions := map[byte]int64{}
	fh := map[int64]*os.File{}
	for rows.Next() {
		var n, file, off, size int64
		if err := rows.Scan(&n, &file, &off, &size); err != nil {
			t.Fatal(err)
		}
		f := fh[file]
		if f == nil {
			if f, err = os.Open(filepath.Join(dir, "blocks", blockFileName(file))); err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fh[file] = f
		}
		b := make([]byte, size)
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		h, hl, err := decodeHeader(b, size)
		if err != nil {
			t.Fatal(err)
		}
		versions[h.version] += n
		if n < 1024 {
			small++
			smallEvents += n
		}
		parts["prefix"] += blockPrefix
		inHeader := h.version < 3 // a format 3 block's filter is in its catalog summary
		blockSum := int64(len(h.sum.encode(nil, true, inHeader)))
		if inHeader {
			parts["header: block filter"] += int64(len(appendBytes(nil, h.sum.filter)))
			blockSum -= int64(len(appendBytes(nil, h.sum.filter)))
		}
		parts["header: block summary (no filter)"] += blockSum
		var pageFilters, pageSums int64
		for _, p := range h.pages {
			pageFilters += int64(len(appendBytes(nil, p.sum.filter)))
			pageSums += int64(len(p.sum.encode(nil, false, true)))
		}
		pageSums -= pageFilters
		parts["header: page filters"] += pageFilters
		parts["header: page summaries (no filter)"] += pageSums
		parts["header: rest"] += int64(hl) - int64(len(h.sum.encode(nil, true, inHeader))) - pageFilters - pageSums
		ids := h.idsSize()
		parts["ids"] += ids
		if h.version >= 4 {
			// The part past the id hashes: hash bits and whole hashes.
			x, err := decodeIDs(b[blockPrefix+hl:int64(blockPrefix+hl)+ids], h.version, h.n)
			if err != nil {
				t.Fatal(err)
			}
			bitsBytes += ids - 4*int64(h.n)
			wholeHashes += int64(len(x.full))
		}
		parts["pairs"] += h.pairs.size
		parts["dict"] += h.dict.size
		parts["columns"] += h.columns.size
		parts["pages"] += size - h.pages[0].off
		for i := range h.pages {
			p := &h.pages[i]
			evs, _, err := decodePage(b[p.off:p.off+p.size], h.version, &h.pages[i], nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				raw += int64(len(e))
			}
		}
	}
	var sum int64
	for _, v := range parts {
		sum += v
	}
	t.Logf("blocks: %s (versions %v; %d blocks of < 1024 events hold %d events)", per(sum), versions, small, smallEvents)
	if versions[4] > 0 {
		t.Logf("format 4 id sections: %s past the id hashes (hash bits, %d whole content hashes, lengths, CRCs)", per(bitsBytes), wholeHashes)
	}
	for _, k := range sortedKeys(parts) {
		t.Logf("  %-36s %s", k, per(parts[k]))
	}
	t.Logf("canonical bytes of the events: %s (pages compress them %.2f×)", per(raw), float64(raw)/float64(max(parts["pages"], 1)))
}

// TestQueryCPU prints the CPU time of first-page queries (50 events,
// newest first, org bench) on each of several closed data directories,
// the least of six runs after two, the directories taken in turn: an
// A/B of formats or page sizes on the same events. It asserts nothing:
//
//	TRAIL_QUERY_DIRS=/tmp/a,/tmp/b go test -run TestQueryCPU -v ./internal/logstore/
func TestQueryCPU(t *testing.T) {
	dirs := strings.Split(os.Getenv("TRAIL_QUERY_DIRS"), ",")
	if dirs[0] == "" {
		t.Skip("a measurement, not a check: set TRAIL_QUERY_DIRS to data directories to compare")
	}
	var stores []*Store
	for _, d := range dirs {
		s, err := Open(d, Options{ManualSeal: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	qs := []string{"type:org.remove_user", "type:billing.*", "category:organization", "actor:chen.wei", "target:acme/llama-finetune",
		"country:BR", "created:2026-09-24", "-type:org.sso_login", "internal", "run1", `"Support assistant"`, "type:repo.create actor:jonas acme"}
	for _, q := range qs {
		f, err := query.Parse(q, query.Options{})
		if err != nil {
			t.Fatal(err)
		}
		best := make([]time.Duration, len(stores))
		for rep := 0; rep < 8; rep++ {
			for i, s := range stores {
				start := cpuTime()
				if _, err := s.Query(context.Background(), "bench", audit.Query{Filter: f, Before: -1, After: -1, Limit: 50}); err != nil {
					t.Fatal(err)
				}
				if el := cpuTime() - start; rep == 1 || (rep > 1 && el < best[i]) {
					best[i] = el
				}
			}
		}
		line := ""
		for i := range stores {
			line += "  " + best[i].Round(10*time.Microsecond).String()
		}
		t.Logf("%-40q %s", q, line)
	}
}

// TestSummaryRebuildCPU prints the CPU time of opening a closed
// directory (TRAIL_REBUILD_DIR) twice: run it on a copy whose
// blocks.summary column was set to NULL to see what rebuilding every
// summary costs (format 3: the block filter from the events), then the
// Open that finds them stored.
func TestSummaryRebuildCPU(t *testing.T) {
	dir := os.Getenv("TRAIL_REBUILD_DIR")
	if dir == "" {
		t.Skip("a measurement, not a check: set TRAIL_REBUILD_DIR to a data directory")
	}
	for _, pass := range []string{"first Open", "second Open"} {
		start := cpuTime()
		s, err := Open(dir, Options{ManualSeal: true})
		if err != nil {
			t.Fatal(err)
		}
		el := cpuTime() - start
		blocks, events := 0, int64(0)
		for _, o := range s.orgList() {
			for _, b := range o.view().blocks {
				blocks++
				events += b.n
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v CPU (%d blocks, %d events)", pass, el.Round(time.Millisecond), blocks, events)
	}
}
