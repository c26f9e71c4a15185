// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
)

// The fuzz targets read outside bytes the way Open and queries do: a log
// record and a block. Seed corpora are in testdata/fuzz; regenerate them
// with TRAIL_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds.
// testdata/fuzz/FuzzBlock/v1-seed-* and v2-seed-* are blocks of formats
// 1 and 2, written by the writers of those formats; they stay in the
// corpus (formats 1 and 2 are read). seed-* are of the current format.

func FuzzWALRecord(f *testing.F) {
	for _, s := range walSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, n, err := readFrame(data)
		if err != nil {
			return
		}
		if n > len(data) || n != frameHeader+len(payload) {
			t.Fatalf("readFrame: length %d of %d bytes", n, len(data))
		}
		if payload[0] == kindClose {
			return
		}
		g, err := decodeGroup(payload)
		if err != nil {
			return
		}
		if again := g.encode(nil); !bytes.Equal(again, payload) {
			t.Fatalf("a decoded record encodes to other bytes")
		}
	})
}

func FuzzBlock(f *testing.F) {
	for _, s := range blockSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, _, err := decodeHeader(data, int64(len(data)))
		if err != nil {
			return
		}
		if _, err := decodeIDs(data[blockPrefix+h.hl:blockPrefix+h.hl+int(h.idsSize())], h.version, h.n); err != nil {
			return
		}
		if h.version >= 2 {
			wf := data[h.pairs.off : h.pairs.off+h.pairs.size]
			if crc32.Checksum(wf, castagnoli) != h.pairs.crc {
				return
			}
			d, err := decodeDict(data[h.dict.off:h.dict.off+h.dict.size], h.dict, len(h.pages))
			if err != nil {
				return
			}
			var words []string
			ok := true
			err = d.each(func(key, list []byte) bool {
				words = append(words, string(key))
				ok = d.addList(list, newPageSet(len(h.pages))) == nil
				return ok
			})
			if err != nil || !ok {
				return
			}
			for _, w := range words {
				if _, err := d.word(w, true); err != nil {
					t.Fatalf("word %q: %v", w, err)
				}
			}
			c, err := decodeColumns(data[h.columns.off:h.columns.off+h.columns.size], h.columns, h)
			if err != nil {
				return
			}
			m := compile(audit.Filter{Terms: []audit.Term{{Field: audit.FieldType, Value: "repo.create"}, {Field: audit.FieldActor, Value: "alice"}}})
			cf := m.columnFilter(c, h)
			for p := range h.pages {
				cf.page(h, p)
			}
		}
		for i := range h.pages {
			p := &h.pages[i]
			events, _, err := decodePage(data[p.off:p.off+p.size], h.version, &h.pages[i], nil)
			if err == nil && len(events) != p.n {
				t.Fatalf("page %d: %d events, header says %d", i, len(events), p.n)
			}
		}
	})
}

func seedEvents(n int) []sealEvent {
	var out []sealEvent
	for i := range n {
		ev := testEvent("acme", i)
		ev.Seq = 7 + int64(i) // blockSeeds' first seq
		data := ev.AppendCanonical(nil)
		d, _ := parseDoc(data)
		// Events whose bytes give their hash back under one of the four
		// bits, and (every third) one whose do not, kept whole.
		bits := hashBits(i*5%4) | bitsKnown
		h, err := storedHash(data, bits)
		if err != nil || i%3 == 2 {
			h, bits = [32]byte{byte(i), 1, 2, 3}, hashFull
		}
		out = append(out, sealEvent{data: data, doc: d, id: ev.ID, hash: h, bits: bits})
	}
	return out
}

func walSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, n := range []int{1, 3} {
		g := walGroup{}
		for _, org := range []string{"acme", "beta"}[:n%2+1] {
			wo := walOrg{name: org, first: int64(n)}
			for _, e := range seedEvents(n) {
				wo.events = append(wo.events, walEvent{data: e.data})
			}
			g.orgs = append(g.orgs, wo)
		}
		seeds = append(seeds, appendFrame(nil, g.encode(nil)))
	}
	return append(seeds, appendFrame(nil, []byte{kindClose}), []byte{1, 0, 0, 0, 0, 0, 0, 0, 1})
}

func blockSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, c := range []struct{ n, page int }{{1, 1}, {5, 2}, {9, 4}} {
		b, _, err := buildBlock(7, seedEvents(c.n), c.page)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// TestWriteFuzzSeeds checks that the committed seed corpora hold every
// seed the generators make (the fuzz targets start from them in every
// `go test` run), and rewrites them with TRAIL_WRITE_FUZZ_SEEDS=1. The
// seeds hold times, so they are compared by count and format, not bytes.
func TestWriteFuzzSeeds(t *testing.T) {
	corpora := map[string][][]byte{"FuzzWALRecord": walSeeds(t), "FuzzBlock": blockSeeds(t)}
	if os.Getenv("TRAIL_WRITE_FUZZ_SEEDS") == "" {
		for name, seeds := range corpora {
			for i := range seeds {
				path := filepath.Join("testdata", "fuzz", name, fmt.Sprintf("seed-%d", i))
				b, err := os.ReadFile(path)
				if err != nil || !strings.HasPrefix(string(b), "go test fuzz v1\n[]byte(") {
					t.Errorf("%s: missing or not a fuzz seed (%v); rewrite the corpora: TRAIL_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds ./internal/logstore/", path, err)
				}
			}
		}
		return
	}
	for name, seeds := range corpora {
		dir := filepath.Join("testdata", "fuzz", name)
		os.MkdirAll(dir, 0o755)
		for i, s := range seeds {
			body := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
