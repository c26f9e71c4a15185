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
	datas := [][]byte{tricky.AppendCanonical(nil)}
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
	}
}
