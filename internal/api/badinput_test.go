// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// event returns the JSON of a valid org.change_role event with the given
// extra or replaced fields (raw JSON values).
func eventJSON(fields map[string]string) string {
	base := map[string]string{
		"type":     `"org.change_role"`,
		"actor":    `{"type":"user","id":"u1","name":"alice"}`,
		"targets":  `[{"type":"user","id":"u2","name":"bob"}]`,
		"metadata": `{"old_role":"read","new_role":"admin"}`,
	}
	for k, v := range fields {
		base[k] = v
	}
	var parts []string
	for k, v := range base {
		if v != "" {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func batchJSON(events ...string) []byte {
	return []byte(`{"events":[` + strings.Join(events, ",") + `]}`)
}

func TestIngestBadInput(t *testing.T) {
	good := eventJSON(nil)
	many := make([]string, 1001)
	for i := range many {
		many[i] = good
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	pad := bytes.Repeat([]byte(" "), audit.DefaultMaxBody)
	tests := []struct {
		name        string
		contentType string
		body        []byte
		status      int
		code        string
	}{
		{"malformed JSON", "application/json", []byte(`{"events":[{]}`), 400, "invalid_request"},
		{"truncated JSON", "", []byte(`{"events":[` + good), 400, "invalid_request"},
		{"empty body", "", nil, 400, "invalid_request"},
		{"no events", "", []byte(`{"events":[]}`), 400, "invalid_request"},
		{"events not an array", "", []byte(`{"events":{}}`), 400, "invalid_request"},
		{"unknown envelope field", "", []byte(`{"evnts":[]}`), 400, "invalid_request"},
		{"invalid UTF-8", "", batchJSON(eventJSON(map[string]string{"description": "\"caf\xe9\""})), 400, "invalid_request"},
		{"bad NDJSON line", "application/x-ndjson", []byte(good + "\n{nope\n"), 400, "invalid_request"},
		{"event not an object", "", batchJSON(`42`), 422, "invalid_event"},
		{"wrong types", "", batchJSON(eventJSON(map[string]string{"type": "5", "actor": `"alice"`, "targets": `{}`})), 422, "invalid_event"},
		{"unknown type", "", batchJSON(eventJSON(map[string]string{"type": `"repo.explode"`})), 422, "invalid_event"},
		{"type in wrong case", "", batchJSON(eventJSON(map[string]string{"type": `"ORG.CHANGE_ROLE"`})), 422, "invalid_event"},
		{"unknown field", "", batchJSON(eventJSON(map[string]string{"colour": `"red"`})), 422, "invalid_event"},
		{"bad id", "", batchJSON(eventJSON(map[string]string{"id": `"a/b"`})), 422, "invalid_event"},
		{"bad ip", "", batchJSON(eventJSON(map[string]string{"client": `{"ip":"999.1.1.1"}`})), 422, "invalid_event"},
		{"description over bound", "", batchJSON(eventJSON(map[string]string{"description": `"` + strings.Repeat("d", audit.DefaultMaxDescription+1) + `"`})), 422, "invalid_event"},
		{"event over bound", "", batchJSON(eventJSON(map[string]string{"metadata": `{"new_role":"a","x":"` + strings.Repeat("x", audit.DefaultMaxEvent) + `"}`})), 422, "invalid_event"},
		{"future occurred_at", "", batchJSON(eventJSON(map[string]string{"occurred_at": `"` + future + `"`})), 422, "invalid_event"},
		{"bad occurred_at", "", batchJSON(eventJSON(map[string]string{"occurred_at": `"yesterday"`})), 422, "invalid_event"},
		{"secret value", "", batchJSON(`{"type":"repo.add_secrets","actor":{"type":"user","id":"u"},"targets":[{"type":"repo","name":"acme/x"}],"metadata":{"names":["HF_TOKEN"],"value":"hunter2"}}`), 422, "invalid_event"},
		{"batch of 1001", "", batchJSON(many...), 413, "too_large"},
		{"body one byte over", "", append(batchJSON(good), pad[:audit.DefaultMaxBody+1-len(batchJSON(good))]...), 413, "too_large"},
		{"body far over", "", append(batchJSON(good), pad...), 413, "too_large"},
		{"text/plain", "text/plain", batchJSON(good), 415, "unsupported_media"},
		{"form", "application/x-www-form-urlencoded", batchJSON(good), 415, "unsupported_media"},
		{"bad content type", "application/json; =", batchJSON(good), 415, "unsupported_media"},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/orgs/acme/events", e.Admin, tt.contentType, tt.body)
			if got := r.apiError(); r.Status != tt.status || got.Code != tt.code || got.Message == "" {
				t.Errorf("got %d %s, want %d %s", r.Status, truncate(r.Body), tt.status, tt.code)
			}
			if n := e.size("acme"); n != 0 {
				t.Fatalf("size = %d after a rejected request, want 0", n)
			}
		})
	}
	if r := e.do("POST", "/api/v1/orgs/acme/events", e.Admin, "", batchJSON(good)); r.Status != 200 {
		t.Fatalf("the good event itself: %d %s", r.Status, r.Body)
	}
}

func TestReadBadInput(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("", "bob"))
	tests := []struct {
		path     string
		position bool
	}{
		{"/api/v1/orgs/acme/events?q=" + url.QueryEscape(`autor:alice`), true},
		{"/api/v1/orgs/acme/events?q=" + url.QueryEscape(`type:nope.nope`), true},
		{"/api/v1/orgs/acme/events?q=" + url.QueryEscape(`"unclosed`), true},
		{"/api/v1/orgs/acme/events?q=" + url.QueryEscape(`created:2026-13-45`), true},
		{"/api/v1/orgs/acme/events?q=" + strings.Repeat("a", 5000), true},
		{"/api/v1/orgs/acme/events?limit=0", false},
		{"/api/v1/orgs/acme/events?limit=1001", false},
		{"/api/v1/orgs/acme/events?limit=abc", false},
		{"/api/v1/orgs/acme/events?limit=-1", false},
		{"/api/v1/orgs/acme/events?order=sideways", false},
		{"/api/v1/orgs/acme/events?after_seq=3", false},
		{"/api/v1/orgs/acme/events?order=asc&after_seq=-1", false},
		{"/api/v1/orgs/acme/events?order=asc&after_seq=x", false},
		{"/api/v1/orgs/acme/events?cursor=%21%21", false},
		{"/api/v1/orgs/acme/events?cursor=ZDU", false}, // a desc cursor used with asc below
		{"/api/v1/orgs/acme/export?format=xml", false},
		{"/api/v1/orgs/acme/export?q=" + url.QueryEscape(`country:France`), true},
		{"/api/v1/orgs/acme/activity?from=yesterday", false},
		{"/api/v1/orgs/acme/activity?from=2026-01-10&to=2026-01-01", false},
		{"/api/v1/orgs/acme/activity?from=2024-01-01&to=2026-01-01", false},
		{"/api/v1/orgs/bad%20org/events", false},
		{"/api/v1/orgs/" + strings.Repeat("o", 97) + "/events", false},
	}
	tests[14].path += "&order=asc"
	for _, tt := range tests {
		r := e.get(tt.path, e.Admin)
		got := r.apiError()
		if r.Status != 400 || got.Code != "invalid_request" || got.Message == "" {
			t.Errorf("GET %s: got %d %s, want 400 invalid_request", tt.path, r.Status, truncate(r.Body))
			continue
		}
		if tt.position && (got.Position == nil || !strings.Contains(got.Message, "position")) {
			t.Errorf("GET %s: %s, want a position", tt.path, r.Body)
		}
	}
	if n := e.size("acme"); n != 1 {
		t.Errorf("size = %d, want 1: bad reads and exports record nothing", n)
	}
}

func TestSearchErrorPosition(t *testing.T) {
	e := newEnv(t)
	r := e.get("/api/v1/orgs/acme/events?q="+url.QueryEscape(`actor:alice autor:bob`), e.Admin)
	if got := r.apiError(); got.Position == nil || *got.Position != 12 {
		t.Errorf("got %s, want position 12", r.Body)
	}
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
