// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/audit"
)

// exportDoc is the JSON export document.
type exportDoc struct {
	Format     string            `json:"format"`
	Org        string            `json:"org"`
	ExportedAt string            `json:"exported_at"`
	Size       int64             `json:"size"`
	Filter     string            `json:"filter"`
	Events     []json.RawMessage `json:"events"`
	Count      int64             `json:"count"`
}

// download runs an export and reads it whole.
func download(t *testing.T, e *env, key, org, format, q string) ([]byte, string) {
	t.Helper()
	rc, name, err := e.client(key).Export(context.Background(), org, format, q)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading export: %v", err)
	}
	return b, name
}

func exportJSON(t *testing.T, e *env, key, org, q string) exportDoc {
	t.Helper()
	b, _ := download(t, e, key, org, "json", q)
	var doc exportDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("export is not one JSON document: %v", err)
	}
	return doc
}

// seedExport ingests n events, one of them with a formula-like
// description, and returns the list API's bytes by seq.
func seedExport(t *testing.T, e *env, n int) []json.RawMessage {
	t.Helper()
	var evs []client.Event
	for i := range n {
		ev := changeRole(fmt.Sprintf("x-%d", i), fmt.Sprintf("m%d", i))
		if i%2 == 1 {
			ev = repoCreate(fmt.Sprintf("x-%d", i), fmt.Sprintf("r%d", i))
		}
		evs = append(evs, ev)
	}
	evs[0].Description = "=cmd|' /C calc'!A0"
	e.ingest("acme", evs...)
	return e.all("acme")
}

func TestExportJSON(t *testing.T) {
	e := newEnv(t)
	const n = 7
	listed := seedExport(t, e, n)
	key := e.key(audit.ScopeRead, "acme")
	doc := exportJSON(t, e, key, "acme", "")
	if doc.Format != "trail.export/v1" || doc.Org != "acme" || doc.Size != n || doc.Count != n {
		t.Errorf("export header = %q %q size %d count %d", doc.Format, doc.Org, doc.Size, doc.Count)
	}
	if _, err := time.Parse(time.RFC3339, doc.ExportedAt); err != nil {
		t.Errorf("exported_at %q: %v", doc.ExportedAt, err)
	}
	if len(doc.Events) != n {
		t.Fatalf("%d events, want %d", len(doc.Events), n)
	}
	for i, raw := range doc.Events {
		if s := decodeStored(t, raw).Seq; s != int64(i) {
			t.Errorf("event %d has seq %d", i, s)
		}
		if !bytes.Equal(raw, listed[i]) {
			t.Errorf("seq %d: export bytes\n%s\ndiffer from list bytes\n%s", i, raw, listed[i])
		}
	}
	logged := exportEvent(t, e, n)
	if logged.Metadata["format"] != "json" || logged.Metadata["size"] != float64(n) {
		t.Errorf("export event metadata = %v, want format json, size %d", logged.Metadata, n)
	}
	if logged.RecordedBy != "trail" {
		t.Errorf("export event recorded_by = %q, want trail", logged.RecordedBy)
	}
}

// exportEvent returns the org.audit_log.export event at seq >= n.
func exportEvent(t *testing.T, e *env, n int) stored {
	t.Helper()
	all := e.all("acme")
	for _, raw := range all[n:] {
		if ev := decodeStored(t, raw); ev.Type == "org.audit_log.export" {
			return ev
		}
	}
	t.Fatalf("no org.audit_log.export event at seq >= %d among %d events", n, len(all))
	return stored{}
}

func TestExportFiltered(t *testing.T) {
	e := newEnv(t)
	const n = 6
	listed := seedExport(t, e, n)
	doc := exportJSON(t, e, e.Admin, "acme", "type:repo.create")
	if doc.Size != n || doc.Filter != "type:repo.create" || len(doc.Events) != n/2 {
		t.Fatalf("filtered export: size %d filter %q %d events; want %d, type:repo.create, %d", doc.Size, doc.Filter, len(doc.Events), n, n/2)
	}
	for _, raw := range doc.Events {
		ev := decodeStored(t, raw)
		if ev.Type != "repo.create" || !bytes.Equal(raw, listed[ev.Seq]) {
			t.Errorf("event seq %d type %s does not belong or differs", ev.Seq, ev.Type)
		}
	}
	logged := exportEvent(t, e, n)
	if logged.Metadata["filter"] != "type:repo.create" {
		t.Errorf("export event metadata = %v, want the filter", logged.Metadata)
	}
}

