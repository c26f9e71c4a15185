// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/catalog"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/geo/geotest"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/stream"
)

// stored is one event as the store keeps it, with the fields the format
// tests compare against, decoded independently of the formats.
type storedEv struct {
	ev  stream.Event
	doc struct {
		ID          string         `json:"id"`
		Org         string         `json:"org"`
		Seq         int64          `json:"seq"`
		Type        string         `json:"type"`
		Category    string         `json:"category"`
		Actor       audit.Target   `json:"actor"`
		Targets     []audit.Target `json:"targets"`
		Description string         `json:"description"`
		Client      *audit.Client  `json:"client"`
		Location    *struct {
			CountryCode string `json:"country_code"`
			Country     string `json:"country"`
			Region      string `json:"region"`
			City        string `json:"city"`
		} `json:"location"`
		OccurredAt time.Time       `json:"occurred_at"`
		ReceivedAt time.Time       `json:"received_at"`
		Metadata   json.RawMessage `json:"metadata"`
		RecordedBy string          `json:"recorded_by"`
	}
}

const eventsOrg = "acme"

// hardEvents are events whose values need escaping in every format.
var hardEvents = []string{
	`{"id":"hard-1","type":"repo.update_settings","actor":{"type":"user","id":"u|1","name":"eve\\ |pipe= x"},
	  "targets":[{"type":"repo","id":"r=1","name":"acme/m|x\\y"}],"description":"eve changed a|b=c \\ d",
	  "client":{"ip":"81.2.69.160","user_agent":"UA=1 \\ |"},"metadata":{"note":"x=y|z\\ \"q\""}}`,
	`{"id":"hard-2","type":"org.change_role","actor":{"type":"user","id":"u2","name":"Zoë"},
	  "targets":[{"type":"user","id":"u3","name":"bob=admin"}],"client":{"ip":"2a02:26f0::1","user_agent":"curl"},
	  "metadata":{"old_role":"read","new_role":"admin"}}`,
}

// realEvents returns every event of a demo history (every catalog type at
// least once, with locations from a test geolocation database) plus
// hardEvents, as stored by the real write path in the log engine. It is
// made once per test binary.
func realEvents(t testing.TB) []storedEv {
	t.Helper()
	evs, err := realEventsOnce()
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

var realEventsOnce = sync.OnceValues(func() ([]storedEv, error) {
	dir, err := os.MkdirTemp("", "trail-stream-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	return makeEvents(dir)
})

func makeEvents(dir string) ([]storedEv, error) {
	store, err := logstore.Open(filepath.Join(dir, "store"), logstore.Options{})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	geoPath := filepath.Join(dir, "geo.mmdb")
	if err := geotest.WriteFile(geoPath, geotest.Options{}, geotest.Networks()); err != nil {
		return nil, err
	}
	locator, err := geo.Open(geoPath)
	if err != nil {
		return nil, err
	}
	defer locator.Close()
	svc := audit.NewService(audit.Config{Store: store, Locator: locator, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer svc.Close()
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for batch := range demo.Batches(demo.Options{Org: eventsOrg, Events: 400, Days: 30, Now: now, Seed: 7}) {
		if _, err := svc.Ingest(ctx, eventsOrg, batch); err != nil {
			return nil, err
		}
	}
	var hard []json.RawMessage
	for _, h := range hardEvents {
		hard = append(hard, json.RawMessage(h))
	}
	if _, err := svc.Ingest(ctx, eventsOrg, hard); err != nil {
		if ae, ok := err.(*audit.Error); ok {
			return nil, fmt.Errorf("%w: %+v", err, ae.Details)
		}
		return nil, err
	}
	size, err := store.Size(ctx, eventsOrg)
	if err != nil {
		return nil, err
	}
	var out []storedEv
	err = store.Scan(ctx, eventsOrg, 0, size, audit.Filter{}, func(seq int64, data []byte) error {
		s := storedEv{ev: stream.Event{Seq: seq, Data: append([]byte(nil), data...)}}
		if err := json.Unmarshal(data, &s.doc); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// everyType returns one stored event of each catalog type (the first of
// each), failing when a type of the built-in catalog is missing.
func everyType(t testing.TB) []storedEv {
	t.Helper()
	seen := map[string]bool{}
	var out []storedEv
	for _, s := range realEvents(t) {
		if !seen[s.doc.Type] {
			seen[s.doc.Type] = true
			out = append(out, s)
		}
	}
	for _, ty := range catalog.Builtin().Types() {
		if !seen[ty.Name] {
			t.Fatalf("no stored event of type %s", ty.Name)
		}
	}
	return out
}

// hardOnes returns the stored hardEvents.
func hardOnes(t testing.TB) []storedEv {
	var out []storedEv
	for _, s := range realEvents(t) {
		if s.doc.ID == "hard-1" || s.doc.ID == "hard-2" {
			out = append(out, s)
		}
	}
	if len(out) != 2 {
		t.Fatalf("found %d hard events, want 2", len(out))
	}
	return out
}
