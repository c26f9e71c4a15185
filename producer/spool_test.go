// SPDX-License-Identifier: Apache-2.0

package producer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func openTestSpool(t *testing.T, dir string, torn *[]error) *spool {
	t.Helper()
	cfg := Config{SpoolDir: dir}
	cfg.setDefaults()
	s, err := openSpool(dir, &cfg, &deadLetters{path: filepath.Join(dir, DeadLetterFile)}, func(err error) { *torn = append(*torn, err) })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func queued(s *spool) []string {
	var out []string
	for _, it := range s.queue {
		out = append(out, string(it.event))
	}
	return out
}

// TestRecoverAfterAck: damage after the acknowledged part of a segment is
// reported once; the unacknowledged intact records survive two reopens.
func TestRecoverAfterAck(t *testing.T) {
	dir := t.TempDir()
	var torn []error
	s := openTestSpool(t, dir, &torn)
	for i := 0; i < 6; i++ {
		if err := s.append(context.Background(), "acme", json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ack(2); err != nil {
		t.Fatal(err)
	}
	seg, rec := s.segPath(s.seg), s.queue[0].size
	s.close()

	b, _ := os.ReadFile(seg)
	b[4*rec+frameHeader+2] ^= 0xff // inside record 4
	os.WriteFile(seg, b, 0o600)
	for round := 0; round < 2; round++ {
		torn = nil
		s = openTestSpool(t, dir, &torn)
		got := fmt.Sprint(queued(s))
		s.close()
		if want := `[{"n":2} {"n":3} {"n":5}]`; got != want {
			t.Fatalf("round %d: queue %s, want %s", round, got, want)
		}
		if wantTorn := 1 - round; len(torn) != wantTorn {
			t.Fatalf("round %d: %d damages reported, want %d", round, len(torn), wantTorn)
		}
	}
}

// TestGroupSync: concurrent appends all return durable and in the queue
// once each; they share fsyncs (fewer syncs than appends is not asserted:
// it depends on timing).
func TestGroupSync(t *testing.T) {
	var torn []error
	s := openTestSpool(t, t.TempDir(), &torn)
	defer s.close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := s.append(context.Background(), "acme", json.RawMessage(fmt.Sprintf(`{"g":%d,"i":%d}`, g, i))); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if len(s.queue) != 400 || s.synced != s.written {
		t.Fatalf("%d queued, synced %d of %d bytes", len(s.queue), s.synced, s.written)
	}
}

// TestSegmentRotation: small segments rotate, and acknowledged ones are
// deleted.
func TestSegmentRotation(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{SpoolDir: dir, SegmentBytes: 200}
	cfg.setDefaults()
	s, err := openSpool(dir, &cfg, &deadLetters{path: filepath.Join(dir, DeadLetterFile)}, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	for i := 0; i < 20; i++ {
		if err := s.append(context.Background(), "acme", json.RawMessage(`{"type":"repo.create","pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := filepath.Glob(filepath.Join(dir, "*.spool"))
	if err := s.ack(19); err != nil {
		t.Fatal(err)
	}
	after, _ := filepath.Glob(filepath.Join(dir, "*.spool"))
	if len(before) < 5 || len(after) != 1 {
		t.Fatalf("%d segments before the ack, %d after; want several, then 1", len(before), len(after))
	}
}

// TestRecordLimit: an event over the record limit is refused by append,
// never written as a record recovery would take for damage.
func TestRecordLimit(t *testing.T) {
	var torn []error
	s := openTestSpool(t, t.TempDir(), &torn)
	defer s.close()
	big := json.RawMessage(`"` + strings.Repeat("x", maxPayload) + `"`)
	if err := s.append(context.Background(), "acme", big); err == nil || s.written != 0 {
		t.Fatalf("append of %d bytes: %v, %d bytes written", len(big), err, s.written)
	}
}
