// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/api"
	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/logstore"
)

func TestHealthAndReadiness(t *testing.T) {
	e := newEnv(t)
	if r := e.get("/healthz", ""); r.Status != 200 || string(r.Body) != "ok\n" {
		t.Errorf("healthz: %d %q", r.Status, r.Body)
	}
	e.Ready.Store(false)
	r := e.get("/readyz", "")
	if r.Status != 503 || r.apiError().Code != "unavailable" || r.Header.Get("Retry-After") != "1" {
		t.Errorf("readyz while not ready: %d %s", r.Status, r.Body)
	}
	if r := e.get("/healthz", ""); r.Status != 200 {
		t.Errorf("healthz while not ready: %d", r.Status)
	}
	e.Ready.Store(true)
	if r := e.get("/readyz", ""); r.Status != 200 {
		t.Errorf("readyz when ready: %d %s", r.Status, r.Body)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("", "bob"), repoCreate("", "x"))
	e.do("POST", "/api/v1/orgs/acme/events", e.Admin, "", []byte("{"))
	e.get("/api/v1/orgs/acme/events", e.Admin)
	r := e.get("/metrics", "")
	if r.Status != 200 {
		t.Fatalf("metrics: %d", r.Status)
	}
	for _, want := range []string{
		`trail_http_requests_total{code="200",route="GET /api/v1/orgs/{org}/events"} 1`,
		`trail_http_request_duration_seconds_count{route="POST /api/v1/orgs/{org}/events"} 2`,
		`trail_ingest_events_total 2`,
		`trail_ingest_batch_size_count 1`,
		`trail_ingest_rejected_batches_total{code="invalid_request"} 1`,
		`trail_ingest_rejected_events_total{code="invalid_request"} 0`,
		`trail_events_committed_total 2`,
		`trail_commit_duration_seconds_count`,
		`trail_commit_group_events_bucket`,
		`trail_store_errors_total 0`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !bytes.Contains(r.Body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/api/v1/catalog", "/nope", "/api/v1/orgs/acme/events", "/healthz", "/metrics", "/openapi.yaml"} {
		r := e.get(path, "")
		for k, v := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"Cache-Control":           "no-store",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
			"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t)
	r := e.get("/api/v1/nope", e.Admin)
	if r.Status != 404 || r.apiError().Code != "not_found" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("unknown route: %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	r = e.do("DELETE", "/api/v1/orgs/acme/events", e.Admin, "", nil)
	if r.Status != 405 || r.apiError().Code != "method_not_allowed" || !strings.Contains(r.Header.Get("Allow"), "POST") {
		t.Errorf("wrong method: %d %q %s", r.Status, r.Header.Get("Allow"), r.Body)
	}
	if n := e.size("acme"); n != 0 {
		t.Errorf("size = %d", n)
	}
}

func TestCatalog(t *testing.T) {
	e := newEnv(t)
	cat, err := client.New(e.URL, "").Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	types := map[string]client.EventType{}
	for _, c := range cat.Categories {
		slugs = append(slugs, c.Slug)
		for _, ty := range c.Types {
			types[ty.Name] = ty
		}
	}
	if want := []string{"organization", "membership", "content", "billing", "resource_groups", "jobs", "audit_log"}; !slices.Equal(slugs, want) {
		t.Errorf("categories %v, want %v", slugs, want)
	}
	if len(types) < 103 {
		t.Errorf("%d types, want at least 103", len(types))
	}
	if !types["org.audit_log.export"].RecordedByTrail {
		t.Error("org.audit_log.export is not marked recorded_by_trail")
	}
	cr := types["org.change_role"]
	if cr.Template == "" || len(cr.Targets) == 0 || !cr.Targets[0].Required || len(cr.Metadata) == 0 {
		t.Errorf("org.change_role = %+v", cr)
	}
	if !types["repo.add_secrets"].NamesOnly {
		t.Error("repo.add_secrets is not names_only")
	}
}

func TestActivity(t *testing.T) {
	e := newEnv(t)
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d.Add(13 * time.Hour) }
	ev := func(c client.Event, on string) client.Event { c.OccurredAt = day(on); return c }
	e.ingest("acme",
		ev(changeRole("", "a"), "2026-03-02"), ev(changeRole("", "b"), "2026-03-02"),
		ev(repoCreate("", "x"), "2026-03-02"), ev(repoCreate("", "y"), "2026-03-04"),
		ev(repoCreate("", "z"), "2026-02-27"))
	act, err := e.client(e.Admin).Activity(context.Background(), "acme", "2026-03-01", "2026-03-05")
	if err != nil {
		t.Fatal(err)
	}
	if len(act.Days) != 5 {
		t.Fatalf("%d days, want 5", len(act.Days))
	}
	want := []struct {
		day                 string
		membership, content int64
	}{{"2026-03-01", 0, 0}, {"2026-03-02", 2, 1}, {"2026-03-03", 0, 0}, {"2026-03-04", 0, 1}, {"2026-03-05", 0, 0}}
	for i, w := range want {
		d := act.Days[i]
		if d.Day != w.day || d.Counts["membership"] != w.membership || d.Counts["content"] != w.content || d.Total != w.membership+w.content {
			t.Errorf("day %d = %+v, want %+v", i, d, w)
		}
		if _, ok := d.Counts["billing"]; !ok {
			t.Errorf("day %s lacks a zero for billing", d.Day)
		}
	}
	def, err := e.client(e.Admin).Activity(context.Background(), "acme", "", "")
	if err != nil || len(def.Days) != 30 || def.Days[29].Day != time.Now().UTC().Format(time.DateOnly) {
		t.Errorf("default range: %v, %d days", err, len(def.Days))
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.get("/openapi.yaml", "")
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/yaml" || !bytes.HasPrefix(r.Body, []byte("openapi: 3.1")) {
		t.Errorf("openapi.yaml: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
}

// TestOpenAPIMatchesRoutes holds the hand-written OpenAPI file against the
// route table, in both directions.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	documented := openAPIOperations(t, api.OpenAPIYAML)
	served := map[string]bool{}
	for _, rt := range api.RouteTable() {
		served[rt.Method+" "+rt.Pattern] = true
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("route %s is not in openapi.yaml", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("openapi.yaml documents %s, which the API does not serve", op)
		}
	}
}

var (
	pathLine   = regexp.MustCompile(`^  (/[^:]*):\s*$`)
	methodLine = regexp.MustCompile(`^    (get|put|post|delete|patch|head|options|trace):\s*$`)
)

// openAPIOperations reads the "METHOD /path" pairs of the paths section
// with a line-based parse: paths at two spaces of indent, methods at four.
func openAPIOperations(t *testing.T, doc []byte) map[string]bool {
	ops := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(doc))
	inPaths, path := false, ""
	for sc.Scan() {
		line := sc.Text()
		if line != "" && line[0] != ' ' && line[0] != '#' {
			inPaths = line == "paths:"
			continue
		}
		if !inPaths {
			continue
		}
		if m := pathLine.FindStringSubmatch(line); m != nil {
			path = m[1]
		} else if m := methodLine.FindStringSubmatch(line); m != nil && path != "" {
			ops[strings.ToUpper(m[1])+" "+path] = true
		}
	}
	if len(ops) == 0 {
		t.Fatal("no operations found in openapi.yaml")
	}
	return ops
}

// TestSetService covers the wiring where the API is built first so that
// the service can take its Metrics.
func TestSetService(t *testing.T) {
	store, err := logstore.Open(t.TempDir(), logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	a := api.New(api.Config{Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(a)
	defer srv.Close()
	status := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("/healthz"); got != 200 {
		t.Errorf("healthz before SetService: %d", got)
	}
	if got := status("/readyz"); got != 503 {
		t.Errorf("readyz before SetService: %d, want 503", got)
	}
	svc := audit.NewService(audit.Config{Store: store, Metrics: a.Metrics()})
	defer svc.Close()
	a.SetService(svc)
	if got := status("/readyz"); got != 200 {
		t.Errorf("readyz after SetService: %d, want 200", got)
	}
	if got := status("/api/v1/catalog"); got != 200 {
		t.Errorf("catalog after SetService: %d, want 200", got)
	}
}