func TestExportNDJSON(t *testing.T) {
	e := newEnv(t)
	listed := seedExport(t, e, 5)
	b, name := download(t, e, e.Admin, "acme", "ndjson", "")
	if !strings.HasPrefix(name, "acme-audit-log-") || !strings.HasSuffix(name, ".ndjson") {
		t.Errorf("filename %q", name)
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5", len(lines))
	}
	for i, l := range lines {
		if !bytes.Equal(l, listed[i]) {
			t.Errorf("line %d differs from the list bytes", i)
		}
	}
}

func TestExportCSV(t *testing.T) {
	e := newEnv(t)
	seedExport(t, e, 3)
	b, name := download(t, e, e.Admin, "acme", "csv", "")
	if !strings.HasSuffix(name, ".csv") {
		t.Errorf("filename %q", name)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][0] != "seq" {
		t.Fatalf("%d rows, first %v; want a header and 3 rows", len(rows), rows[0])
	}
	col := -1
	for i, h := range rows[0] {
		if h == "description" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("no description column in %v", rows[0])
	}
	if got := rows[1][col]; got != "'=cmd|' /C calc'!A0" {
		t.Errorf("description cell = %q, want the formula neutralised with a leading '", got)
	}
}

func TestExportHeaders(t *testing.T) {
	e := newEnv(t)
	seedExport(t, e, 2)
	r := e.get("/api/v1/orgs/acme/export", e.Admin)
	today := time.Now().UTC().Format("2006-01-02")
	if got, want := r.Header.Get("Content-Disposition"), `attachment; filename="acme-audit-log-`+today+`.json"`; got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
}

// scanFailStore fails Scan after emitting `after` events.
type scanFailStore struct {
	audit.Store
	after int
}

func (s scanFailStore) Scan(ctx context.Context, org string, from, to int64, f audit.Filter, fn func(int64, []byte) error) error {
	n := 0
	err := s.Store.Scan(ctx, org, from, to, f, func(seq int64, data []byte) error {
		if n == s.after {
			return errors.New("disk on fire")
		}
		n++
		return fn(seq, data)
	})
	return err
}

func TestExportFailureBeforeFirstByteIsJSONError(t *testing.T) {
	e := newEnvWith(t, envOptions{wrap: func(s audit.Store) audit.Store { return scanFailStore{s, 0} }})
	e.ingest("acme", changeRole("", "bob"))
	r := e.get("/api/v1/orgs/acme/export?format=ndjson", e.Admin)
	if r.Status != 500 || r.apiError().Code != "internal" || r.Header.Get("Content-Disposition") != "" {
		t.Fatalf("got %d %s %q, want a 500 JSON error without attachment", r.Status, r.Body, r.Header.Get("Content-Disposition"))
	}
	if bytes.Contains(r.Body, []byte("disk on fire")) || !bytes.Contains(e.Logs.Bytes(), []byte("disk on fire")) {
		t.Errorf("the cause must be logged, not shown: body %s", r.Body)
	}
}

func TestExportFailureMidStreamTruncates(t *testing.T) {
	e := newEnvWith(t, envOptions{wrap: func(s audit.Store) audit.Store { return scanFailStore{s, 300} }})
	var evs []client.Event
	for i := range 400 {
		evs = append(evs, changeRole(fmt.Sprintf("e%d", i), "bob"))
	}
	e.ingest("acme", evs...)
	rc, _, err := e.client(e.Admin).Export(context.Background(), "acme", "ndjson", "")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	lines := 0
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		lines++
	}
	if sc.Err() == nil {
		t.Fatalf("the export ended cleanly after %d lines; a failed export must end in a transfer error", lines)
	}
	if lines >= 300 {
		t.Errorf("read %d lines, more than were produced", lines)
	}
}
