// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/demo"
)

// testdata/v3store is a log directory written by the block format 3
// writer (main at 38b8319, before format 4): the demo events of org
// "bench" (demo.Batches for 700 events, seed 3, Now 2026-09-01, with
// their producer ids), every 4th sent with a description of its own and
// every 3rd without occurred_at (Trail defaults it), as
// testdata/v3store.jsonl holds them, one sent event a line, ingested
// through the service in batches of 100, sealed in blocks of 200 events
// and pages of 16, then closed. Like v1store and v2store it must never be
// written again: TestWriteFormat3Fixture made it, and refuses to run
// unless TRAIL_WRITE_FIXTURE=v3 and the writer is format 3.

func TestWriteFormat3Fixture(t *testing.T) {
	if os.Getenv("TRAIL_WRITE_FIXTURE") != "v3" {
		t.Skip("writes testdata/v3store: only with TRAIL_WRITE_FIXTURE=v3")
	}
	if blockVersion != 3 {
		t.Fatalf("the writer is format %d: the fixture is format 3's", blockVersion)
	}
	dir := filepath.Join("testdata", "v3store")
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("%s exists: it is never written again", dir)
	}
	var lines [][]byte
	for batch := range demo.Batches(demo.Options{Org: "bench", Events: 700, Seed: 3, Now: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}) {
		for _, raw := range batch {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			if len(lines)%4 == 1 {
				m["description"] = fmt.Sprintf("Sent by the producer, line %d — ünïcode \u2028 \"quoted\"", len(lines))
			}
			if len(lines)%3 == 0 {
				delete(m, "occurred_at")
			}
			line, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, line)
		}
	}
	s, err := Open(dir, Options{BlockEvents: 200, PageEvents: 16, ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := fixtureService(s)
	for i := 0; i < len(lines); i += 100 {
		var batch []json.RawMessage
		for _, l := range lines[i:min(i+100, len(lines))] {
			batch = append(batch, l)
		}
		if _, err := svc.Ingest(context.Background(), "bench", batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Seal(context.Background()); err != nil {
		t.Fatal(err)
	}
	svc.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "v3store.jsonl"), append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d events", len(lines))
}

// TestBlockFormat3Fixture reads the format-3 fixture as
// TestBlockFormat2Fixture reads format 2's: every event, every fixture
// query against an exact test, and retries (the same content gets the
// stored seq, changed content a conflict) on its format 3 id sections
// (content-hash prefixes) and on the same events sealed by the current
// writer.
func TestBlockFormat3Fixture(t *testing.T) {
	checkFixture(t, "v3store", 3)
}
