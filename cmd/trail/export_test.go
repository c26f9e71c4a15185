// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/geo/geotest"
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
	Integrity  struct {
		Checkpoint  string   `json:"checkpoint"`
		VerifierKey string   `json:"verifier_key"`
		Hashes      []string `json:"hashes"`
	} `json:"integrity"` // docs/integrity.md
}

// exportEvents returns the org.audit_log.export events, newest first.
func exportEvents(t *testing.T, c *client.Client) []json.RawMessage {
	t.Helper()
	page, err := c.List(testCtx(t), "acme", client.ListOptions{Query: "type:org.audit_log.export", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

// TestExportCLI runs `trail export` beside a server on the same data.
func TestExportCLI(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	// geotest's database puts 81.2.69.0/24 in London.
	s := serveOn(t, bin, data, "--geoip", geotest.WriteDB(t, t.TempDir()))
	key := createKeyCLI(t, bin, data, "--scope", "admin", "--org", "acme")
	c := apiClient(s.Base, key)

	var events []client.Event
	for i := range 20 {
		events = append(events, repoCreate(i, "acme/model-"+strconv.Itoa(i)))
	}
	formula := repoCreate(20, "acme/formula")
	formula.Description = `=HYPERLINK("http://evil.example","click")`
	events = append(events, formula)
	for i := range 9 {
		events = append(events, client.Event{
			ID: "role-" + strconv.Itoa(i), Type: "org.change_role",
			Actor:    client.Actor{Type: "user", ID: "u1", Name: "alice"},
			Targets:  []client.Target{{Type: "user", ID: "u2", Name: "bob"}},
			Metadata: map[string]any{"old_role": "read", "new_role": "write"},
		})
	}
	if _, err := c.Ingest(testCtx(t), "acme", events); err != nil {
		t.Fatal(err)
	}
	n := int64(len(events))

	t.Run("json to a file", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "acme.json")
		res := mustRun(t, bin, nil, "export", "--org", "acme", "--format", "json", "--out", out, "--data", data)
		if res.stdout != "" {
			t.Errorf("export --out: stdout %q, want nothing", res.stdout)
		}
		summary := "exported " + strconv.FormatInt(n, 10) + " events of acme (log size " + strconv.FormatInt(n, 10) + ") as json to " + out
		if !strings.Contains(res.stderr, summary) {
			t.Errorf("stderr %q, want the summary %q", res.stderr, summary)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("81.2.69.160")) {
			t.Errorf("the JSON export holds a full client IP")
		}
		var doc exportDoc
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%s is not an export document: %v", out, err)
		}
		if doc.Format != "trail.export/v1" || doc.Org != "acme" || doc.Size != n || doc.Count != n || doc.Filter != "" || doc.ExportedAt == "" {
			t.Errorf("export document: format %q org %q size %d count %d filter %q exported_at %q; want trail.export/v1 acme %d %d, no filter",
				doc.Format, doc.Org, doc.Size, doc.Count, doc.Filter, doc.ExportedAt, n, n)
		}
		if int64(len(doc.Events)) != n {
			t.Fatalf("export has %d events, want %d", len(doc.Events), n)
		}
		for i, raw := range doc.Events {
			if e := decodeEvent(t, raw); e.Seq != int64(i) || e.Org != "acme" {
				t.Fatalf("export event %d: seq %d org %q, want seq %d org acme", i, e.Seq, e.Org, i)
			}
		}
		if l := decodeEvent(t, doc.Events[0]).Location; l == nil || l.CountryCode != "GB" || l.City != "London" {
			t.Errorf("export event 0, from 81.2.69.160: location %+v, want GB London", l)
		}

		// The export is itself recorded, after N, as Trail's own event.
		recorded := exportEvents(t, c)
		if len(recorded) != 1 {
			t.Fatalf("%d org.audit_log.export events, want 1", len(recorded))
		}
		if !bytes.Contains(recorded[0], []byte(`"recorded_by":"trail"`)) {
			t.Errorf("export event %s: want \"recorded_by\":\"trail\"", recorded[0])
		}
		e := decodeEvent(t, recorded[0])
		if e.Seq < n || e.Metadata["format"] != "json" || e.Metadata["size"] != float64(n) {
			t.Errorf("export event: seq %d metadata %v; want seq >= %d, format json, size %d", e.Seq, e.Metadata, n, n)
		}
	})

	t.Run("csv to stdout", func(t *testing.T) {
		size := logSize(t, c, "acme")
		res := mustRun(t, bin, nil, "export", "--org", "acme", "--format", "csv", "--data", data)
		records, err := csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
		if err != nil {
			t.Fatalf("export --format csv is not CSV: %v", err)
		}
		header := []string{"seq", "id", "occurred_at", "received_at", "type", "category",
			"actor_type", "actor_id", "actor_name", "targets", "description",
			"ip", "ip_prefix_len", "user_agent", "country_code", "country", "region", "city",
			"metadata", "recorded_by"}
		if !slices.Equal(records[0], header) {
			t.Fatalf("CSV header %q, want %q", records[0], header)
		}
		if int64(len(records)-1) != size {
			t.Errorf("CSV has %d rows, want %d (the log size)", len(records)-1, size)
		}
		col := func(r []string, name string) string { return r[slices.Index(header, name)] }
		for _, r := range records[1:] {
			if r[1] == formula.ID && col(r, "description") != "'"+formula.Description {
				t.Errorf("CSV description %q: want the formula neutralised with a leading '", col(r, "description"))
			}
		}
		// The client and location columns of one event.
		row := records[1] // seq 0, ev-0, from 81.2.69.160
		want := map[string]string{
			"id": "ev-0", "ip": "81.2.69.0", "ip_prefix_len": "24", "user_agent": "trail-e2e",
			"country_code": "GB", "country": "United Kingdom", "region": "England", "city": "London",
		}
		for name, v := range want {
			if got := col(row, name); got != v {
				t.Errorf("CSV row of ev-0, %s: got %q, want %q", name, got, v)
			}
		}
		if strings.Contains(res.stdout, "81.2.69.160") {
			t.Errorf("the CSV export holds a full client IP")
		}
		if !strings.Contains(res.stderr, "as csv") {
			t.Errorf("stderr %q, want a summary", res.stderr)
		}
	})

	t.Run("filtered", func(t *testing.T) {
		res := mustRun(t, bin, nil, "export", "--org", "acme", "--format", "ndjson", "--q", "type:repo.create", "--data", data)
		lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
		if len(lines) != 21 {
			t.Errorf("export --q type:repo.create: %d events, want 21", len(lines))
		}
		for _, l := range lines {
			if e := decodeEvent(t, []byte(l)); e.Type != "repo.create" {
				t.Errorf("export --q type:repo.create has a %s event", e.Type)
			}
		}
		if e := decodeEvent(t, exportEvents(t, c)[0]); e.Metadata["filter"] != "type:repo.create" || e.Metadata["format"] != "ndjson" {
			t.Errorf("export event of a filtered export: metadata %v, want filter and format", e.Metadata)
		}
	})

	t.Run("rejected", func(t *testing.T) {
		before := len(exportEvents(t, c))
		tests := []struct {
			name   string
			args   []string
			code   int
			stderr string
		}{
			{"bad search", []string{"--org", "acme", "--q", "autor:x"}, 2, `search: at position 0: unknown qualifier "autor"`},
			{"no org", []string{"--format", "json"}, 2, "--org is required"},
			{"bad org", []string{"--org", "bad org"}, 2, `--org "bad org" is not a valid org identifier`},
			{"bad format", []string{"--org", "acme", "--format", "xml"}, 2, `unknown export format "xml"`},
			{"unwritable output", []string{"--org", "acme", "--out", filepath.Join(t.TempDir(), "no", "such", "dir", "x.json")}, 1, "no such file or directory"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := runTrail(t, bin, nil, append([]string{"export", "--data", data}, tt.args...)...)
				if res.code != tt.code {
					t.Errorf("exit status %d, want %d", res.code, tt.code)
				}
				if res.stdout != "" {
					t.Errorf("stdout %q, want nothing", res.stdout)
				}
				if !strings.Contains(res.stderr, tt.stderr) {
					t.Errorf("stderr %q, want it to contain %q", res.stderr, tt.stderr)
				}
			})
		}
		if after := len(exportEvents(t, c)); after != before {
			t.Errorf("rejected exports were recorded: %d export events, want %d", after, before)
		}
	})
}
