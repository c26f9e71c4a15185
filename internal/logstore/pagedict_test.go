// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/dict"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
)

// pageDictSHA256 is the SHA-256 of pagedict1.zdict: format 3 pages are
// compressed with it, so its bytes never change (a new dictionary would
// get another file, dictionary ID and block format).
const pageDictSHA256 = "11f594c7be3a415fdae5cebdd56dabd35d9dc9ffb16b88f6f23b08eea8732320"

func TestPageDictUnchanged(t *testing.T) {
	sum := sha256.Sum256(pageDict)
	if got := hex.EncodeToString(sum[:]); got != pageDictSHA256 {
		t.Fatalf("pagedict1.zdict has SHA-256 %s, want %s: format 3 pages need its exact bytes", got, pageDictSHA256)
	}
}

// TestWritePageDict made pagedict1.zdict (with TRAIL_WRITE_PAGEDICT=1): a
// zstd dictionary trained on the skeletons of 20,000 synthetic events
// (internal/demo, seed 99): canonical events whose ids, org, seq, actor
// and target ids and names, addresses, metadata string values and the
// names in descriptions are blanked. What it holds is what the events of
// any deployment share: the canonical encoding's keys, the catalog's
// types, categories, target types, metadata keys and description words,
// client software names, timestamps' form. It holds nobody's data, so an
// erasure or a pruning never has to touch it.
func TestWritePageDict(t *testing.T) {
	if os.Getenv("TRAIL_WRITE_PAGEDICT") != "1" {
		t.Skip("writes pagedict1.zdict: only with TRAIL_WRITE_PAGEDICT=1")
	}
	s, err := Open(t.TempDir(), Options{ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := fixtureService(s)
	defer svc.Close()
	for batch := range demo.Batches(demo.Options{Org: "x", Events: 20000, Seed: 99, Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}) {
		if _, err := svc.Ingest(context.Background(), "x", batch); err != nil {
			t.Fatal(err)
		}
	}
	nets := demo.Networks()
	var samples [][]byte
	err = s.Scan(context.Background(), "x", 0, 1<<62, audit.Filter{}, func(seq int64, data []byte) error {
		samples = append(samples, skeleton(t, data, nets))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dict.BuildZstdDict(samples, dict.Options{MaxDictSize: 32 << 10, HashBytes: 6, ZstdDictID: pageDictID})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("pagedict1.zdict", d, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(d)
	t.Logf("wrote pagedict1.zdict: %d bytes from %d samples, SHA-256 %s", len(d), len(samples), hex.EncodeToString(sum[:]))
}

var metaStringRE = regexp.MustCompile(`:"[^"]*"`)

// skeleton blanks what is particular to one event (TestWritePageDict).
func skeleton(t *testing.T, data []byte, nets []demo.Network) []byte {
	var ev audit.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	names := []string{ev.Actor.ID, ev.Actor.Name}
	ev.ID, ev.Org, ev.Seq = "", "", 0
	ev.Actor.ID, ev.Actor.Name = "", ""
	for i := range ev.Targets {
		names = append(names, ev.Targets[i].ID, ev.Targets[i].Name)
		ev.Targets[i].ID, ev.Targets[i].Name = "", ""
	}
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	for _, n := range names {
		if n != "" {
			ev.Description = strings.ReplaceAll(ev.Description, n, "")
		}
	}
	if ev.Client != nil {
		if a, err := netip.ParseAddr(ev.Client.IP); err == nil {
			for _, n := range nets {
				if n.Prefix.Contains(a) {
					ev.Location = &audit.Location{CountryCode: n.Country}
				}
			}
		}
		ev.Client.IP = ""
	}
	ev.MetadataJSON = metaStringRE.ReplaceAll(ev.MetadataJSON, []byte(`:""`))
	return ev.AppendCanonical(nil)
}

// TestPageSeqs: format 3 pages keep events without their seqs' digits and
// give back the exact bytes, across digit counts; an event that does not
// hold the seq it is sealed at is refused.
func TestPageSeqs(t *testing.T) {
	var in []sealEvent
	for i := range 40 {
		ev := testEvent("acme", i)
		ev.Seq = 990 + int64(i) // 990…1029
		data := ev.AppendCanonical(nil)
		d, _ := parseDoc(data)
		in = append(in, sealEvent{data: data, doc: d, id: ev.ID})
	}
	b, h, err := buildBlock(990, in, 16)
	if err != nil {
		t.Fatal(err)
	}
	for i := range h.pages {
		p := &h.pages[i]
		events, _, err := decodePage(b[p.off:p.off+p.size], h.version, &h.pages[i], nil)
		if err != nil {
			t.Fatal(err)
		}
		for j, e := range events {
			if want := in[int(p.first-990)+j].data; string(e) != string(want) {
				t.Fatalf("seq %d: %s, want %s", p.first+int64(j), e, want)
			}
		}
	}
	if _, _, err := buildBlock(991, in, 16); err == nil {
		t.Fatal("events sealed at seqs they do not hold: no error")
	}
}
