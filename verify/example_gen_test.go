// SPDX-License-Identifier: Apache-2.0

package verify_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/logstore"
)

var update = flag.Bool("update", false, "rewrite testdata/example.json")

// exampleKey signs testdata/example.json; it is a test key, public here.
const (
	exampleKey      = "PRIVATE+KEY+trail.example+6c2a8a23+ATFSrJQnhBfrgEBuKNnXmvnOgfZV8ppMoAYwKwfBD2bn"
	exampleVerifier = "trail.example+6c2a8a23+Af3yMPY7OFwJ+vOUeI+U5aoWGzA3BXcWM0AV79irsmCX"
)

// TestExampleFile regenerates testdata/example.json with -update, and
// otherwise checks that the generator still makes the same bytes.
func TestExampleFile(t *testing.T) {
	store, err := logstore.Open(t.TempDir(), logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	signer, err := ledger.NewSigner(exampleKey)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	svc := audit.NewService(audit.Config{Store: store, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Integrity: audit.IntegrityConfig{Signer: signer}})
	defer svc.Close()
	b := &audit.Batch{Org: "acme"}
	for i, who := range []string{"alice", "bob", "carol"} {
		b.Events = append(b.Events, &audit.Pending{Event: audit.Event{
			ID: "ev-" + who, Org: "acme", Type: "repo.create", Category: "content",
			Actor:       audit.Actor{Type: "user", ID: "u-" + who, Name: who},
			Targets:     []audit.Target{{Type: "repo", ID: "r" + who, Name: "acme/" + who + "-model"}},
			Description: who + " created the model acme/" + who + "-model",
			OccurredAt:  now.Add(time.Duration(i) * time.Hour), ReceivedAt: now.Add(time.Duration(i) * time.Hour),
		}})
	}
	if err := store.Append(context.Background(), []*audit.Batch{b}); err != nil || b.Err != nil {
		t.Fatal(err, b.Err)
	}
	x, err := svc.StartExport(context.Background(), "acme", audit.ExportRequest{Actor: audit.Actor{Type: "system", ID: "example", Name: "example"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(t.TempDir(), "example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.WriteTo(context.Background(), f, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, _ := os.ReadFile(f.Name())
	if *update {
		if err := os.WriteFile("testdata/example.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/example.json")
	if err != nil || string(got) != string(want) {
		t.Errorf("testdata/example.json is not what the exporter makes now (run go test -run TestExampleFile -update ./verify): %v", err)
	}
}
