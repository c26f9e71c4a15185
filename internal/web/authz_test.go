// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/api"
	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/web"
)

var update = flag.Bool("update", false, "rewrite testdata/authz.golden with the statuses Trail answers now")

// authzGolden is the authorization matrix: one row per route (API and
// page), one column per credential, each cell the status Trail answers.
const authzGolden = "testdata/authz.golden"

// Org A is the org every request targets; org B is the other tenant.
const (
	orgA, orgB     = "acme", "globex"
	markerA        = "ACME-PRIVATE-7f3a"  // in org A's events
	markerB        = "GLOBEX-SECRET-91c2" // in org B's events: never in an answer
	knownEventID   = "acme-known"
	matrixHowToFix = "add its row: run\n\tgo test ./internal/web/ -run TestAuthorizationMatrix -update\n" +
		"then read the new row in internal/web/testdata/authz.golden (one status per credential) and keep it only if every status is what that credential must get; " +
		"if the route needs a body, a query or a path value to be served, add a case to matrixRequest in internal/web/authz_test.go first"
)

// credential is one column of the matrix: what a request carries.
type credential struct {
	name    string
	key     string // a bearer secret, or ""
	session string // "" or the org a fresh page session is opened for
}

// credentials returns the matrix's columns: no key, an unknown, a revoked
// and an expired key, each scope bound to org A, to org B and unbound,
// and a page session of org A and of org B.
func credentials(t *testing.T, e *env) []credential {
	ctx := context.Background()
	key := func(k audit.Key) string {
		id, secret := audit.NewKeySecret()
		k.ID, k.Name, k.CreatedAt = id, id, time.Now()
		if err := e.Store.CreateKey(ctx, k, audit.HashSecret(secret)); err != nil {
			t.Fatal(err)
		}
		return secret
	}
	revoked := key(audit.Key{Scope: audit.ScopeAdmin})
	if err := e.Store.RevokeKey(ctx, mustKeyID(t, e, revoked), time.Now()); err != nil {
		t.Fatal(err)
	}
	cols := []credential{
		{name: "none"},
		{name: "unknown", key: "trail_unknownunknownunknownunknownunknown"},
		{name: "revoked", key: revoked},
		{name: "expired", key: key(audit.Key{Scope: audit.ScopeAdmin, ExpiresAt: time.Now().Add(-time.Minute)})},
	}
	for _, bound := range []struct{ label, org string }{{"A", orgA}, {"B", orgB}, {"*", ""}} {
		for _, s := range []audit.Scope{audit.ScopeIngest, audit.ScopeRead, audit.ScopeAdmin} {
			cols = append(cols, credential{name: string(s) + "@" + bound.label, key: key(audit.Key{Scope: s, Org: bound.org})})
		}
	}
	return append(cols, credential{name: "session@A", session: orgA}, credential{name: "session@B", session: orgB})
}

func mustKeyID(t *testing.T, e *env, secret string) string {
	k, err := e.Store.KeyByHash(context.Background(), audit.HashSecret(secret))
	if err != nil {
		t.Fatal(err)
	}
	return k.ID
}

