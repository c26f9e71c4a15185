// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
)

// testdata/v2store is a log directory written by the block format 2
// writer (main at 6070c81, before format 3): the demo events of org
// "bench" (demo.Batches for 700 events, seed 1, Now 2026-06-01, with
// their producer ids) as testdata/v2store.jsonl holds them, one sent
// event a line, ingested through the service in batches of 100, sealed
// in blocks of 200 events and pages of 16, then closed. Like v1store it
// must never be written again: TestWriteFormat2Fixture made it, and
// refuses to run unless TRAIL_WRITE_FIXTURE=v2 and the writer is format 2.

func TestWriteFormat2Fixture(t *testing.T) {
	startFixture(t, "v2store", 2)
	writeFixture(t, "v2store", fixtureDemo(t, 1, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), nil))
}

// fixtureDemo is the 700-event demo of org bench of seed and now, its
// events as sent (with their ids), each changed by edit if not nil.
func fixtureDemo(t *testing.T, seed int64, now time.Time, edit func(i int, m map[string]any)) [][]byte {
	var lines [][]byte
	for batch := range demo.Batches(demo.Options{Org: "bench", Events: 700, Seed: seed, Now: now}) {
		for _, raw := range batch {
			if edit != nil {
				var m map[string]any
				if err := json.Unmarshal(raw, &m); err != nil {
					t.Fatal(err)
				}
				edit(len(lines), m)
				var err error
				if raw, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
			}
			lines = append(lines, raw)
		}
	}
	return lines
}

// startFixture skips unless TRAIL_WRITE_FIXTURE names the fixture's
// version (TRAIL_WRITE_FIXTURE=v2 for v2store) and fails unless the
// writer is of that block format and testdata/NAME was never written.
func startFixture(t *testing.T, name string, version byte) {
	v := fmt.Sprintf("v%d", version)
	if os.Getenv("TRAIL_WRITE_FIXTURE") != v {
		t.Skipf("writes testdata/%s: only with TRAIL_WRITE_FIXTURE=%s", name, v)
	}
	if blockVersion != version {
		t.Fatalf("the writer is format %d: the fixture is format %d's", blockVersion, version)
	}
	if _, err := os.Stat(filepath.Join("testdata", name)); err == nil {
		t.Fatalf("testdata/%s exists: it is never written again", name)
	}
}

// writeFixture writes testdata/NAME: lines (events as sent) ingested
// through the service into org bench in batches of 100, sealed in blocks
// of 200 events and pages of 16, then closed; and NAME.jsonl, the lines.
func writeFixture(t *testing.T, name string, lines [][]byte) {
	s, err := Open(filepath.Join("testdata", name), Options{BlockEvents: 200, PageEvents: 16, ManualSeal: true})
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
	if err := os.WriteFile(filepath.Join("testdata", name+".jsonl"), append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d events", len(lines))
}

func fixtureService(s audit.Store) *audit.Service {
	return audit.NewService(audit.Config{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// fixtureLines reads testdata/NAME.jsonl.
func fixtureLines(t *testing.T, name string) []json.RawMessage {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []json.RawMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, slices.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBlockFormat2Fixture reads the format-2 fixture: every event, every
// fixture query against an exact test of every event (on the fixture and
// on the same events sealed by the current writer), and idempotent
// retries of its ids: the same content gets the stored seq, changed
// content a conflict, in both stores.
func TestBlockFormat2Fixture(t *testing.T) {
	checkFixture(t, "v2store", 2)
}

// checkFixture is TestBlockFormat2Fixture on testdata/NAME (written by
// the block format version writer, the events as sent in NAME.jsonl).
func checkFixture(t *testing.T, name string, version byte) {
	lines := fixtureLines(t, name)
	old, err := Open(copyFixture(t, filepath.Join("testdata", name)), Options{ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	checkVersions(t, old, version, "the fixture")
	events := fixtureEvents(t, old)
	if len(events) != len(lines) || len(events) < 700 {
		t.Fatalf("read %d events of %d", len(events), len(lines))
	}
	seqOf := map[string]int64{}
	for seq, data := range events {
		seqOf[eventID(data)] = int64(seq)
	}
	// The same events sealed by this writer: ingested again through the
	// service (the content hashes are the producer's), in other block and
	// page sizes.
	cur, err := Open(t.TempDir(), Options{BlockEvents: 128, PageEvents: 8, ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	svc := fixtureService(cur)
	defer svc.Close()
	for i := 0; i < len(lines); i += 100 {
		if _, err := svc.Ingest(context.Background(), "bench", lines[i:min(i+100, len(lines))]); err != nil {
			t.Fatal(err)
		}
	}
	sealCurrent(t, cur)
	for seq, want := range events {
		ev, err := eventAt(cur, int64(seq))
		var a, b audit.Event
		json.Unmarshal(ev, &a)
		json.Unmarshal(want, &b)
		// received_at is the time of each ingest; the rest is the same.
		if err != nil || a.ID != b.ID || a.Seq != b.Seq || a.Type != b.Type || a.Description != b.Description {
			t.Fatalf("seq %d: the current format gives another event (%v): %s, want %s", seq, err, ev, want)
		}
	}
	checkQueries(t, events, map[string]*Store{fmt.Sprintf("format %d blocks", version): old, "current blocks": cur})
	// Retries, on the fixture (its format's id sections) and on the current
	// format: every 7th line again, then changed.
	oldSvc := fixtureService(old)
	defer oldSvc.Close()
	for name, svc := range map[string]*audit.Service{fmt.Sprintf("format %d", version): oldSvc, "current": svc} {
		var again, changed []json.RawMessage
		var want []int64
		for i := 0; i < len(lines); i += 7 {
			var m map[string]any
			if err := json.Unmarshal(lines[i], &m); err != nil {
				t.Fatal(err)
			}
			id, _ := m["id"].(string)
			seq, ok := seqOf[id]
			if !ok {
				t.Fatalf("line %d: id %q is not stored", i, id)
			}
			again = append(again, lines[i])
			want = append(want, seq)
			m["description"] = "changed " + id
			c, _ := json.Marshal(m)
			changed = append(changed, c)
		}
		res, err := svc.Ingest(context.Background(), "bench", again)
		if err != nil {
			t.Fatalf("%s: retrying stored events: %v", name, err)
		}
		for i, a := range res {
			if a.Seq != want[i] {
				t.Fatalf("%s: a retry of seq %d was acknowledged as seq %d", name, want[i], a.Seq)
			}
		}
		for i, c := range changed {
			var ae *audit.Error
			if _, err := svc.Ingest(context.Background(), "bench", []json.RawMessage{c}); !errors.As(err, &ae) || ae.Code != audit.CodeConflict {
				t.Fatalf("%s: an id of seq %d re-sent with other content: %v, want a conflict", name, want[i], err)
			}
		}
	}
	if n, _ := old.Size(context.Background(), "bench"); n != int64(len(events)) {
		t.Fatalf("the fixture holds %d events after the retries, want %d", n, len(events))
	}
}
