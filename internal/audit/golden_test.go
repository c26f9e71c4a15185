// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/canonical.golden from the current code")

// goldenEvents are the inputs of TestCanonicalGolden: the demo's mix as
// reference_test.go reads it (ids and occurred_at sent), the benchmark's
// (trail bench and the API benchmark: no id, no occurred_at), the edits of
// variants, the FuzzIngest seed corpus, and invalid edits of demo events.
func goldenEvents(t testing.TB) [][]byte {
	var out [][]byte
	for _, raw := range demoEvents(2000) {
		out = append(out, raw)
	}
	n := 0
	for b := range demo.Batches(demo.Options{Org: "bench", Events: 2000, Now: refNow, Seed: 42}) {
		for _, raw := range b {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "id")
			if n%2 == 0 {
				delete(m, "occurred_at")
			}
			n++
			raw, _ = json.Marshal(m)
			out = append(out, raw)
		}
	}
	for _, v := range variants() {
		out = append(out, []byte(v))
	}
	for _, raw := range seedEvents(t) {
		out = append(out, raw)
	}
	edits := []func(m map[string]json.RawMessage){
		func(m map[string]json.RawMessage) { delete(m, "type") },
		func(m map[string]json.RawMessage) { m["type"] = json.RawMessage(`"no.such_type"`) },
		func(m map[string]json.RawMessage) { m["actor"] = json.RawMessage(`"alice"`) },
		func(m map[string]json.RawMessage) { m["actor"] = json.RawMessage(`{"type":"User","id":"u1"}`) },
		func(m map[string]json.RawMessage) { m["targets"] = json.RawMessage(`[{"type":"user"}]`) },
		func(m map[string]json.RawMessage) { m["occurred_at"] = json.RawMessage(`"2026-13-01T00:00:00Z"`) },
		func(m map[string]json.RawMessage) { m["occurred_at"] = json.RawMessage(`"2099-01-01T00:00:00Z"`) },
		func(m map[string]json.RawMessage) { m["occurred_at"] = json.RawMessage(`"2026-01-02 10:00:00Z"`) },
		func(m map[string]json.RawMessage) {
			m["description"] = json.RawMessage(`"` + strings.Repeat("x", 5000) + `"`)
		},
		func(m map[string]json.RawMessage) { m["description"] = json.RawMessage(`"a\u0000b"`) },
		func(m map[string]json.RawMessage) { m["client"] = json.RawMessage(`{"ip":"300.1.1.1"}`) },
		func(m map[string]json.RawMessage) { m["client"] = json.RawMessage(`{"ip":"fe80::1%eth0"}`) },
		func(m map[string]json.RawMessage) { m["metadata"] = json.RawMessage(`[1]`) },
		func(m map[string]json.RawMessage) { m["metadata"] = json.RawMessage(`{"unknown_key":1}`) },
		func(m map[string]json.RawMessage) { m["id"] = json.RawMessage(`"bad id"`) },
		func(m map[string]json.RawMessage) { m["extra"] = json.RawMessage(`1`) },
	}
	for i, raw := range demoEvents(len(edits) * 20) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		edits[i%len(edits)](m)
		raw, _ = json.Marshal(m)
		out = append(out, raw)
	}
	return out
}

// TestCanonicalGolden holds what ingest makes of each golden event to
// what the code made when the golden file was written: for an accepted
// event, digests of its canonical bytes (seq and received_at set), its
// content hash and its search text; for a refused one, a digest of the
// reference's details (which field, what was expected). Both decode paths
// share the encoders, so the differential tests alone would not see a
// change of the stored bytes; this does, event by event.
//
//	go test ./internal/audit -run TestCanonicalGolden -update-golden
func TestCanonicalGolden(t *testing.T) {
	s := refService(t)
	reset := fixedIDs(t)
	received := refNow.Add(1500 * time.Millisecond)
	var lines []string
	scannedEvents := 0
	for i, raw := range goldenEvents(t) {
		reset()
		p, fast := s.PrepareFast("acme", raw)
		// The fields of an event the splitter read are found without
		// scanning it again: the same decision, the same event.
		reset()
		if ps, scanned, ok := s.PrepareFastScanned("acme", raw); scanned {
			if ok != fast {
				t.Fatalf("event %d: fast path %v, after the splitter %v: %s", i, fast, ok, raw)
			}
			if ok {
				ps.Event.ReceivedAt, p.Event.ReceivedAt = received, received
				if a, b := ps.Encode(int64(i)), p.Encode(int64(i)); !bytes.Equal(a, b) || ps.Hash != p.Hash ||
					ps.Event.SearchText() != p.Event.SearchText() {
					t.Fatalf("event %d: after the splitter %s, fast path %s", i, a, b)
				}
			}
			scannedEvents++
		}
		if !fast {
			reset()
			var details []audit.Detail
			if p, details = s.PrepareReference("acme", raw); details != nil {
				d, _ := json.Marshal(details)
				lines = append(lines, fmt.Sprintf("%d refused %s", i, digest(d)))
				continue
			}
		}
		p.Event.ReceivedAt = received
		b := p.Encode(int64(i))
		if !json.Valid(b) {
			t.Fatalf("event %d: invalid canonical JSON %s", i, b)
		}
		all := append(append(bytes.Clone(b), p.Hash[:]...), p.Event.SearchText()...)
		lines = append(lines, fmt.Sprintf("%d stored %s", i, digest(all)))
	}
	if scannedEvents < 4000 {
		t.Fatalf("only %d golden events went through the scanned path", scannedEvents)
	}
	const path = "testdata/canonical.golden"
	if *updateGolden {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		want = append(want, sc.Text())
	}
	if len(want) != len(lines) {
		t.Fatalf("%d golden lines, %d events", len(want), len(lines))
	}
	bad := 0
	for i := range want {
		if want[i] != lines[i] {
			t.Errorf("event %d: got %q, golden %q", i, lines[i], want[i])
			if bad++; bad == 10 {
				t.FailNow()
			}
		}
	}
	stored := 0
	for _, l := range lines {
		if bytes.Contains([]byte(l), []byte(" stored ")) {
			stored++
		}
	}
	if stored < 4000 || stored == len(lines) {
		t.Fatalf("%d of %d golden events stored: the inputs do not cover both outcomes", stored, len(lines))
	}
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}
