// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// retryCase is an event sent once, then its retries: the same content
// (acknowledged with its seq) and changes (conflicts), among them the
// ones a store that kept only the stored bytes could not tell: a
// description sent equal to its rendering against one left to Trail, and
// an occurred_at sent equal to received_at against one left to Trail.
type retryCase struct {
	sent    map[string]any
	changes []func(m map[string]any, stored storedFields)
}

// storedFields are what a change may copy from the stored event.
type storedFields struct {
	Description string `json:"description"`
	OccurredAt  string `json:"occurred_at"`
}

func format4Cases() []retryCase {
	base := func(i int) map[string]any {
		return map[string]any{
			"id": fmt.Sprintf("f4-%03d", i), "type": "org.change_role",
			"actor":    map[string]any{"type": "user", "id": "u1", "name": "alice"},
			"targets":  []any{map[string]any{"type": "user", "id": fmt.Sprintf("u%d", i), "name": "bob"}},
			"metadata": map[string]any{"old_role": "read", "new_role": "admin"},
			"client":   map[string]any{"ip": "81.2.69.160", "user_agent": "curl/8 é"},
		}
	}
	desc := func(d any) func(m map[string]any, _ storedFields) {
		return func(m map[string]any, _ storedFields) { m["description"] = d }
	}
	occurred := func(o any) func(m map[string]any, _ storedFields) {
		return func(m map[string]any, _ storedFields) { m["occurred_at"] = o }
	}
	drop := func(k string) func(m map[string]any, _ storedFields) {
		return func(m map[string]any, _ storedFields) { delete(m, k) }
	}
	renderedText := func(m map[string]any, stored storedFields) { m["description"] = stored.Description }
	storedOccurred := func(m map[string]any, stored storedFields) {
		m["occurred_at"] = stored.OccurredAt
	}
	var cases []retryCase
	for i := range 40 {
		m := base(i)
		c := retryCase{sent: m}
		switch i % 4 {
		case 0: // description rendered, occurred_at sent
			m["occurred_at"] = "2026-01-02T03:04:05.123456Z"
			c.changes = append(c.changes, renderedText, desc("changed"), occurred("2026-01-02T03:04:05.123457Z"), drop("occurred_at"))
		case 1: // description sent equal to its rendering, occurred_at defaulted
			m["description"] = "alice changed bob's role in the organization from read to admin"
			c.changes = append(c.changes, drop("description"), desc(""), desc("changed"), storedOccurred)
		case 2: // description sent, occurred_at sent
			m["description"] = "a \"quoted\"\n\ttext \u00e9\u2028 <b>"
			m["occurred_at"] = "2025-12-31T23:59:59Z"
			c.changes = append(c.changes, drop("description"), desc("a \"quoted\"\n\ttext é"), occurred("2025-12-31T23:59:58Z"), drop("occurred_at"))
		case 3: // description rendered, occurred_at defaulted
			c.changes = append(c.changes, renderedText, desc("changed"), storedOccurred)
		}
		cases = append(cases, c)
	}
	return cases
}

