// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
)

// TestIngestRetryWithGivenID: an event sent without an id, acknowledged
// with the id Trail gave it, then sent again with that id and otherwise
// the same content is a retry (issue 13): it gets its original seq and
// nothing is stored. Other content under that id is still a conflict.
func TestIngestRetryWithGivenID(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, t.TempDir())
	svc := newService(t, store, true)
	fields := map[string]string{"client": `{"ip":"81.2.69.160","user_agent":"curl/8"}`, "occurred_at": `"2026-11-20T08:00:00Z"`}
	first, err := svc.Ingest(ctx, "acme", raws(event(fields)))
	if err != nil {
		t.Fatal(err)
	}
	given := first[0]
	if given.Seq != 0 {
		t.Fatalf("first ack %+v, want seq 0", given)
	}
	fields["id"] = `"` + given.ID + `"`
	again, err := svc.Ingest(ctx, "acme", raws(event(fields)))
	if err != nil || again[0] != given {
		t.Fatalf("re-sent with the given id = %v, %v; want %v", again, err, given)
	}
	// Absent occurred_at: the stored time is Trail's, the retry matches.
	noTime := map[string]string{}
	second, err := svc.Ingest(ctx, "acme", raws(event(noTime)))
	if err != nil {
		t.Fatal(err)
	}
	noTime["id"] = `"` + second[0].ID + `"`
	if again, err := svc.Ingest(ctx, "acme", raws(event(noTime))); err != nil || again[0] != second[0] {
		t.Fatalf("re-sent without occurred_at = %v, %v; want %v", again, err, second[0])
	}
	if n := size(t, store, "acme"); n != 2 {
		t.Errorf("Size = %d, want 2", n)
	}
	fields["description"] = `"something else"`
	_, err = svc.Ingest(ctx, "acme", raws(event(fields)))
	if audit.ErrorCode(err) != audit.CodeConflict {
		t.Errorf("other content under the given id = %v, want a conflict", err)
	}
}

// TestIngestSurrogatePairs: a \u escape pair is the character it encodes,
// stored as UTF-8; only lone halves are refused.
func TestIngestSurrogatePairs(t *testing.T) {
	store := openStore(t, t.TempDir())
	svc := newService(t, store, false)
	ev := event(map[string]string{"description": `"ship it \ud83d\ude80"`, "metadata": `{"new_role":"admin","x":{"\ud83d\ude00":"\uD83D\uDE00"}}`})
	acks, err := svc.Ingest(context.Background(), "acme", raws(ev))
	if err != nil {
		t.Fatal(err)
	}
	_, data, err := store.Event(context.Background(), "acme", acks[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"description":"ship it 🚀"`, `"x":{"😀":"😀"}`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("stored %s, want it to contain %s", data, want)
		}
	}
}
