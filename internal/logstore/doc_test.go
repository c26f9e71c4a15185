package logstore

import (
	"reflect"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// TestEventDocIsParseDoc: the doc made at append (from the event) and the
// one read back from the stored bytes (after a restart) are equal, so a
// filter gives the same answer before and after sealing or a restart.
func TestEventDocIsParseDoc(t *testing.T) {
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
	if want := eventDoc(&ev); !reflect.DeepEqual(got, want) {
		t.Errorf("parseDoc = %+v\neventDoc = %+v", got, want)
	}
}
