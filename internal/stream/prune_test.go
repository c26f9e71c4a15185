// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/postgres"
	"github.com/trailaudit/trail/internal/postgres/pgtest"
	"github.com/trailaudit/trail/internal/stream"
)

// TestPrunedBeforeDelivery: retention prunes events a paused stream has
// not delivered yet. On resume the stream is told once (an
// org.audit_log.stream.pruned event naming the range, and
// pruned_before_delivery in its view) and continues from the pruning
// point P, in order; a stream already past P is told nothing.
func TestPrunedBeforeDelivery(t *testing.T) {
	store, err := logstore.Open(t.TempDir(), logstore.Options{BlockEvents: 64, PageEvents: 16, ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	// Sealed blocks of 64 are what the log engine prunes.
	testPrunedBeforeDelivery(t, store, func() {
		if err := store.Seal(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPostgresPrunedBeforeDelivery is TestPrunedBeforeDelivery on
// PostgreSQL, which prunes rows.
func TestPostgresPrunedBeforeDelivery(t *testing.T) {
	url := pgtest.NewDatabase(t)
	store, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	testPrunedBeforeDelivery(t, store, func() {})
}

// testPrunedBeforeDelivery runs the test on store; seal readies its
// events for pruning.
func testPrunedBeforeDelivery(t *testing.T, store audit.Store, seal func()) {
	e := newEnvOn(t, store, stream.Config{AllowPrivate: true})
	ctx := t.Context()
	behind, ahead := newReceiver(t), newReceiver(t)
	vb, _ := e.create("acme", `{"name":"behind","kind":"webhook","url":"`+behind.srv.URL+`"}`)
	if _, err := e.m.Pause(ctx, "acme", vb.ID, admin); err != nil {
		t.Fatal(err)
	}
	va, _ := e.create("acme", `{"name":"ahead","kind":"webhook","url":"`+ahead.srv.URL+`"}`)
	e.run(e.m)

	e.ingest("acme", 300)
	n := e.size("acme")
	eventually(t, "the active stream delivered everything", func() bool {
		v, err := e.m.Get(ctx, "acme", va.ID)
		return err == nil && v.DeliveredSeq == n-1 && ahead.covered(n)
	})
	seal()
	time.Sleep(1100 * time.Millisecond) // every event so far is older than the retention
	if _, err := e.svc.SetPolicy(ctx, "acme", audit.Policy{Retention: "1s"}, admin); err != nil {
		t.Fatal(err)
	}
	rep, err := e.svc.Prune(ctx, "acme", audit.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	p := rep.KeptFirst
	if p < 64 || p > n {
		t.Fatalf("pruning kept events from %d on, want at least 64 and at most the %d received before the retention (report %+v)", p, n, rep)
	}
	if got, _ := e.svc.PrunedBefore(ctx, "acme"); got != p {
		t.Fatalf("PrunedBefore = %d, want %d", got, p)
	}
	e.ingest("acme", 10)
	if _, err := e.m.Resume(ctx, "acme", vb.ID, admin); err != nil {
		t.Fatal(err)
	}
	n = e.size("acme")
	eventually(t, "the resumed stream delivered from P to the end", func() bool { return behind.covered(n) })
	seqs := behind.seqs()
	if seqs[0] != p {
		t.Errorf("the resumed stream's first event is seq %d, want P = %d", seqs[0], p)
	}
	inOrder(t, seqs)
	for i, s := range seqs {
		if s != p+int64(i) {
			t.Fatalf("delivery %d is seq %d, want %d: an event after P is missing", i, s, p+int64(i))
		}
	}

	// The event, once, in the log, for the stream that was behind only.
	var told []map[string]any
	err = store.Scan(ctx, "acme", 0, e.size("acme"), audit.Filter{}, func(_ int64, data []byte) error {
		var ev struct {
			Type        string
			Description string
			Metadata    map[string]any
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			return err
		}
		if ev.Type == "org.audit_log.stream.pruned" {
			ev.Metadata["description"] = ev.Description
			told = append(told, ev.Metadata)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 {
		t.Fatalf("%d org.audit_log.stream.pruned events, want 1: %v", len(told), told)
	}
	m := told[0]
	if m["stream"] != vb.ID || m["from_seq"] != float64(0) || m["to_seq"] != float64(p-1) || m["events"] != float64(p) {
		t.Errorf("org.audit_log.stream.pruned metadata = %v, want stream %s, seqs 0 … %d", m, vb.ID, p-1)
	}
	if d, want := m["description"].(string), "events 0.."+itoa(p-1)+" were pruned before delivery"; !contains(d, want) {
		t.Errorf("description %q does not say %q", d, want)
	}

	got, err := e.m.Get(ctx, "acme", vb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r := got.PrunedBeforeDelivery; r == nil || r.FromSeq != 0 || r.ToSeq != p-1 || r.At.IsZero() {
		t.Errorf("view pruned_before_delivery = %+v, want 0 … %d", r, p-1)
	}
	if got.State != stream.StateActive || got.Failures != 0 || got.LastError != "events 0.."+itoa(p-1)+" were pruned before delivery" {
		t.Errorf("view = state %s, failures %d, last_error %q", got.State, got.Failures, got.LastError)
	}
	other, err := e.m.Get(ctx, "acme", va.ID)
	if err != nil {
		t.Fatal(err)
	}
	if other.PrunedBeforeDelivery != nil || other.LastError != "" {
		t.Errorf("the stream already past P was told: %+v, %q", other.PrunedBeforeDelivery, other.LastError)
	}
	b, _ := json.Marshal(got)
	if !contains(string(b), `"pruned_before_delivery":{"from_seq":0,"to_seq":`+itoa(p-1)) {
		t.Errorf("the JSON view lacks pruned_before_delivery: %s", b)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
