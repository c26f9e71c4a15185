// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
)

// TestUnknownQueryParameter: a parameter a route does not read is a 400
// naming it, never silently ignored (an export that looks filtered but
// holds the whole log).
func TestUnknownQueryParameter(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("", "bob"), repoCreate("", "llama"))
	tests := []struct {
		path, name, hint string
	}{
		{"/api/v1/orgs/acme/events?type=repo.delete", "type", "q=type:VALUE"},
		{"/api/v1/orgs/acme/export?type=repo.delete", "type", "q=type:VALUE"},
		{"/api/v1/orgs/acme/export?format=csv&actor=alice", "actor", "q=actor:VALUE"},
		{"/api/v1/orgs/acme/events?limt=5", "limt", "known parameters: q, limit, cursor, order, after_seq"},
		{"/api/v1/orgs/acme/events?q=a&q=b", "q", "given 2 times"},
		{"/api/v1/orgs/acme/activity?days=7", "days", "known parameters: from, to"},
		{"/api/v1/orgs/acme/checkpoint?fmt=text", "fmt", "known parameters: format"},
		{"/api/v1/orgs/acme/consistency?from=1&size=2", "size", "known parameters: from, to"},
		{"/api/v1/catalog?lang=fr", "lang", "known parameters: none"},
		{"/api/v1/verifier-key?x=1", "x", "known parameters: none"},
	}
	for _, tt := range tests {
		r := e.get(tt.path, e.Admin)
		got := r.apiError()
		if r.Status != 400 || got.Code != "invalid_request" || !strings.Contains(got.Message, `"`+tt.name+`"`) || !strings.Contains(got.Message, tt.hint) {
			t.Errorf("GET %s: got %d %s, want 400 naming %q with %q", tt.path, r.Status, truncate(r.Body), tt.name, tt.hint)
		}
	}
	if n := e.size("acme"); n != 2 {
		t.Errorf("size = %d, want 2: a refused export records nothing", n)
	}
}

// TestInvalidParameterValues: values the route cannot honour are 400s.
func TestInvalidParameterValues(t *testing.T) {
	e := newEnv(t)
	ingestN(t, e, "acme", 30)
	first, err := e.client(e.Admin).List(context.Background(), "acme", client.ListOptions{Limit: 5, Query: "type:org.change_role", Order: client.Asc})
	if err != nil || first.NextCursor == "" {
		t.Fatalf("first page: %v %v", first, err)
	}
	cur := url.QueryEscape(first.NextCursor)
	tests := []struct{ path, want string }{
		{"/api/v1/orgs/acme/export?integrity=yes", "integrity must be 1"},
		{"/api/v1/orgs/acme/events?order=asc&after_seq=3&cursor=" + cur, "cursor and after_seq cannot be combined"},
		{"/api/v1/orgs/acme/events?order=asc&q=type:repo.create&cursor=" + cur, "another search string"},
		{"/api/v1/orgs/acme/events?order=asc&cursor=" + cur, "another search string"},
	}
	for _, tt := range tests {
		r := e.get(tt.path, e.Admin)
		if got := r.apiError(); r.Status != 400 || !strings.Contains(got.Message, tt.want) {
			t.Errorf("GET %s: got %d %s, want 400 with %q", tt.path, r.Status, truncate(r.Body), tt.want)
		}
	}
	// The same q goes on.
	next, err := e.client(e.Admin).List(context.Background(), "acme", client.ListOptions{Limit: 5, Query: "type:org.change_role", Order: client.Asc, Cursor: first.NextCursor})
	if err != nil || len(next.Events) != 5 {
		t.Fatalf("second page with the same q: %d events, %v", len(next.Events), err)
	}
	for _, ok := range []string{"integrity=1", "integrity=0", "integrity=true", "integrity=false"} {
		if r := e.get("/api/v1/orgs/acme/export?format=ndjson&"+ok, e.Admin); r.Status != 200 {
			t.Errorf("export ?%s: %d %s", ok, r.Status, truncate(r.Body))
		}
	}
}

// TestHeadExportRecordsNothing: a HEAD (a monitoring probe, curl -I)
// answers the headers of an export without exporting or recording one.
func TestHeadExportRecordsNothing(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("", "bob"))
	for range 3 {
		r := e.do("HEAD", "/api/v1/orgs/acme/export?format=csv", e.Admin, "", nil)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(r.Header.Get("Content-Disposition"), `acme-audit-log-`) {
			t.Fatalf("HEAD export: %d %v", r.Status, r.Header)
		}
	}
	if r := e.do("HEAD", "/api/v1/orgs/acme/export?format=xml", e.Admin, "", nil); r.Status != 400 {
		t.Errorf("HEAD export with a bad format: %d, want 400", r.Status)
	}
	if n := e.size("acme"); n != 1 {
		t.Errorf("size = %d after HEAD requests, want 1: a HEAD records no export", n)
	}
}