// matrixRequest is a request that route would serve for a caller it
// admits: the route's path on org A with the body and query it needs.
// Only the credential differs from column to column.
func matrixRequest(e *env, route, csrf string) (method, target string, body string, headers []string) {
	method, pattern, _ := strings.Cut(route, " ")
	path := strings.NewReplacer("{org}", orgA, "{id}", knownEventID, "{name}", "style.css").Replace(pattern)
	if strings.Contains(path, "{token}") {
		path = e.mint(orgA, "u_linked", "linked") // a fresh link: each is spent once
	}
	sameOrigin := []string{"Sec-Fetch-Site: same-origin", "Origin: " + e.URL, "Content-Type: application/x-www-form-urlencoded"}
	switch route {
	case "POST /api/v1/orgs/{org}/events":
		return method, path, `{"events":[` + changeRole("", "alice", "bob") + `]}`, []string{"Content-Type: application/json"}
	case "POST /api/v1/orgs/{org}/viewer-links":
		return method, path, `{"user":{"id":"u_alice","name":"alice"}}`, []string{"Content-Type: application/json"}
	case "POST /api/v1/keys":
		return method, path, `{"scope":"read","org":"` + orgA + `","name":"matrix"}`, []string{"Content-Type: application/json"}
	case "PUT /api/v1/orgs/{org}/policy":
		return method, path, `{"retention":"forever"}`, []string{"Content-Type: application/json"}
	case "POST /api/v1/orgs/{org}/erasures":
		return method, path, `{"user_id":"u_nobody","reason":"matrix"}`, []string{"Content-Type: application/json"}
	case "GET /api/v1/orgs/{org}/erasures/{id}":
		return method, strings.Replace(path, knownEventID, e.erasure(orgA), 1), "", nil
	case "DELETE /api/v1/orgs/{org}/sessions":
		return method, path + "?user=u_nobody", "", nil
	case "GET /api/v1/orgs/{org}/consistency":
		return method, path + "?from=1", "", nil
	case "POST /orgs/{org}/settings/audit-logs/export":
		return method, path, url.Values{"csrf": {csrf}, "format": {"json"}}.Encode(), sameOrigin
	case "POST /logout":
		return method, path, url.Values{"csrf": {csrf}}.Encode(), sameOrigin
	case "POST /api/v1/orgs/{org}/streams":
		return method, path, fmt.Sprintf(`{"name":"matrix %d","kind":"webhook","url":"http://127.0.0.1:9/"}`, time.Now().UnixNano()), []string{"Content-Type: application/json"}
	case "POST /orgs/{org}/settings/audit-logs/retention":
		return method, path, url.Values{"csrf": {csrf}, "mode": {"forever"}}.Encode(), sameOrigin
	case "POST /orgs/{org}/settings/audit-logs/streams":
		form := url.Values{"csrf": {csrf}, "name": {fmt.Sprintf("matrix %d", time.Now().UnixNano())}, "kind": {"webhook"}, "webhook.url": {"http://127.0.0.1:9/"}}
		return method, path, form.Encode(), sameOrigin
	}
	if strings.Contains(route, "/streams/{id}") {
		// A stream of org A: one for every route, a fresh one for DELETE.
		path = strings.Replace(pattern, "{org}", orgA, 1)
		fresh := route == "DELETE /api/v1/orgs/{org}/streams/{id}" || route == "POST /orgs/{org}/settings/audit-logs/streams/{id}/delete"
		path = strings.Replace(path, "{id}", e.stream(fresh), 1)
		if strings.HasPrefix(route, "POST /orgs/") { // the Streaming page's forms
			form := url.Values{"csrf": {csrf}}
			if strings.HasSuffix(route, "/replay") {
				form.Set("from", "0")
			}
			return method, path, form.Encode(), sameOrigin
		}
		if strings.HasSuffix(route, "/replay") {
			return method, path, `{"from_seq":0}`, []string{"Content-Type: application/json"}
		}
		return method, path, "", nil
	}
	if strings.HasPrefix(route, "POST ") {
		return method, path, "", sameOrigin
	}
	return method, path, "", nil
}

// stream returns the id of a stream of org A: the same one each time, or
// a new one when fresh.
func (e *env) stream(fresh bool) string {
	e.t.Helper()
	if e.streamID != "" && !fresh {
		return e.streamID
	}
	v, _, err := e.Streams.Create(context.Background(), orgA, audit.Actor{Type: "token", ID: "matrix"},
		fmt.Appendf(nil, `{"name":"matrix stream %d","kind":"webhook","url":"http://127.0.0.1:9/"}`, time.Now().UnixNano()))
	if err != nil {
		e.t.Fatal(err)
	}
	if fresh {
		e.freshStream = v.ID // matrixCell deletes it after the request
	} else {
		e.streamID = v.ID
	}
	return v.ID
}

