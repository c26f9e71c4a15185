// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/query"
)

// sumOpts makes 16 blocks of the fixture's 968 events, pages of 8.
var sumOpts = Options{BlockEvents: 64, PageEvents: 8, ManualSeal: true}

// v1FixtureEvents reads the v1store fixture's events.
func v1FixtureEvents(t *testing.T) [][]byte {
	t.Helper()
	s, err := Open(copyFixture(t, filepath.Join("testdata", "v1store")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var events [][]byte
	if err := s.Scan(context.Background(), "bench", 0, 1<<62, audit.Filter{}, func(_ int64, data []byte) error {
		events = append(events, slices.Clone(data))
		return nil
	}); err != nil || len(events) != 968 {
		t.Fatalf("read %d events of 968: %v", len(events), err)
	}
	return events
}

// sealedFixture writes the fixture's events into a new directory in
// blocks of 64, and closes it.
func sealedFixture(t *testing.T, events [][]byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := openFixture(t, dir, events).Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openFixture writes the fixture's events into dir in blocks of 64.
func openFixture(t *testing.T, dir string, events [][]byte) *Store {
	t.Helper()
	s, err := Open(dir, sumOpts)
	if err != nil {
		t.Fatal(err)
	}
	var imported []Imported
	for seq, data := range events {
		imported = append(imported, Imported{Seq: int64(seq), Data: data, Hash: sha256.Sum256(data)})
	}
	if err := s.Import(context.Background(), "bench", imported); err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// freshHeader decodes b's header from its file (not the cache, whose
// copies leave the block filter to the summary).
func freshHeader(t *testing.T, s *Store, b *blockRef) *blockHeader {
	t.Helper()
	raw, err := s.blocks.read(b, 0, b.size)
	if err != nil {
		t.Fatal(err)
	}
	h, hl, err := decodeHeader(raw, b.size)
	if err != nil {
		t.Fatal(err)
	}
	h.hl = hl
	return h
}

// wantSums checks that every block of org has a summary, equal to the
// one its header gives.
func wantSums(t *testing.T, s *Store, org string) {
	t.Helper()
	for _, b := range s.org(org).view().blocks {
		if b.sum == nil {
			t.Fatalf("block %d+%d has no summary", b.first, b.n)
		}
		want := sumOf(freshHeader(t, s, b), s.cat.strs)
		if want.version >= 3 {
			// The header holds no block filter: the one made again
			// from the block's events.
			if want.filter != nil {
				t.Fatalf("block %d+%d: a format %d header holds a block filter", b.first, b.n, want.version)
			}
			again, err := s.rebuildSummary(b)
			if err != nil {
				t.Fatal(err)
			}
			want.filter = again.filter
		}
		if !reflect.DeepEqual(b.sum, want) {
			t.Fatalf("block %d+%d: summary %+v, its header (and events) give %+v", b.first, b.n, b.sum, want)
		}
	}
}

// wantQueries runs the fixture's searches newest first over the events
// from seq from on, with the blocks' summaries and without them (every
// block's header read and tested instead), against an exact test of
// every event.
func wantQueries(t *testing.T, s *Store, events [][]byte, from int64, qs []string) {
	t.Helper()
	run := func(f audit.Filter) []int64 {
		p, err := s.Query(context.Background(), "bench", audit.Query{Filter: f, Before: -1, After: -1, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		return p.Seqs
	}
	blocks := s.org("bench").view().blocks
	sums := make([]*blockSum, len(blocks))
	for i, b := range blocks {
		sums[i] = b.sum
	}
	for _, q := range qs {
		f, err := query.Parse(q, query.Options{})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		m := compile(f)
		var want []int64
		for seq := int64(len(events)) - 1; seq >= from; seq-- {
			d, err := scanDoc(events[seq])
			if err != nil {
				t.Fatal(err)
			}
			if !m.none && (m.empty || m.match(d)) {
				want = append(want, seq)
			}
		}
		if got := run(f); !slices.Equal(got, want) {
			t.Errorf("%q with summaries: %v, want %v", q, got, want)
		}
		s.blocks.dropHeaders()
		for _, b := range blocks {
			b.sum = nil
		}
		if got := run(f); !slices.Equal(got, want) {
			t.Errorf("%q without summaries: %v, want %v", q, got, want)
		}
		s.blocks.dropHeaders()
		for i, b := range blocks {
			b.sum = sums[i]
		}
	}
}

// TestSummariesKept: each seal stores its block's summary; Open reads
// them and no block but each org's last (which it checks), rebuilds
// nothing, and searches answer as an exact test does, with a header
// cache of 2.
func TestSummariesKept(t *testing.T) {
	events := v1FixtureEvents(t)
	dir := sealedFixture(t, events)
	defer func(n int) { maxHeaders = n }(maxHeaders)
	maxHeaders = 2
	for range 2 {
		s, err := Open(dir, sumOpts)
		if err != nil {
			t.Fatal(err)
		}
		if s.rebuiltSums != 0 {
			t.Errorf("Open rebuilt %d summaries, want 0", s.rebuiltSums)
		}
		if n := len(s.blocks.cached); n != 1 {
			t.Errorf("Open read %d block headers, want 1 (the last block, checked)", n)
		}
		if n := len(s.org("bench").view().blocks); n != 16 {
			t.Fatalf("%d blocks, want 16", n)
		}
		wantSums(t, s, "bench")
		wantQueries(t, s, events, 0, fixtureQueries(events))
		// A proof's leaves and a lookup by id place their pages by the
		// summaries: no header is read.
		s.blocks.dropHeaders()
		if _, _, err := s.Event(context.Background(), "bench", eventID(events[100])); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ReadHashes(context.Background(), "bench", []int64{0, 100, 967}); err != nil {
			t.Fatal(err)
		}
		if n := len(s.blocks.cached); n != 0 {
			t.Errorf("a lookup by id and leaf hashes read %d block headers, want 0", n)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSummariesRebuilt: summaries missing (a catalog written before they
// were kept, with or without the column), damaged, of another version or
// describing another block are rebuilt from the headers at Open, never
// used, stored again, and the next Open reads them.
func TestSummariesRebuilt(t *testing.T) {
	events := v1FixtureEvents(t)
	for name, c := range map[string]struct {
		sql     string
		rebuilt int
	}{
		"no column":       {`ALTER TABLE blocks DROP COLUMN summary`, 16},
		"missing":         {`UPDATE blocks SET summary = NULL`, 16},
		"one missing":     {`UPDATE blocks SET summary = NULL WHERE first = 640`, 1},
		"damaged":         {`UPDATE blocks SET summary = substr(summary, 1, 10) || x'ff' || substr(summary, 12) WHERE first = 320`, 1},
		"cut short":       {`UPDATE blocks SET summary = substr(summary, 1, 40) WHERE first = 320`, 1},
		"empty":           {`UPDATE blocks SET summary = x'' WHERE first = 0`, 1},
		"other version":   {`UPDATE blocks SET summary = x'09' || substr(summary, 2)`, 16},
		"unknown value":   {`UPDATE strs SET id = id + 1000`, 16},
		"another block's": {`UPDATE blocks SET summary = (SELECT summary FROM blocks WHERE first = 0) WHERE first = 64`, 1},
	} {
		t.Run(name, func(t *testing.T) {
			dir := sealedFixture(t, events)
			cat, err := openCatalog(filepath.Join(dir, CatalogFile))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cat.w.Exec(c.sql); err != nil {
				t.Fatal(err)
			}
			cat.close()
			for _, want := range []int{c.rebuilt, 0} {
				s, err := Open(dir, sumOpts)
				if err != nil {
					t.Fatal(err)
				}
				if s.rebuiltSums != want {
					t.Errorf("Open rebuilt %d summaries, want %d", s.rebuiltSums, want)
				}
				wantSums(t, s, "bench")
				wantQueries(t, s, events, 0, fixtureQueries(events)[:12])
				s.Close()
			}
		})
	}
}

// TestSummariesOlderVersions: summaries of version 1 (written by earlier
// binaries: the sets' values spelled out) and 2 (the values named by
// their row in strs, no pages' sets) are read as they are, not rebuilt
// from the blocks' events, and given their pages' sets from the blocks'
// headers at the owner's Open, which stores them again in version 3;
// the next Open upgrades nothing.
func TestSummariesOlderVersions(t *testing.T) {
	events := v1FixtureEvents(t)
	for _, v := range []byte{1, 2} {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) {
			dir := sealedFixture(t, events)
			cat, err := openCatalog(filepath.Join(dir, CatalogFile))
			if err != nil {
				t.Fatal(err)
			}
			if got := summaryVersions(t, cat); !maps.Equal(got, map[byte]int{summaryVersion: 16}) {
				t.Fatalf("summaries of each version %v, want 16 of version %d", got, summaryVersion)
			}
			storeSummariesAs(t, cat, v)
			if got := summaryVersions(t, cat); !maps.Equal(got, map[byte]int{v: 16}) {
				t.Fatalf("summaries of each version %v, want 16 of version %d", got, v)
			}
			cat.close()
			for _, want := range []int{16, 0} {
				s, err := Open(dir, sumOpts)
				if err != nil {
					t.Fatal(err)
				}
				if s.rebuiltSums != 0 || s.upgradedSums != want {
					t.Errorf("Open rebuilt %d and upgraded %d summaries of version %d, want 0 and %d", s.rebuiltSums, s.upgradedSums, v, want)
				}
				wantSums(t, s, "bench")
				wantQueries(t, s, events, 0, fixtureQueries(events)[:12])
				if got := summaryVersions(t, s.cat); !maps.Equal(got, map[byte]int{summaryVersion: 16}) {
					t.Errorf("after Open, summaries of each version %v, want 16 of version %d", got, summaryVersion)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// storeSummariesAs stores the catalog's block summaries again in
// version v (1 or 2), as earlier binaries wrote them.
func storeSummariesAs(t *testing.T, cat *catalog, v byte) {
	t.Helper()
	rows, err := cat.w.Query(`SELECT org, first, n, file, off, len, summary FROM blocks`)
	if err != nil {
		t.Fatal(err)
	}
	var old [][]any
	for rows.Next() {
		var org int64
		var data []byte
		b := &blockRef{}
		if err := rows.Scan(&org, &b.first, &b.n, &b.file, &b.off, &b.size, &data); err != nil {
			t.Fatal(err)
		}
		if b.sum, err = decodeBlockSum(org, b, data, cat.strs); err != nil {
			t.Fatal(err)
		}
		enc := encodeSummaryV1(org, b, cat.strs)
		if v == 2 {
			b.sum.pageBits = nil
			enc = encodeSummary(org, b, cat.strs.catID)
		}
		old = append(old, []any{enc, org, b.first})
	}
	rows.Close()
	for _, args := range old {
		if _, err := cat.w.Exec(`UPDATE blocks SET summary = ? WHERE org = ? AND first = ?`, args...); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSummaryUpgradeOfADamagedHeader: a version 2 summary whose block's
// header cannot be read at Open keeps its row's summary (without pages'
// sets: its blocks are still tested before any read), is not stored
// again, and a search reaching the block fails naming it; the others are
// upgraded.
func TestSummaryUpgradeOfADamagedHeader(t *testing.T) {
	events := v1FixtureEvents(t)
	dir := sealedFixture(t, events)
	cat, err := openCatalog(filepath.Join(dir, CatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	storeSummariesAs(t, cat, 2)
	var file, off int64
	if err := cat.w.QueryRow(`SELECT file, off FROM blocks WHERE first = 320`).Scan(&file, &off); err != nil {
		t.Fatal(err)
	}
	cat.close()
	f, err := os.OpenFile(filepath.Join(dir, "blocks", blockFileName(file)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0}
	if _, err := f.ReadAt(b, off+blockPrefix+1); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off+blockPrefix+1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s, err := Open(dir, sumOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.rebuiltSums != 0 || s.upgradedSums != 15 {
		t.Errorf("Open rebuilt %d and upgraded %d summaries, want 0 and 15", s.rebuiltSums, s.upgradedSums)
	}
	for _, b := range s.org("bench").view().blocks {
		if b.first == 320 && (b.sum == nil || b.sum.pageBits != nil) {
			t.Fatalf("the block whose header is damaged: summary %+v, want its row's, without pages' sets", b.sum)
		}
	}
	if got := summaryVersions(t, s.cat); !maps.Equal(got, map[byte]int{2: 1, summaryVersion: 15}) {
		t.Errorf("summaries of each version %v, want 1 of version 2 and 15 of version %d", got, summaryVersion)
	}
	f2, err := query.Parse("type:"+eventType(t, events[320]), query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Query(context.Background(), "bench", audit.Query{Filter: f2, Before: -1, After: -1, Limit: 100000})
	if err == nil || !strings.Contains(err.Error(), "320") {
		t.Errorf("a search reaching the damaged block: %v, want an error naming it", err)
	}
}

// eventType is the type of an event's canonical bytes.
func eventType(t *testing.T, data []byte) string {
	var ev audit.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	return ev.Type
}

// summaryVersions counts the catalog's block summaries by version.
func summaryVersions(t *testing.T, cat *catalog) map[byte]int {
	t.Helper()
	rows, err := cat.w.Query(`SELECT summary FROM blocks`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[byte]int{}
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		got[data[0]]++
	}
	return got
}

// encodeSummaryV1 is a summary as binaries before version 2 stored it:
// the values spelled out.
func encodeSummaryV1(org int64, b *blockRef, tab *strTable) []byte {
	return appendSummary(org, b, 1, func(out []byte, i uint32) []byte { return appendBytes(out, []byte(tab.str(i))) })
}

// TestSummariesOfTheFormat1Fixture: the committed fixture's catalog
// (written before summaries were kept) gets its blocks' summaries at the
// first Open, from their format 1 headers; the next Open reads them.
func TestSummariesOfTheFormat1Fixture(t *testing.T) {
	dir := copyFixture(t, filepath.Join("testdata", "v1store"))
	events := v1FixtureEvents(t)
	for _, want := range []int{5, 0} {
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if s.rebuiltSums != want {
			t.Errorf("Open rebuilt %d summaries, want %d", s.rebuiltSums, want)
		}
		wantSums(t, s, "bench")
		wantQueries(t, s, events, 0, fixtureQueries(events))
		s.Close()
	}
}

// TestSummariesAfterPruneAndErasure: pruning drops the pruned blocks'
// summaries with their rows; an erasure stores the rewritten block's
// summary (a word or type only the new bytes hold is found); a reopen
// rebuilds nothing and answers the same.
func TestSummariesAfterPruneAndErasure(t *testing.T) {
	events := v1FixtureEvents(t)
	dir := t.TempDir()
	s := openFixture(t, dir, events)
	ctx := context.Background()
	// Prune the blocks received before the 5th block's last event.
	b4 := s.org("bench").view().blocks[4]
	res, err := s.Prune(ctx, "bench", time.UnixMicro(b4.sum.maxRec+1))
	if err != nil {
		t.Fatal(err)
	}
	if res.To < 64 {
		t.Fatalf("pruned [%d, %d): want whole blocks", res.From, res.To)
	}
	// Erase an event of a middle block: its new bytes have a type and a
	// word no other event has.
	const seq = 700
	var ev audit.Event
	if err := json.Unmarshal(events[seq], &ev); err != nil {
		t.Fatal(err)
	}
	ev.Type, ev.Description = "zzz.erased", "zanzibar "+audit.Erased
	ev.Actor.ID, ev.Actor.Name = audit.Erased, audit.Erased
	events[seq] = ev.AppendCanonical(nil)
	if err := s.Redact(ctx, "bench", []audit.Redaction{{Seq: seq, Data: events[seq], Event: &ev}}); err != nil {
		t.Fatal(err)
	}
	qs := append(fixtureQueries(events)[:12], "zanzibar", "type:zzz.erased", "type:zzz.*", "-type:zzz.erased", "actor:"+audit.Erased)
	check := func(s *Store) {
		t.Helper()
		wantSums(t, s, "bench")
		wantQueries(t, s, events, res.To, qs)
		for _, q := range []string{"zanzibar", "type:zzz.erased"} {
			f, _ := query.Parse(q, query.Options{})
			if p, err := s.Query(ctx, "bench", audit.Query{Filter: f, Before: -1, After: -1, Limit: 10}); err != nil || !slices.Equal(p.Seqs, []int64{seq}) {
				t.Errorf("%q after the erasure: %v, %v; want [%d]", q, p.Seqs, err, seq)
			}
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, sumOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.rebuiltSums != 0 {
		t.Errorf("Open after pruning and erasing rebuilt %d summaries, want 0", s.rebuiltSums)
	}
	var rows int
	if err := s.cat.r.QueryRow(`SELECT count(*) FROM blocks WHERE summary IS NOT NULL`).Scan(&rows); err != nil || rows != len(s.org("bench").view().blocks) {
		t.Errorf("%d summaries in the catalog (%v), want one per block", rows, err)
	}
	check(s)
	if !strings.Contains(string(events[seq]), "zanzibar") {
		t.Fatal("the erased event lost its word")
	}
}

// TestFieldsMay: the substring pre-test of type, category and country
// terms (plain values) and of actor and target terms (literal values)
// never rejects an event that matches (an escaped value may match), and
// is off for negations and other values.
func TestFieldsMay(t *testing.T) {
	ev := testEvent("acme", 1)
	ev.Type, ev.Category = "billing.charge", "billing"
	ev.Location = &audit.Location{CountryCode: "FR", Country: "France"}
	data := ev.AppendCanonical(nil)
	// escaped: the type with a \u escape and the target's '/' as "\/";
	// slashed: only the latter (which no plain value can hide behind).
	slashed := []byte(strings.Replace(string(data), `"acme/model-1"`, `"acme\/model-1"`, 1))
	escaped := []byte(strings.Replace(string(slashed), `"type":"billing.charge"`, `"type":"\u0062illing.charge"`, 1))
	if string(escaped) == string(slashed) || string(slashed) == string(data) {
		t.Fatal("the test event has no type or target to escape")
	}
	for _, c := range []struct {
		q                  string
		plain              bool
		data, esc, slashed bool // fieldsMay of the bytes, the escaped and the slashed bytes
	}{
		{"type:billing.charge", true, true, true, true},
		{"type:billing.*", true, true, true, true},
		{"type:repo.create", true, false, true, false},
		{"type:repo.create,billing.charge", true, true, true, true},
		{"category:billing country:FR", true, true, true, true},
		{"country:US", true, false, true, false},
		{"-type:billing.charge", false, true, true, true},
		{"actor:alice", true, true, true, true},
		{"actor:bob", true, false, true, true},
		{"target:acme/model-1", true, true, true, true},
		{"target:acme/model-2", true, false, true, true},
		{"target:acme/model-2 type:billing.charge", true, false, true, true},
		{"target:acme/model-1 type:repo.create", true, false, true, false},
		{`target:"acme model"`, true, false, true, true},
		{"-target:acme/model-1", false, true, true, true},
		{"actor:zürich", false, true, true, true},
	} {
		f, err := query.Parse(c.q, query.Options{})
		if err != nil {
			t.Fatal(err)
		}
		m := compile(f)
		if m.plain != c.plain {
			t.Errorf("%q: plain %v, want %v", c.q, m.plain, c.plain)
			continue
		}
		if !m.plain {
			continue
		}
		for _, b := range []struct {
			name string
			data []byte
			want bool
		}{{"", data, c.data}, {" on escaped bytes", escaped, c.esc}, {" on slashed bytes", slashed, c.slashed}} {
			if got := m.fieldsMay(b.data); got != b.want {
				t.Errorf("%q%s: fieldsMay = %v, want %v", c.q, b.name, got, b.want)
			}
			d, err := scanDoc(b.data)
			if err != nil {
				t.Fatal(err)
			}
			if m.match(d) && !m.fieldsMay(b.data) {
				t.Errorf("%q%s: an event that matches is rejected", c.q, b.name)
			}
		}
	}
	for _, v := range []string{"bill ing", "zürich", `a"b`, ""} {
		if m := compile(audit.Filter{Terms: []audit.Term{{Field: audit.FieldCategory, Value: "billing", Or: []string{v}}}}); m.plain {
			t.Errorf("category billing or %q: the values are taken as plain", v)
		}
	}
	for _, v := range []string{"zürich", `a"b`, `a\b`, "a\tb", ""} {
		if m := compile(audit.Filter{Terms: []audit.Term{{Field: audit.FieldTarget, Value: "acme/x", Or: []string{v}}}}); m.plain {
			t.Errorf("target acme/x or %q: the values are taken as literal", v)
		}
	}
}

// TestSummaryOfADamagedBlock: a format 3 block whose summary row is lost
// and whose last page is damaged gets no summary at Open (its block
// filter cannot be made again from its events), and a search that may
// match its events reads it and fails naming it: its header, which holds
// no block filter, never skips it.
func TestSummaryOfADamagedBlock(t *testing.T) {
	events := v1FixtureEvents(t)
	dir := sealedFixture(t, events)
	cat, err := openCatalog(filepath.Join(dir, CatalogFile))
	if err != nil {
		t.Fatal(err)
	}
	var file, off, size int64
	if err := cat.w.QueryRow(`SELECT file, off, len FROM blocks WHERE first = 320`).Scan(&file, &off, &size); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.w.Exec(`UPDATE blocks SET summary = NULL WHERE first = 320`); err != nil {
		t.Fatal(err)
	}
	cat.close()
	f, err := os.OpenFile(filepath.Join(dir, "blocks", blockFileName(file)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, off+size-1); err != nil {
		t.Fatal(err)
	}
	last[0] ^= 0xff
	if _, err := f.WriteAt(last, off+size-1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s, err := Open(dir, sumOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.rebuiltSums != 0 {
		t.Errorf("Open rebuilt %d summaries, want 0", s.rebuiltSums)
	}
	for _, b := range s.org("bench").view().blocks {
		if b.first == 320 && b.sum != nil {
			t.Fatalf("the damaged block has a summary: %+v", b.sum)
		}
	}
	var ev struct{ Actor struct{ ID string } }
	if err := json.Unmarshal(events[383], &ev); err != nil {
		t.Fatal(err)
	}
	f2, err := query.Parse("actor:"+quote(ev.Actor.ID), query.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Query(context.Background(), "bench", audit.Query{Filter: f2, Before: -1, After: -1, Limit: 100000})
	if err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a search for %s over the damaged block: %v, want an error naming it", ev.Actor.ID, err)
	}
}

// TestRedactAfterQuietOpen: an erasure right after an Open that replayed
// nothing (every event sealed before the close) rotates the log: Seal
// gives back the segment before the new, empty one, so sealOut does not
// give up with "the write-ahead log kept turning over".
func TestRedactAfterQuietOpen(t *testing.T) {
	events := v1FixtureEvents(t)
	dir := t.TempDir()
	openFixture(t, dir, events).Close()
	s, err := Open(dir, sumOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const seq = 300
	var ev audit.Event
	if err := json.Unmarshal(events[seq], &ev); err != nil {
		t.Fatal(err)
	}
	ev.Actor.ID, ev.Actor.Name = audit.Erased, audit.Erased
	data := ev.AppendCanonical(nil)
	if err := s.Redact(context.Background(), "bench", []audit.Redaction{{Seq: seq, Data: data, Event: &ev}}); err != nil {
		t.Fatalf("Redact after a quiet Open: %v", err)
	}
	_, got, err := s.Event(context.Background(), "bench", ev.ID)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("event %d after the erasure: %v\n%s\nwant\n%s", seq, err, got, data)
	}
}

// TestSetWalksReadNoHeader: a search whose terms are all type, category
// or country terms picks a block's pages by the pages' sets in its
// summary and reads no block header (summary version 3), in both orders
// and from a seq inside the log; one with another term reads headers
// (so that the count is known to see them). Both answer as an exact
// test of every event does.
func TestSetWalksReadNoHeader(t *testing.T) {
	events := v1FixtureEvents(t)
	s, err := Open(sealedFixture(t, events), sumOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	<-s.warmed // Open's pass over the id sections reads headers too
	var ev audit.Event
	json.Unmarshal(events[len(events)/3], &ev)
	sets := []string{"type:repo.create", "type:billing.*", "category:billing", "-category:content", "-country:US,FR", "type:" + ev.Type, "type:" + ev.Type + ",repo.create", "-type:" + ev.Type, "category:" + ev.Category}
	if ev.Location != nil && ev.Location.CountryCode != "" {
		sets = append(sets, "country:"+ev.Location.CountryCode)
	}
	others := []string{"actor:olivia", "type:repo.create actor:alice", "llama", "category:billing type:billing.*"}
	for _, q := range append(sets, others...) {
		f, err := query.Parse(q, query.Options{})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		m := compile(f)
		var want []int64
		for seq := len(events) - 1; seq >= 0; seq-- {
			d, err := scanDoc(events[seq])
			if err != nil {
				t.Fatal(err)
			}
			if m.match(d) {
				want = append(want, int64(seq))
			}
		}
		s.blocks.dropHeaders()
		before := headerReads.Load()
		for _, order := range []audit.Order{audit.Desc, audit.Asc} {
			for _, after := range []int64{-1, int64(len(events) / 2)} {
				p, err := s.Query(context.Background(), "bench", audit.Query{Filter: f, Order: order, Before: -1, After: after, Limit: 100000})
				if err != nil {
					t.Fatal(err)
				}
				w := slices.DeleteFunc(slices.Clone(want), func(seq int64) bool { return seq <= after })
				if order == audit.Asc {
					slices.Reverse(w)
				}
				if !slices.Equal(p.Seqs, w) {
					t.Errorf("%q %v after %d: %v, want %v", q, order, after, p.Seqs, w)
				}
			}
		}
		reads := headerReads.Load() - before
		if len(want) == 0 {
			t.Fatalf("%q matches no event of the fixture: pick another", q)
		}
		if set := slices.Contains(sets, q); set && reads != 0 {
			t.Errorf("%q read %d block headers, want none", q, reads)
		} else if !set && reads == 0 {
			t.Errorf("%q read no block header: the count does not see them", q)
		}
	}
}