// TestRequestLogMillis: the request log line carries its duration as a
// number of milliseconds, not a Go duration or nanoseconds.
func TestRequestLogMillis(t *testing.T) {
	e := newEnv(t)
	e.get("/api/v1/orgs/acme/events", e.Admin)
	for _, line := range strings.Split(string(e.Logs.Bytes()), "\n") {
		if !strings.Contains(line, `"msg":"request"`) {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if _, ok := rec["duration_ms"].(float64); !ok || rec["duration"] != nil {
			t.Errorf("request log line %s: want a numeric duration_ms and no duration", line)
		}
		return
	}
	t.Fatal("no request log line")
}

// TestBasicAuthSaysUseBearer: another scheme is told to use Bearer,
// without echoing the credentials.
func TestBasicAuthSaysUseBearer(t *testing.T) {
	e := newEnv(t)
	for hdr, want := range map[string]string{
		"Basic dXNlcjpwYXNz": "the Basic authorization scheme is not supported: use Bearer",
		"token " + e.Admin:   "the token authorization scheme is not supported: use Bearer",
		e.Admin:              "malformed Authorization header: send Authorization: Bearer",
	} {
		r := e.doAuth("GET", "/api/v1/orgs/acme/events", hdr)
		got := r.apiError()
		if r.Status != 401 || !strings.Contains(got.Message, want) || strings.Contains(string(r.Body), "dXNlcjpwYXNz") || strings.Contains(string(r.Body), e.Admin) {
			t.Errorf("Authorization: %.12s…: %d %s, want 401 with %q", hdr, r.Status, r.Body, want)
		}
	}
}

// TestLinkHeader: a page with a next one carries Link: <…>; rel="next",
// which fetches exactly the next_cursor page; the last page has none.
func TestLinkHeader(t *testing.T) {
	e := newEnv(t)
	ingestN(t, e, "acme", 7)
	r := e.get("/api/v1/orgs/acme/events?order=asc&after_seq=1&limit=3&q="+url.QueryEscape("-type:repo.delete"), e.Admin)
	var page struct {
		NextCursor string `json:"next_cursor"`
	}
	json.Unmarshal(r.Body, &page)
	m := regexp.MustCompile(`^<(/api/v1/orgs/acme/events\?[^>]+)>; rel="next"$`).FindStringSubmatch(r.Header.Get("Link"))
	if r.Status != 200 || m == nil || page.NextCursor == "" {
		t.Fatalf("first page: %d Link %q next_cursor %q", r.Status, r.Header.Get("Link"), page.NextCursor)
	}
	next := e.get(m[1], e.Admin)
	want := e.get("/api/v1/orgs/acme/events?order=asc&limit=3&q="+url.QueryEscape("-type:repo.delete")+"&cursor="+url.QueryEscape(page.NextCursor), e.Admin)
	if next.Status != 200 || string(next.Body) != string(want.Body) {
		t.Errorf("the Link page: %d %s\nwant %s", next.Status, truncate(next.Body), truncate(want.Body))
	}
	last := e.get("/api/v1/orgs/acme/events?limit=1000", e.Admin)
	if last.Header.Get("Link") != "" {
		t.Errorf("the last page has Link %q", last.Header.Get("Link"))
	}
}

// TestRequestID: every response carries X-Request-Id, the client's when
// sane, else a new one; the request log line carries it too.
func TestRequestID(t *testing.T) {
	e := newEnv(t)
	send := func(path, id string) reply {
		req, _ := http.NewRequest("GET", e.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+e.Admin)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		return e.send(req)
	}
	if got := send("/api/v1/orgs/acme/events", "trace-42:abc").Header.Get("X-Request-Id"); got != "trace-42:abc" {
		t.Errorf("X-Request-Id %q, want the client's", got)
	}
	if !strings.Contains(string(e.Logs.Bytes()), `"request_id":"trace-42:abc"`) {
		t.Error("the request log line does not carry the request id")
	}
	seen := map[string]bool{}
	for _, tc := range []struct{ path, id string }{
		{"/api/v1/orgs/acme/events", ""},
		{"/api/v1/orgs/acme/events", "bad id with spaces"},
		{"/api/v1/orgs/acme/events", strings.Repeat("x", 200)},
		{"/nope", ""},
		{"/healthz", ""},
	} {
		got := send(tc.path, tc.id).Header.Get("X-Request-Id")
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got) || seen[got] {
			t.Errorf("GET %s with X-Request-Id %.20q: got %q, want a new id", tc.path, tc.id, got)
		}
		seen[got] = true
	}
}