// TestAuthorizationMatrix sends every route (API and page) a request on
// org A with each credential and compares the statuses with the golden
// table; every answer's body is checked so that nothing of org B ever
// appears, and nothing of org A appears to a credential of org B.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnvWith(t, envOptions{sign: true})
	e.ingest(orgA, strings.Replace(changeRole(knownEventID, "alice", "bob"), `"u_bob"`, `"u_`+markerA+`"`, 1))
	e.ingest(orgA, changeRole("", "alice", markerA))
	e.ingest(orgB, changeRole("globex-known", "mallory", markerB))
	e.ingest(orgB, changeRole(knownEventID, markerB, "eve")) // the same id as A's: an id names an event within one org only
	cols := credentials(t, e)
	routes := append(api.Routes(), web.Routes()...)

	got := map[string][]string{}
	for _, route := range routes {
		for _, col := range cols {
			status, body := matrixCell(t, e, route, col)
			got[route] = append(got[route], fmt.Sprint(status))
			if strings.Contains(body, markerB) {
				t.Errorf("%s with %s, on org %s: the answer holds org %s's data:\n%.300s", route, col.name, orgA, orgB, body)
			}
			if strings.HasSuffix(col.name, "@B") && strings.Contains(body, markerA) {
				t.Errorf("%s with %s: a credential of org %s got org %s's data:\n%.300s", route, col.name, orgB, orgA, body)
			}
		}
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.name)
	}
	if *update {
		writeGolden(t, names, routes, got)
		return
	}
	want, wantCols := readGolden(t)
	if !slices.Equal(wantCols, names) {
		t.Fatalf("%s has columns %v; the test has %v: run with -update and review the diff", authzGolden, wantCols, names)
	}
	for _, route := range routes {
		row, ok := want[route]
		if !ok {
			t.Errorf("route %q has no row in the authorization matrix (%s): every route must have one; %s", route, authzGolden, matrixHowToFix)
			continue
		}
		for i, c := range cols {
			if row[i] != got[route][i] {
				t.Errorf("%s with %s: got %s, want %s (%s)", route, c.name, got[route][i], row[i], authzGolden)
			}
		}
	}
	for route := range want {
		if !slices.Contains(routes, route) {
			t.Errorf("%s has a row for %q, which is not a route any more: delete the row", authzGolden, route)
		}
	}
}

// matrixCell sends one request and returns its status and body.
func matrixCell(t *testing.T, e *env, route string, col credential) (int, string) {
	c := e.browser() // no redirects followed: the status is the route's own
	csrf := ""
	if col.session != "" {
		c = e.login(col.session, "u_"+col.session+"_admin", col.session+" admin")
		_, csrf = e.page(c, col.session, "")
	}
	method, target, body, headers := matrixRequest(e, route, csrf)
	if col.key != "" {
		headers = append(headers, "Authorization: Bearer "+col.key)
	}
	r := e.do(c, method, target, strings.NewReader(body), headers...)
	if e.freshStream != "" {
		// Within the per-org bound on destinations, whoever the credential.
		_ = e.Streams.Delete(context.Background(), orgA, e.freshStream, audit.Actor{Type: "token", ID: "matrix"})
		e.freshStream = ""
	}
	return r.Status, r.Body
}

func writeGolden(t *testing.T, cols, routes []string, got map[string][]string) {
	var b strings.Builder
	b.WriteString("# The authorization matrix: every route (API and page) on org A, with each credential.\n")
	b.WriteString("# Columns: no key, unknown/revoked/expired key, each scope bound to org A, to org B, unbound (*),\n")
	b.WriteString("# a page session of org A, of org B. Checked by TestAuthorizationMatrix; -update rewrites it.\n")
	fmt.Fprintf(&b, "%-52s %s\n", "route", strings.Join(pad(cols), " "))
	for _, route := range routes {
		fmt.Fprintf(&b, "%-52s %s\n", route, strings.Join(pad(got[route]), " "))
	}
	if err := os.WriteFile(filepath.FromSlash(authzGolden), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pad right-aligns cells to the width of the widest column name.
func pad(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = fmt.Sprintf("%9s", c)
	}
	return out
}

// readGolden returns the golden rows by route, and the column names.
func readGolden(t *testing.T) (map[string][]string, []string) {
	f, err := os.Open(filepath.FromSlash(authzGolden))
	if err != nil {
		t.Fatalf("%v: create it with -update", err)
	}
	defer f.Close()
	rows := map[string][]string{}
	var cols []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Fields(line)
		if fields[0] == "route" {
			cols = fields[1:]
			continue
		}
		if len(fields) < 2 {
			t.Fatalf("%s: bad row %q", authzGolden, line)
		}
		rows[fields[0]+" "+fields[1]] = fields[2:]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows, cols
}

// erasure returns the id of an erasure of org, made once (of nobody).
func (e *env) erasure(org string) string {
	if e.erasureID == "" {
		rec, err := e.Svc.StartErasure(context.Background(), org, "u_nobody", "matrix", audit.Actor{Type: "system", ID: "test", Name: "test"}, true)
		if err != nil {
			e.t.Fatal(err)
		}
		e.erasureID = rec.ID
	}
	return e.erasureID
}
