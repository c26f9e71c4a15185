// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/query"
)

// testdata/v1store is a log directory written by the block format 1
// writer (commit d91cfad, before format 2): 968 demo events of org
// "bench" (demo.Batches for 700 events, seed 1, ids removed, ingested
// through the service), sealed in blocks of 200 events and pages of 16, then closed.
// Its blocks must be read as they were written: the same events, and
// every search answers what an exact test of every event answers, and
// what the same events sealed by the current writer answer.

// copyFixture copies the fixture (Open takes a lock and may cut files).
func copyFixture(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	copyTree(t, src, dst)
	return dst
}

// blockVersions returns the format versions of org's sealed blocks.
func blockVersions(t *testing.T, s *Store, org string) []byte {
	t.Helper()
	var out []byte
	v := s.org(org).view()
	for _, b := range v.blocks {
		h, err := s.blocks.header(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h.version)
	}
	return out
}

// fixtureQueries are searches over the fixture's events: every field,
// lists, negations, words (common, rare, absent, prefixes), phrases and
// conjunctions.
func fixtureQueries(events [][]byte) []string {
	qs := []string{
		"", "type:repo.create", "type:billing.*", "category:billing", "-category:content", "actor:olivia",
		"actor:alice,olivia", "-actor:alice", "country:FR", "-country:US,FR", "target:acme/llama",
		"llama", "lla", "gated", "zebra", "ll", `"changed the role"`, `"the role"`, `"role changed"`,
		"type:repo.create actor:alice llama", "-llama", "alice -llama", "acme llama", `"acme llama" -alice`,
		"hugging", "hugging face", `"hugging face"`, "type:org.* admin", "category:billing -visa",
		"country:FR actor:alice", "category:billing actor:olivia", "-country:FR -actor:alice type:repo.*",
	}
	// Rare words: some target ids (random hex in the demo), whole and cut.
	for i := 0; i < len(events); i += 97 {
		var ev audit.Event
		json.Unmarshal(events[i], &ev)
		for _, t := range ev.Targets {
			if len(t.ID) >= 12 {
				qs = append(qs, t.ID, t.ID[:6], t.ID[:9], t.ID+"x")
			}
		}
		if ev.Actor.Name != "" {
			a := "actor:" + quote(ev.Actor.Name)
			qs = append(qs, a+" "+quote(ev.Type), "type:"+ev.Type+" "+a, "-type:"+ev.Type+" "+a,
				a+" -category:"+ev.Category, "type:"+ev.Type+" -"+a+" country:US,FR")
		}
	}
	return qs
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// seqsOf answers q on the whole log, newest first, and on the oldest
// half ascending in pages of 7 (so walks start and stop inside blocks).
func seqsOf(t *testing.T, s *Store, f audit.Filter) []int64 {
	t.Helper()
	var out []int64
	page, err := s.Query(context.Background(), "bench", audit.Query{Filter: f, Before: -1, After: -1, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, page.Seqs...)
	// Newest first, 5 at a time: walks that stop with pages decoding
	// ahead (walker.queue) give the same events.
	var paged []int64
	for before := int64(-1); ; {
		p, err := s.Query(context.Background(), "bench", audit.Query{Filter: f, Before: before, After: -1, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, p.Seqs...)
		if !p.More || len(p.Seqs) == 0 {
			break
		}
		before = p.Seqs[len(p.Seqs)-1]
	}
	if !slices.Equal(paged, page.Seqs) {
		t.Errorf("%v: newest first 5 at a time: %v, in one page: %v", f, paged, page.Seqs)
	}
	after := int64(-1)
	for {
		p, err := s.Query(context.Background(), "bench", audit.Query{Filter: f, Before: 350, After: after, Limit: 7, Order: audit.Asc})
		if err != nil {
			t.Fatal(err)
		}
		for _, seq := range p.Seqs {
			out = append(out, -1-seq)
			after = seq
		}
		if !p.More {
			return out
		}
	}
}

// exact answers the same by testing every event's doc.
func exact(t *testing.T, events [][]byte, f audit.Filter) []int64 {
	m := compile(f)
	var out, asc []int64
	for seq := len(events) - 1; seq >= 0; seq-- {
		d, err := scanDoc(events[seq])
		if err != nil {
			t.Fatal(err)
		}
		if !m.none && (m.empty || m.match(d)) {
			out = append(out, int64(seq))
			if seq < 350 {
				asc = append(asc, -1-int64(seq))
			}
		}
	}
	slices.Reverse(asc)
	return append(out, asc...)
}

func TestBlockFormat1Fixture(t *testing.T) {
	old, err := Open(copyFixture(t, filepath.Join("testdata", "v1store")), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	checkVersions(t, old, 1, "the fixture")
	events := fixtureEvents(t, old)
	if len(events) != 968 {
		t.Fatalf("read %d events of 968", len(events))
	}
	var imported []Imported
	for seq, data := range events {
		imported = append(imported, Imported{Seq: int64(seq), Data: data, Hash: sha256.Sum256(data)})
	}
	// The same events sealed by this writer, in other block and page sizes.
	cur, err := Open(t.TempDir(), Options{BlockEvents: 128, PageEvents: 8, ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	if err := cur.Import(context.Background(), "bench", imported); err != nil {
		t.Fatal(err)
	}
	sealCurrent(t, cur)
	for seq, want := range events {
		ev, err := eventAt(cur, int64(seq))
		if err != nil || string(ev) != string(want) {
			t.Fatalf("seq %d: the current format gives other bytes (%v)", seq, err)
		}
	}
	checkQueries(t, events, map[string]*Store{"format 1 blocks": old, "current blocks": cur})
}

// sealCurrent seals s, whose blocks must all be of the current format.
func sealCurrent(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkVersions(t, s, blockVersion, "a new block")
}

// checkVersions fails unless every block of org bench in s has format v.
func checkVersions(t *testing.T, s *Store, v byte, what string) {
	t.Helper()
	for _, got := range blockVersions(t, s, "bench") {
		if got != v {
			t.Fatalf("%s has format %d, want %d", what, got, v)
		}
	}
}

// fixtureEvents reads every event of org bench, checking its seq and org.
func fixtureEvents(t *testing.T, s *Store) [][]byte {
	t.Helper()
	var events [][]byte
	err := s.Scan(context.Background(), "bench", 0, 1<<62, audit.Filter{}, func(seq int64, data []byte) error {
		if seq != int64(len(events)) {
			t.Fatalf("seq %d after %d events", seq, len(events))
		}
		events = append(events, slices.Clone(data))
		var ev audit.Event
		if err := json.Unmarshal(data, &ev); err != nil || ev.Org != "bench" || ev.Seq != seq {
			t.Fatalf("seq %d: not the fixture's event (%v): %s", seq, err, data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// checkQueries runs every fixture query on each store and compares the
// answers with an exact test of every event.
func checkQueries(t *testing.T, events [][]byte, stores map[string]*Store) {
	t.Helper()
	for _, q := range fixtureQueries(events) {
		f, err := query.Parse(q, query.Options{})
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		want := exact(t, events, f)
		for name, s := range stores {
			if got := seqsOf(t, s, f); !slices.Equal(got, want) {
				t.Errorf("%q on %s: %v, want %v", q, name, got, want)
			}
		}
	}
}

// eventAt reads one sealed event by seq, placed by the block's header
// and by its summary: both must give the same bytes.
func eventAt(s *Store, seq int64) ([]byte, error) {
	v := s.org("bench").view()
	b := findBlock(v.blocks, seq)
	h, err := s.blocks.header(b)
	if err != nil {
		return nil, err
	}
	p := findPage(h, seq)
	events, err := s.blocks.page(b, h, p)
	if err != nil {
		return nil, err
	}
	viaSum, err := s.blocks.eventAt(b, seq)
	if err != nil {
		return nil, err
	}
	if data := events[seq-h.pages[p].first]; string(viaSum) != string(data) {
		return nil, fmt.Errorf("seq %d: the block's summary places other bytes than its header", seq)
	}
	return viaSum, nil
}

func TestPairHash(t *testing.T) {
	for _, c := range [][2]string{{"changed", "the"}, {"", "x"}, {"zürich", "ünd"}} {
		if pairHash(c[0], c[1]) != keyHash(keyBigram, bigram(c[0], c[1])) {
			t.Errorf("pairHash(%q, %q) is not the bigram's key hash", c[0], c[1])
		}
	}
}