// TestGzipResponses: with Accept-Encoding: gzip, responses (exports
// included) are compressed and decompress to the same bytes.
func TestGzipResponses(t *testing.T) {
	e := newEnv(t)
	ingestN(t, e, "acme", 300)
	for _, path := range []string{"/api/v1/orgs/acme/events?limit=1000", "/api/v1/orgs/acme/export?format=ndjson", "/api/v1/catalog"} {
		plain := e.get(path, e.Admin)
		req, _ := http.NewRequest("GET", e.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+e.Admin)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("GET %s: Content-Encoding %q Vary %q, want gzip", path, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if strings.Contains(path, "export") {
			// the exported_at and size lines differ between two exports; compare events
			body, plain.Body = firstLines(body, 300), firstLines(plain.Body, 300)
		}
		if !bytes.Equal(body, plain.Body) || len(raw) >= len(body)/2 {
			t.Errorf("GET %s: %d gzip bytes decompress to %d, want the plain reply's %d bytes, at least halved", path, len(raw), len(body), len(plain.Body))
		}
	}
	r := e.get("/metrics", "")
	if r.Status != 200 || !strings.Contains(string(r.Body), "trail_") {
		t.Errorf("/metrics with the transparent gzip of Go's client: %d", r.Status)
	}
}

func firstLines(b []byte, n int) []byte {
	lines := bytes.SplitAfterN(b, []byte("\n"), n+1)
	return bytes.Join(lines[:min(n, len(lines))], nil)
}

// TestTimeZones: tz= makes activity days and date-only created: bounds
// days of that zone; UTC stays the default.
func TestTimeZones(t *testing.T) {
	e := newEnv(t)
	late := changeRole("late", "bob") // 23:30 UTC on the 15th is 00:30 on the 16th in Paris
	late.OccurredAt = time.Date(2026, 1, 15, 23, 30, 0, 0, time.UTC)
	early := repoCreate("early", "llama")
	early.OccurredAt = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)
	e.ingest("acme", late, early)

	day := func(tz string) map[string]int64 {
		path := "/api/v1/orgs/acme/activity?from=2026-01-15&to=2026-01-16"
		if tz != "" {
			path += "&tz=" + url.QueryEscape(tz)
		}
		r := e.get(path, e.Admin)
		var a struct {
			Days []struct {
				Day   string `json:"day"`
				Total int64  `json:"total"`
			} `json:"days"`
		}
		if err := json.Unmarshal(r.Body, &a); err != nil || r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		out := map[string]int64{}
		for _, d := range a.Days {
			out[d.Day] = d.Total
		}
		return out
	}
	if got := day(""); got["2026-01-15"] != 2 || got["2026-01-16"] != 0 {
		t.Errorf("UTC activity %v, want both events on the 15th", got)
	}
	if got := day("Europe/Paris"); got["2026-01-15"] != 1 || got["2026-01-16"] != 1 {
		t.Errorf("Paris activity %v, want one event on each day", got)
	}
	ids := func(query string) []string {
		r := e.get("/api/v1/orgs/acme/events?"+query, e.Admin)
		var p struct {
			Events []stored `json:"events"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil || r.Status != 200 {
			t.Fatalf("%s: %d %s", query, r.Status, r.Body)
		}
		var out []string
		for _, ev := range p.Events {
			out = append(out, ev.ID)
		}
		return out
	}
	if got := ids("q=created:2026-01-16"); len(got) != 0 {
		t.Errorf("created:2026-01-16 in UTC: %v, want none", got)
	}
	if got := ids("q=created:2026-01-16&tz=Europe/Paris"); len(got) != 1 || got[0] != "late" {
		t.Errorf("created:2026-01-16 in Paris: %v, want [late]", got)
	}
	for _, bad := range []string{"Mars/Olympus", "../../etc/passwd", "Local"} {
		if r := e.get("/api/v1/orgs/acme/activity?tz="+url.QueryEscape(bad), e.Admin); r.Status != 400 || !strings.Contains(r.apiError().Message, "time zone") {
			t.Errorf("tz=%s: %d %s, want 400", bad, r.Status, r.Body)
		}
	}
}
