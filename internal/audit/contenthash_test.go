// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// TestContentHashOfStored holds ContentHashOf to the ingest path: for
// every golden event (the demo and bench mixes, the variants, the fuzz
// seeds) and the traps below, through the fast path, the fast path after
// the splitter and the reference path, the stored bytes and the two bits
// HashBits gives re-hash to exactly the Hash ingest computed.
func TestContentHashOfStored(t *testing.T) {
	s := refService(t)
	reset := fixedIDs(t)
	received := refNow.Add(1500 * time.Millisecond)
	receivedText := received.Format(audit.TimeFormat)
	events := goldenEvents(t)
	// The traps: the stored bytes do not tell these pairs apart, the bits do.
	base := `{"id":"trap-1","type":"org.change_role","actor":{"type":"user","id":"u1","name":"alice"},"targets":[{"type":"user","id":"u2","name":"bob"}],"metadata":{"old_role":"read","new_role":"admin"},"client":{"ip":"81.2.69.160","user_agent":"x"}`
	reset()
	rendered, ok := s.PrepareFast("acme", []byte(base+`,"occurred_at":"2026-01-02T03:04:05Z"}`))
	if !ok || rendered.Event.Description == "" {
		t.Fatal("the trap's base event is not ingested with a rendered description")
	}
	desc, _ := json.Marshal(rendered.Event.Description)
	traps := []string{
		base + `,"occurred_at":"2026-01-02T03:04:05Z"}`,                                    // description rendered
		base + `,"occurred_at":"2026-01-02T03:04:05Z","description":` + string(desc) + `}`, // … sent equal to its rendering
		base + `,"occurred_at":"2026-01-02T03:04:05Z","description":""}`,                   // … sent empty
		base + `}`, // occurred_at defaulted (to received_at)
		base + `,"occurred_at":"` + receivedText + `"}`,                                    // … sent equal to received_at
		base + `,"occurred_at":"` + receivedText + `","description":` + string(desc) + `}`, // both
		base + `,"description":""}`,
		base + `,"description":` + string(desc) + `}`,
		`{"type":"org.change_role","actor":{"type":"user","id":"u\"1\\","name":"\u00e9\u2028\ud83d\ude80"},"targets":[],"description":"\",\"seq\":1,\"category\":\"x\",\"location\":null","metadata":{"old_role":"a,\"seq\":","new_role":"b"}}`,
	}
	for _, tr := range traps {
		events = append(events, []byte(tr))
	}
	checked, located, withMeta, generated := 0, 0, 0, 0
	byBytes := map[string][][32]byte{} // the trap events' stored bytes, and their hashes
	for i, raw := range events {
		var ps []*audit.Pending
		reset()
		if p, ok := s.PrepareFast("acme", raw); ok {
			ps = append(ps, p)
		}
		reset()
		if p, scanned, ok := s.PrepareFastScanned("acme", raw); scanned && ok {
			ps = append(ps, p)
		}
		reset()
		if p, details := s.PrepareReference("acme", raw); details == nil {
			ps = append(ps, p)
		}
		for _, p := range ps {
			p.Event.ReceivedAt = received
			seq := int64(i)
			if i >= len(events)-len(traps) {
				seq = 7 // the traps' stored bytes differ only where the bits are
			}
			stored := p.Encode(seq)
			r, d, ok := p.HashBits()
			if !ok {
				t.Fatalf("event %d: an ingested event without its hash bits", i)
			}
			h, err := audit.ContentHashOf(stored, r, d)
			if err != nil || h != p.Hash {
				t.Fatalf("event %d (rendered %v, defaulted %v): ContentHashOf %x, %v; ingest hashed %x\n%s", i, r, d, h, err, p.Hash, stored)
			}
			for _, other := range [][2]bool{{!r, d}, {r, !d}} {
				if oh, _ := audit.ContentHashOf(stored, other[0], other[1]); oh == p.Hash && (other[0] && p.Event.Description != "" || other[1] && !bytes.Contains(stored, []byte(`"occurred_at":"`+receivedText))) {
					t.Fatalf("event %d: other bits give the same hash", i)
				}
			}
			checked++
			if p.Event.Location != nil {
				located++
			}
			if len(p.Event.MetadataJSON) > 2 || len(p.Event.Metadata) > 0 {
				withMeta++
			}
			if bytes.HasPrefix(stored, []byte(`{"id":"gen-`)) {
				generated++
			}
			if i >= len(events)-len(traps) {
				k := string(stored)
				if !slices.Contains(byBytes[k], p.Hash) {
					byBytes[k] = append(byBytes[k], p.Hash)
				}
			}
		}
	}
	if checked < 3*4000 || located == 0 || withMeta == 0 || generated == 0 {
		t.Fatalf("checked %d (located %d, with metadata %d, generated ids %d): the corpus does not cover them", checked, located, withMeta, generated)
	}
	// Rendered vs sent equal, and defaulted vs sent equal to received_at:
	// the same stored bytes under two (and four) hashes.
	most := 0
	for _, hs := range byBytes {
		most = max(most, len(hs))
	}
	if most < 4 {
		t.Fatalf("the traps make at most %d hashes of the same stored bytes, want 4", most)
	}
	if _, err := audit.ContentHashOf([]byte(`{"id":"x"}`), false, false); err == nil {
		t.Fatal("ContentHashOf took bytes that are no event")
	}
}

// BenchmarkContentHashOf: re-deriving the content hash of a stored demo
// event (what a retry of a sealed id costs beyond finding the event).
//
//	go test -run '^$' -bench ContentHashOf -cpu 1 ./internal/audit/
func BenchmarkContentHashOf(b *testing.B) {
	s := refService(b)
	var stored [][]byte
	var bits [][2]bool
	for i, raw := range demoEvents(1000) {
		p, ok := s.PrepareFast("acme", raw)
		if !ok {
			continue
		}
		p.Event.ReceivedAt = refNow
		stored = append(stored, bytes.Clone(p.Encode(int64(i))))
		r, d, _ := p.HashBits()
		bits = append(bits, [2]bool{r, d})
	}
	size := 0
	for _, e := range stored {
		size += len(e)
	}
	b.SetBytes(int64(size / len(stored)))
	b.ResetTimer()
	for i := range b.N {
		k := i % len(stored)
		if _, err := audit.ContentHashOf(stored[k], bits[k][0], bits[k][1]); err != nil {
			b.Fatal(err)
		}
	}
}
