// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"encoding/json"
	"fmt"
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
	startFixture(t, "v3store", 3)
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
	writeFixture(t, "v3store", lines)
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