// TestRetriesOnFormat4: retries of events sealed in format 4 blocks,
// whose id sections keep hash bits instead of content-hash prefixes: the
// same content is acknowledged with the stored seq, every change is a
// conflict, on the blocks sealed from the tail, after a reopen (the
// lookup placed by the catalog's summaries), on blocks sealed from
// events replayed from the log (whose bits are found by hashing), and
// for a redacted event (its whole hash kept).
func TestRetriesOnFormat4(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cases := format4Cases()
	lines := make([]json.RawMessage, len(cases))
	for i, c := range cases {
		lines[i], _ = json.Marshal(c.sent)
	}
	s, err := Open(dir, Options{BlockEvents: 16, PageEvents: 4, ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := fixtureService(s)
	if _, err := svc.Ingest(ctx, "bench", lines[:20]); err != nil {
		t.Fatal(err)
	}
	sealCurrent(t, s)
	if n := wholeHashes(t, s); n != 0 {
		t.Fatalf("%d events sealed from the tail keep their whole hash, want 0", n)
	}
	// The rest is replayed from the log after a crash: no bits known.
	if _, err := svc.Ingest(ctx, "bench", lines[20:]); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	s.crash()
	if s, err = Open(dir, Options{BlockEvents: 16, PageEvents: 4, ManualSeal: true}); err != nil {
		t.Fatal(err)
	}
	sealCurrent(t, s)
	if n := wholeHashes(t, s); n != 0 {
		t.Fatalf("%d events sealed from the log keep their whole hash, want 0", n)
	}
	checkRetries(t, s, cases, lines)
	s.Close()
	if s, err = Open(dir, Options{BlockEvents: 16, PageEvents: 4, ManualSeal: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkRetries(t, s, cases, lines)

	// A redacted event: its bytes are a marker now, its whole hash is kept.
	data, err := eventAt(s, 5)
	if err != nil {
		t.Fatal(err)
	}
	marker := append(ledger.AppendRedacted(data[:len(data)-1], ledger.LeafHash(data), "2026-12-06T18:00:00.000000Z", "er_f4"), '}')
	if err := s.Redact(ctx, "bench", []audit.Redaction{{Seq: 5, Data: marker}}); err != nil {
		t.Fatal(err)
	}
	checkVersions(t, s, blockVersion, "a rewritten block")
	if n := wholeHashes(t, s); n != 1 {
		t.Fatalf("%d whole hashes after redacting one event, want 1", n)
	}
	checkRetries(t, s, cases, lines)
}

// checkRetries sends every case again, then each change of it.
func checkRetries(t *testing.T, s *Store, cases []retryCase, lines []json.RawMessage) {
	t.Helper()
	ctx := context.Background()
	svc := fixtureService(s)
	defer svc.Close()
	res, err := svc.Ingest(ctx, "bench", lines)
	if err != nil {
		t.Fatalf("retrying stored events: %v", err)
	}
	for i, a := range res {
		if a.Seq != int64(i) {
			t.Fatalf("a retry of seq %d was acknowledged as seq %d", i, a.Seq)
		}
	}
	for i, c := range cases {
		var stored storedFields
		if err := json.Unmarshal(eventData(t, s, int64(i)), &stored); err != nil {
			t.Fatal(err)
		}
		for k, change := range c.changes {
			m := map[string]any{}
			for key, v := range c.sent {
				m[key] = v
			}
			change(m, stored)
			raw, _ := json.Marshal(m)
			var ae *audit.Error
			if _, err := svc.Ingest(ctx, "bench", []json.RawMessage{raw}); !errors.As(err, &ae) || ae.Code != audit.CodeConflict {
				t.Fatalf("seq %d, change %d (%s): %v, want a conflict", i, k, raw, err)
			}
		}
	}
	if n, _ := s.Size(ctx, "bench"); n != int64(len(cases)) {
		t.Fatalf("%d events after the retries, want %d", n, len(cases))
	}
}

// eventData is the stored bytes of seq of org bench (a redacted event's
// marker holds its original fields but the redacted ones).
func eventData(t *testing.T, s *Store, seq int64) []byte {
	t.Helper()
	data, err := eventAt(s, seq)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// wholeHashes counts the events of org bench's blocks whose id section
// keeps their whole content hash.
func wholeHashes(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	for _, b := range s.org("bench").view().blocks {
		h, err := s.blocks.header(b)
		if err != nil {
			t.Fatal(err)
		}
		x, err := s.blocks.ids(b, h)
		if err != nil {
			t.Fatal(err)
		}
		n += len(x.full)
	}
	return n
}

// TestRedactFormat3Block: an erasure rewrites a block of format 3 (the
// fixture's) in format 3, keeping its content-hash prefixes: a retry of
// the redacted event and of the others still answers as before.
func TestRedactFormat3Block(t *testing.T) {
	ctx := context.Background()
	lines := fixtureLines(t, "v3store")
	s, err := Open(copyFixture(t, filepath.Join("testdata", "v3store")), Options{ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const seq = 250
	data := eventData(t, s, seq)
	marker := append(ledger.AppendRedacted(data[:len(data)-1], ledger.LeafHash(data), "2026-12-06T18:00:00.000000Z", "er_f3"), '}')
	if err := s.Redact(ctx, "bench", []audit.Redaction{{Seq: seq, Data: marker}}); err != nil {
		t.Fatal(err)
	}
	checkVersions(t, s, 3, "a rewritten format 3 block")
	svc := fixtureService(s)
	defer svc.Close()
	for _, i := range []int{seq, seq + 1, 0} {
		res, err := svc.Ingest(ctx, "bench", lines[i:i+1])
		if err != nil || res[0].Seq != int64(i) {
			t.Fatalf("a retry of seq %d: %v %v", i, res, err)
		}
		var m map[string]any
		json.Unmarshal(lines[i], &m)
		m["description"] = "changed"
		changed, _ := json.Marshal(m)
		var ae *audit.Error
		if _, err := svc.Ingest(ctx, "bench", []json.RawMessage{changed}); !errors.As(err, &ae) || ae.Code != audit.CodeConflict {
			t.Fatalf("seq %d re-sent with other content: %v, want a conflict", i, err)
		}
	}
}

// TestHashBitsForms: hash bits of every kind of block (one kind of
// event, runs, mixed kinds) encode in the smaller form and decode to
// themselves; TestHashBitsWholeHashes has the whole hashes.
func TestHashBitsForms(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 5, 64, 1000, 4096} {
		for kind := range 3 {
			flags := make([]hashBits, n)
			for i := range flags {
				switch kind {
				case 1:
					flags[i] = hashBits(i * 4 / n)
				case 2:
					flags[i] = hashBits(rng.IntN(4))
				}
			}
			enc := encodeFlags(nil, flags)
			packed := (n + 3) / 4
			if len(enc) > 1+packed {
				t.Fatalf("n %d kind %d: %d bytes, packed would be %d", n, kind, len(enc), 1+packed)
			}
			if kind == 0 && len(enc) > 1+1+1+binary.MaxVarintLen32 {
				t.Fatalf("n %d: one kind of event takes %d bytes", n, len(enc))
			}
			full := []byte{0} // no whole hashes
			got, whole, err := decodeRetry(append(enc, full...), n)
			if err != nil || !slices.Equal(got, flags) || len(whole) != 0 {
				t.Fatalf("n %d kind %d: decoded %v (%v), want %v", n, kind, got, err, flags)
			}
			if _, _, err := decodeRetry(enc, n); err == nil {
				t.Fatalf("n %d kind %d: a section cut before its whole hashes decodes", n, kind)
			}
		}
	}
}

// TestHashBitsWholeHashes: a block whose id section keeps several whole
// content hashes (side by side, at both ends, spread out, every row)
// gives each back for its own row, and the other rows' bits.
func TestHashBitsWholeHashes(t *testing.T) {
	for _, c := range []struct {
		n    int
		full []int
	}{
		{1, []int{0}},
		{64, []int{0, 1, 2}},
		{64, []int{0, 31, 63}},
		{64, []int{5, 6, 40, 41, 42, 63}},
		{1000, []int{0, 1, 127, 128, 500, 998, 999}},
		{7, []int{0, 1, 2, 3, 4, 5, 6}},
	} {
		events := sealEvents(t, "a", c.n)
		for i := range events { // each event's bytes give its hash back
			h, err := storedHash(events[i].data, hashBits(i)&storedBits)
			if err != nil {
				t.Fatal(err)
			}
			events[i].hash, events[i].bits = h, hashBits(i)&storedBits|bitsKnown
		}
		want := map[int][32]byte{}
		for _, r := range c.full {
			h := sha256.Sum256([]byte{byte(r), byte(r >> 8), 'w'})
			events[r].hash, events[r].bits = h, hashFull
			want[r] = h
		}
		sec := encodeIDs4(events)
		restLen := int(binary.LittleEndian.Uint32(sec[4*c.n:]))
		rest := sec[4*c.n+4 : 4*c.n+4+restLen]
		flags, whole, err := decodeRetry(rest, c.n)
		if err != nil {
			t.Fatalf("n %d, whole hashes at %v: %v", c.n, c.full, err)
		}
		if !maps.Equal(whole, want) {
			t.Fatalf("n %d: whole hashes at rows %v, want %v", c.n, slices.Sorted(maps.Keys(whole)), c.full)
		}
		for i := range events {
			if _, ok := want[i]; ok {
				continue
			}
			if b, ok := events[i].retryBits(); !ok || flags[i] != b {
				t.Fatalf("n %d: row %d decoded bits %d, want %d (%v)", c.n, i, flags[i], b, ok)
			}
		}
	}
}
