// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"maps"
	"path/filepath"
	"testing"
	"time"
)

// TestCountsRows: a counts row gives back exactly the counts of its span
// (days before 1970 too), and only those > 0.
func TestCountsRows(t *testing.T) {
	m := map[dayCat]int64{
		{-300, "billing"}: 2, {-257, "billing"}: 1, {-256, "jobs"}: 5, {-1, "billing"}: 1,
		{0, "jobs"}: 1, {255, "jobs"}: 1 << 40, {255, "billing"}: 3, {256, "jobs"}: 7, {20613, "organization"}: 1,
		{1, "gone"}: 0, {2, "gone"}: -1,
	}
	got := map[dayCat]int64{}
	for _, span := range []int64{-2, -1, 0, 1, 80} {
		if data := encodeCounts(span, m); data != nil {
			if err := decodeCounts(span, data, got); err != nil {
				t.Fatalf("span %d: %v", span, err)
			}
		}
	}
	want := maps.Clone(m)
	delete(want, dayCat{1, "gone"})
	delete(want, dayCat{2, "gone"})
	if !maps.Equal(got, want) {
		t.Errorf("decoded %v, want %v", got, want)
	}
	data := encodeCounts(0, m)
	for i := range data {
		if err := decodeCounts(0, data[:i], map[dayCat]int64{}); err == nil {
			t.Errorf("a row cut to %d of %d bytes decodes", i, len(data))
		}
	}
}

// TestDailyCountsConverted: the daily table of a catalog written by an
// earlier binary (format version 1: the fixtures) is read as it is by a
// reader beside the owner, converted into counts rows by the owner's
// Open (its blocks table kept as it is: WITHOUT ROWID; a new catalog's
// is a rowid table), and the counts are those of the stored events
// throughout; a prune takes its blocks' counts out of the rows.
func TestDailyCountsConverted(t *testing.T) {
	fresh := t.TempDir()
	if s, err := Open(fresh, Options{ManualSeal: true}); err != nil {
		t.Fatal(err)
	} else {
		s.Close()
	}
	if v, _, rowid := catalogFormat(t, fresh); v != 2 || !rowid {
		t.Fatalf("a new catalog: format %d, blocks a rowid table %v; want 2, true", v, rowid)
	}
	for _, fixture := range []string{"v1store", "v2store"} {
		t.Run(fixture, func(t *testing.T) {
			dir := copyFixture(t, filepath.Join("testdata", fixture))
			lock, busy, err := lockDir(dir) // an owner (an earlier binary)
			if err != nil || busy {
				t.Fatal(busy, err)
			}
			r, err := Open(dir, Options{ManualSeal: true})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Reader() {
				t.Fatal("not a reader beside the owner")
			}
			want := eventCounts(t, fixtureEvents(t, r))
			wantCounts(t, r, "a reader of the format 1 catalog", want)
			r.Close()
			lock.Close()
			if v, rows, rowid := catalogFormat(t, dir); v != 1 || rows == 0 || rowid {
				t.Fatalf("a reader changed the catalog: format %d, %d daily rows, blocks a rowid table %v", v, rows, rowid)
			}
			for i := range 2 {
				s, err := Open(dir, Options{ManualSeal: true})
				if err != nil {
					t.Fatal(err)
				}
				wantCounts(t, s, "the owner", want)
				if i == 1 {
					// Prune the first block: its events' counts go.
					h, err := s.blocks.header(s.org("bench").blocks[0])
					if err != nil {
						t.Fatal(err)
					}
					events := fixtureEvents(t, s)
					res, err := s.Prune(context.Background(), "bench", time.UnixMicro(h.sum.maxRec+1))
					if err != nil || res.To == 0 {
						t.Fatalf("pruning the first block: %+v, %v", res, err)
					}
					want = eventCounts(t, events[res.To:])
					wantCounts(t, s, "after a prune", want)
				}
				s.Close()
				if v, rows, rowid := catalogFormat(t, dir); v != 2 || rows != 0 || rowid {
					t.Fatalf("after the owner's Open: format %d, %d daily rows, blocks a rowid table %v; want 2, 0, false (kept)", v, rows, rowid)
				}
			}
			s, err := Open(dir, Options{ManualSeal: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			wantCounts(t, s, "reopened after the prune", want)
		})
	}
}

func catalogFormat(t *testing.T, dir string) (version, dailyRows int, rowid bool) {
	t.Helper()
	cat, err := openCatalogAs(filepath.Join(dir, CatalogFile), true)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.close()
	if err := cat.r.QueryRow(`SELECT CAST(value AS INTEGER), (SELECT count(*) FROM daily),
		(SELECT count(*) = 2 FROM sqlite_schema WHERE name IN ('blocks', 'idfilters') AND sql NOT LIKE '%WITHOUT ROWID%') FROM meta WHERE key = 'format_version'`).Scan(&version, &dailyRows, &rowid); err != nil {
		t.Fatal(err)
	}
	return version, dailyRows, rowid
}

// eventCounts counts events by UTC day and category.
func eventCounts(t *testing.T, events [][]byte) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, data := range events {
		d, err := scanFields(data)
		if err != nil {
			t.Fatal(err)
		}
		out[time.UnixMicro(d.occurred).UTC().Format(time.DateOnly)+" "+d.category]++
	}
	return out
}

func wantCounts(t *testing.T, s *Store, what string, want map[string]int64) {
	t.Helper()
	got := map[string]int64{}
	days, err := s.DailyCounts(context.Background(), "bench", time.Unix(-1<<40, 0), time.Unix(1<<40, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range days {
		got[d.Day.Format(time.DateOnly)+" "+d.Category] += d.Count
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s: %d daily counts, want %d, or they differ", what, len(got), len(want))
	}
}
