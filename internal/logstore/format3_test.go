// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"fmt"
	"testing"
	"time"
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
	lines := fixtureDemo(t, 3, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), func(i int, m map[string]any) {
		if i%4 == 1 {
			m["description"] = fmt.Sprintf("Sent by the producer, line %d — ünïcode \u2028 \"quoted\"", i)
		}
		if i%3 == 0 {
			delete(m, "occurred_at")
		}
	})
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
