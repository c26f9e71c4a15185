// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
)

// TestHubExportAlias: GET /api/organizations/{org}/audit-log/export, the
// Hub's documented route, serves the JSON export with the same scopes
// (issue 13, defect 3: it answered 404).
func TestHubExportAlias(t *testing.T) {
	e := newEnv(t)
	const n = 5
	listed := seedExport(t, e, n)
	read := e.key(audit.ScopeRead, "acme")
	r := e.get("/api/organizations/acme/audit-log/export", read)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("Hub export: %d %q %s; want 200 application/json", r.Status, r.Header.Get("Content-Type"), truncate(r.Body))
	}
	if cd := r.Header.Get("Content-Disposition"); !bytes.HasPrefix([]byte(cd), []byte("attachment")) {
		t.Errorf("Content-Disposition %q; want an attachment", cd)
	}
	var doc exportDoc
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("Hub export is not one JSON document: %v", err)
	}
	if doc.Format != "trail.export/v1" || doc.Org != "acme" || doc.Size != n || len(doc.Events) != n {
		t.Errorf("Hub export: format %q org %q size %d, %d events; want trail.export/v1 acme %d", doc.Format, doc.Org, doc.Size, len(doc.Events), n)
	}
	for i, raw := range doc.Events {
		if !bytes.Equal(raw, listed[i]) {
			t.Errorf("seq %d: Hub export bytes differ from the list API's", i)
		}
	}
	if ev := exportEvent(t, e, n); ev.Metadata["format"] != "json" {
		t.Errorf("the Hub export was recorded as %v; want an org.audit_log.export event, format json", ev.Metadata)
	}
	cases := []struct {
		name, path, key string
		status          int
	}{
		{"ingest key", "/api/organizations/acme/audit-log/export", e.key(audit.ScopeIngest, "acme"), 403},
		{"no key", "/api/organizations/acme/audit-log/export", "", 401},
		{"key of another org", "/api/organizations/acme/audit-log/export", e.key(audit.ScopeRead, "other"), 404},
		{"csv", "/api/organizations/acme/audit-log/export?format=csv", read, 400},
	}
	for _, c := range cases {
		if r := e.get(c.path, c.key); r.Status != c.status {
			t.Errorf("%s: got %d %s, want %d", c.name, r.Status, truncate(r.Body), c.status)
		}
	}
}
