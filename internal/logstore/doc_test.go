// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
)

// TestFastDocIsParseDoc: the one-pass reader of canonical bytes gives the
// doc encoding/json gives.
func TestFastDocIsParseDoc(t *testing.T) {
	ev := testEvent("acme", 3)
	ev.Description = "Zürich «café» x:y ÉCOLE 🦙 naïve"
	ev.Location = &audit.Location{CountryCode: "CH"}
	ev.Metadata = map[string]any{"b": []any{"One", map[string]any{"z": "Two", "a": true}}, "a": "Three-Four"}
	ev.ReceivedAt = time.Date(2026, 2, 1, 0, 0, 0, 5000, time.UTC)
	data := ev.AppendCanonical(nil)
	got, err := parseDoc(data)
	if err != nil {
		t.Fatal(err)
	}
	fast, ok := fastDoc(data, true)
	if !ok || !reflect.DeepEqual(got, fast) {
		t.Errorf("parseDoc = %+v\nfastDoc = %+v, %v", got, fast, ok)
	}
}

// TestFastDocOnDemoAndTrickyEvents compares the two readers over the demo
// history (every catalog type) and an event with every escape.
func TestFastDocOnDemoAndTrickyEvents(t *testing.T) {
	s, err := Open(t.TempDir(), Options{ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := audit.NewService(audit.Config{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer svc.Close()
	ctx := context.Background()
	for batch := range demo.Batches(demo.Options{Org: "acme", Events: 3000, Seed: 3}) {
		if _, err := svc.Ingest(ctx, "acme", batch); err != nil {
			t.Fatal(err)
		}
	}
	tricky := testEvent("acme", 1)
	tricky.Description = "a <b> & \"c\" \\ d\te\u2028f \x01 – Zürich 🦙"
	tricky.Metadata = map[string]any{"z": []any{"x", json.Number("-0"), nil, true, map[string]any{"b": "2", "a\"q": "1"}}, "empty": map[string]any{}}
	tricky.RecordedBy = audit.RecordedByTrail
	// Escapes in every string countFields passes without making it.
	escaped := testEvent("acme", 2)
	escaped.ID = "id-\"q\"-é"
	escaped.Actor.Type, escaped.Actor.ID, escaped.Actor.Name = "user\t", "a\\b", "n\"m"
	escaped.Targets = append(escaped.Targets, audit.Target{Type: "t\"y", ID: "i\u0001", Name: "x\ny"})
	escaped.Location = &audit.Location{CountryCode: "C\"H", Country: "S\\w"}
	escaped.Client = &audit.Client{IP: "192.0.2.1", UserAgent: "ua \"x\" \\ y"}
	datas := [][]byte{tricky.AppendCanonical(nil), escaped.AppendCanonical(nil)}
	s.Scan(ctx, "acme", 0, 1<<40, audit.Filter{}, func(_ int64, data []byte) error {
		datas = append(datas, bytes.Clone(data))
		return nil
	})
	for _, data := range datas {
		want, err := parseDoc(data)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := fastDoc(data, true); !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\nfastDoc  = %+v, %v\nparseDoc = %+v", data, got, ok, want)
		}
		checkCountFields(t, data)
	}
	// Bytes the one-pass reader refuses (a bad escape in a value it
	// passes, a value of the wrong kind, cut short) fail countFields and
	// scanFields alike; JSON not in the canonical layout is decoded.
	last := datas[len(datas)-1]
	for i, c := range []struct {
		data []byte
		fail bool
	}{
		{bytes.Replace(datas[1], []byte(`user\t`), []byte(`user\q`), 1), true},
		{bytes.Replace(datas[1], []byte(`i\u0001`), []byte(`i\u00zz`), 1), true},
		{bytes.Replace(datas[1], []byte(`ua \"x`), []byte(`ua \qx`), 1), true},
		{bytes.Replace(datas[1], []byte(`"type":"user\t"`), []byte(`"type":7`), 1), true},
		{last[:len(last)/2], true},
		{last[:bytes.Index(last, []byte(`"received_at"`))+20], true},
		{bytes.Replace(datas[1], []byte(`"org":`), []byte(`"org": `), 1), false},
	} {
		if _, _, err := countFields(c.data); (err != nil) != c.fail {
			t.Errorf("case %d: countFields err %v, want failure %v", i, err, c.fail)
		}
		checkCountFields(t, c.data)
	}
}

// checkCountFields checks countFields against scanFields and the id's
// own reader: the same fields, or an error where scanFields has one.
func checkCountFields(t *testing.T, data []byte) {
	t.Helper()
	id, got, err := countFields(data)
	want, wantErr := scanFields(data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%s:\ncountFields err %v, scanFields err %v", data, err, wantErr)
	}
	if err != nil {
		return
	}
	if id != replayedID(data) || got.category != want.category || got.occurred != want.occurred || got.received != want.received {
		t.Fatalf("%s:\ncountFields = %q %+v\nscanFields  = %q %+v", data, id, got, replayedID(data), want)
	}
}
