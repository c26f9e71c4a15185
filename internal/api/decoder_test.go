// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/trailaudit/trail/client"
)

// TestIngestRetryWithGivenIDOverHTTP: an event sent without an id, then
// re-sent with the id Trail acknowledged, is a retry (issue 13).
func TestIngestRetryWithGivenIDOverHTTP(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(e.Admin)
	ev := changeRole("", "bob")
	first, err := c.Ingest(ctx, "acme", []client.Event{ev, repoCreate("r1", "x")})
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = first[0].ID
	again, err := c.Ingest(ctx, "acme", []client.Event{ev})
	if err != nil || again[0] != first[0] {
		t.Fatalf("re-sent with the id Trail gave = %v, %v; want %v", again, err, first[0])
	}
	if n := e.size("acme"); n != 2 {
		t.Errorf("size = %d, want 2", n)
	}
}

// TestIngestDecoderErrorsOverHTTP: the messages say what to fix (issue 14).
func TestIngestDecoderErrorsOverHTTP(t *testing.T) {
	e := newEnv(t)
	const ok = `"type":"org.change_role","actor":{"type":"user","id":"u1"},"targets":[{"type":"user","id":"u2"}]`
	for _, tt := range []struct {
		name, body   string
		status       int
		message      string
		field, wants string // a detail's field and a part of its expected
	}{
		{"top-level array", `[{` + ok + `,"metadata":{"new_role":"admin"}}]`, 400,
			`request body is a JSON array: send {"events": [...]}`, "", ""},
		{"empty id", `{"events":[{"id":"",` + ok + `,"metadata":{"new_role":"admin"}}]}`, 422,
			"event 0 is invalid", "id", "leave id out for Trail to make one"},
		{"lone surrogate", `{"events":[{` + ok + `,"description":"x \ud800","metadata":{"new_role":"admin"}}]}`, 422,
			"event 0 is invalid", "description", "half of a surrogate pair"},
		{"raw control character in a target name", "{\"events\":[{\"type\":\"org.change_role\",\"actor\":{\"type\":\"user\",\"id\":\"u1\"},\"targets\":[{\"type\":\"user\",\"name\":\"b\x01ob\"}]}]}", 400,
			`event 0, field targets[0].name: a control character (U+0001) inside a string: escape it as \u0001`, "targets[0].name", "valid JSON"},
		{"integer too large", `{"events":[{"type":"spaces.update_sleep_time","actor":{"type":"user","id":"u1"},"targets":[{"type":"space","name":"acme/demo"}],"metadata":{"new_sleep_time":18446744073709551616}}]}`, 422,
			"event 0 is invalid", "metadata.new_sleep_time", "an integer from -9223372036854775808 to 9223372036854775807"},
	} {
		r := e.do("POST", "/api/v1/orgs/acme/events", e.Admin, "application/json", []byte(tt.body))
		ae := r.apiError()
		if r.Status != tt.status || !strings.Contains(ae.Message, tt.message) {
			t.Errorf("%s: %d %q, want %d containing %q", tt.name, r.Status, ae.Message, tt.status, tt.message)
		}
		if tt.field == "" {
			continue
		}
		if len(ae.Details) != 1 || ae.Details[0].Field != tt.field || !strings.Contains(ae.Details[0].Expected, tt.wants) {
			t.Errorf("%s: details %+v, want field %s expecting …%s…", tt.name, ae.Details, tt.field, tt.wants)
		}
	}
	if n := e.size("acme"); n != 0 {
		t.Errorf("%d events stored", n)
	}
}
