// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/api"
	"github.com/trailaudit/trail/internal/audit"
)

// requestBody returns a valid body for a route, so that a refusal is
// about the key and never about the request.
func requestBody(method string) (contentType string, body []byte) {
	if method == "POST" {
		return "application/json", batchJSON(eventJSON(nil))
	}
	return "", nil
}

// routeRequest returns a valid request for a route of the table on org:
// its path (with the query it needs), content type and body.
func routeRequest(rt api.RouteInfo, org, id string) (path, contentType string, body []byte) {
	path = orgPath(rt.Pattern, org, id)
	switch rt.Pattern {
	case "/api/v1/orgs/{org}/viewer-links":
		return path, "application/json", []byte(`{"user":{"id":"u_alice","name":"alice"}}`)
	case "/api/v1/orgs/{org}/sessions":
		return path + "?user=u_alice", "", nil
	case "/api/v1/orgs/{org}/consistency":
		return path + "?from=0", "", nil
	case "/api/v1/orgs/{org}/policy":
		return path, "application/json", []byte(`{"retention":"forever"}`)
	case "/api/v1/orgs/{org}/erasures":
		return path, "application/json", []byte(`{"user_id":"u_nobody","reason":"scopes"}`)
	case "/api/v1/orgs/{org}/streams":
		if rt.Method == "POST" {
			return path, "application/json", fmt.Appendf(nil, `{"name":"walk %d","kind":"webhook","url":"http://127.0.0.1:9/"}`, streamNames.Add(1))
		}
	case "/api/v1/orgs/{org}/streams/{id}/replay":
		return path, "application/json", []byte(`{"from_seq":0}`)
	}
	ct, body := requestBody(rt.Method)
	return path, ct, body
}

// streamNames numbers the streams routeRequest creates.
var streamNames atomic.Int64

// orgRoutes are the routes of the table that act on one org.
func orgRoutes(t *testing.T) []api.RouteInfo {
	var out []api.RouteInfo
	for _, rt := range api.RouteTable() {
		if strings.Contains(rt.Pattern, "{org}") {
			out = append(out, rt)
		}
	}
	if len(out) < 5 {
		t.Fatalf("only %d org routes in the table", len(out))
	}
	return out
}

func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	revoked := e.key(audit.ScopeAdmin, "")
	if err := e.Store.RevokeKey(context.Background(), e.keyID(revoked), time.Now()); err != nil {
		t.Fatal(err)
	}
	expired := e.keyWith(audit.Key{Scope: audit.ScopeAdmin, ExpiresAt: time.Now().Add(-time.Minute)})
	keys := map[string]string{
		"no key":  "",
		"unknown": "trail_notarealkeynotarealkeynotarealkey",
		"revoked": revoked,
		"expired": expired,
	}
	for _, rt := range api.RouteTable() {
		if rt.Public {
			continue
		}
		for name, key := range keys {
			ct, body := requestBody(rt.Method)
			r := e.do(rt.Method, orgPath(rt.Pattern, "acme", "x"), key, ct, body)
			if r.Status != 401 || r.apiError().Code != "unauthorized" || r.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s %s with %s key: got %d %s %q, want 401 with WWW-Authenticate: Bearer",
					rt.Method, rt.Pattern, name, r.Status, r.Body, r.Header.Get("WWW-Authenticate"))
			}
		}
	}
	for _, hdr := range []string{"Basic " + e.Admin, "Bearer", "Bearer   ", "Token " + e.Admin, e.Admin} {
		if got := e.rawAuth("/api/v1/orgs/acme/events", hdr); got != 401 {
			t.Errorf("Authorization %q: got %d, want 401", hdr, got)
		}
	}
	if n := e.size("acme"); n != 0 {
		t.Errorf("size = %d, want 0", n)
	}
}

func TestRevocationTakesEffectAtOnce(t *testing.T) {
	e := newEnv(t)
	key := e.key(audit.ScopeRead, "acme")
	if r := e.get("/api/v1/orgs/acme/events", key); r.Status != 200 {
		t.Fatalf("before revoking: %d %s", r.Status, r.Body)
	}
	// Revoked straight in the store, as `trail keys revoke` in another
	// process would.
	if err := e.Store.RevokeKey(context.Background(), e.keyID(key), time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := e.get("/api/v1/orgs/acme/events", key); r.Status != 401 {
		t.Fatalf("after revoking: %d, want 401", r.Status)
	}
}

func TestScopes(t *testing.T) {
	e := newEnv(t)
	ingest := e.key(audit.ScopeIngest, "acme")
	read := e.key(audit.ScopeRead, "acme")
	admin := e.key(audit.ScopeAdmin, "acme")
	e.ingest("acme", changeRole("known", "bob"))
	st, err := e.client(e.Admin).CreateStream(t.Context(), "acme", client.NewStream{
		Name: "scopes", Kind: "webhook", Settings: map[string]any{"url": "http://127.0.0.1:9/"}})
	if err != nil {
		t.Fatal(err)
	}
	er, err := e.Svc.StartErasure(t.Context(), "acme", "u_nobody", "scopes", audit.Actor{Type: "system", ID: "t", Name: "t"}, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range orgRoutes(t) {
		id := "known"
		if strings.Contains(rt.Pattern, "/streams/{id}") {
			id = st.ID // the stream routes' {id} is a stream's
		}
		if strings.HasSuffix(rt.Pattern, "/erasures/{id}") {
			id = er.ID
		}
		path, ct, body := routeRequest(rt, "acme", id)
		allowed := map[string]string{"admin": admin}
		refused := map[string]string{}
		switch rt.Scope {
		case string(audit.ScopeIngest):
			allowed["ingest"], refused["read"] = ingest, read
		case string(audit.ScopeRead):
			allowed["read"], refused["ingest"] = read, ingest
		default:
			refused["read"], refused["ingest"] = read, ingest
		}
		for name, key := range allowed {
			if r := e.do(rt.Method, path, key, ct, body); r.Status/100 != 2 {
				t.Errorf("%s %s with %s key: got %d %s, want 2xx", rt.Method, path, name, r.Status, truncate(r.Body))
			}
		}
		for name, key := range refused {
			if r := e.do(rt.Method, path, key, ct, body); r.Status != 403 || r.apiError().Code != "forbidden" {
				t.Errorf("%s %s with %s key: got %d %s, want 403", rt.Method, path, name, r.Status, truncate(r.Body))
			}
		}
	}
}

// TestIsolation walks every org route of the table: a key bound to org
// A gets 404 on org B, whatever its scope, exactly as for an absent org,
// and B is left untouched.
func TestIsolation(t *testing.T) {
	e := newEnv(t)
	acks := e.ingest("orgB", changeRole("b-event", "bob"))
	sizeB := e.size("orgB")
	for _, scope := range []audit.Scope{audit.ScopeIngest, audit.ScopeRead, audit.ScopeAdmin} {
		key := e.key(scope, "orgA")
		for _, rt := range orgRoutes(t) {
			var bodies [][]byte
			for _, org := range []string{"orgB", "absent", "orgA.", "ORGA", "bad org!", strings.Repeat("x", 200)} {
				path, ct, body := routeRequest(rt, org, acks[0].ID)
				r := e.do(rt.Method, path, key, ct, body)
				if r.Status != 404 || r.apiError().Code != "not_found" {
					t.Errorf("%s key of orgA, %s %s: got %d %s, want 404", scope, rt.Method, path, r.Status, truncate(r.Body))
				}
				bodies = append(bodies, r.Body)
			}
			for _, b := range bodies[1:] {
				if !bytes.Equal(b, bodies[0]) {
					t.Errorf("%s %s: the 404 for orgB differs from the one for an absent org:\n%s\n%s", rt.Method, rt.Pattern, bodies[0], b)
				}
			}
		}
	}
	if got := e.size("orgB"); got != sizeB {
		t.Errorf("orgB size %d, want %d: nothing recorded there", got, sizeB)
	}
	if got := e.size("orgA"); got != 0 {
		t.Errorf("orgA size %d, want 0", got)
	}
}

func TestBoundKeyServesItsOrg(t *testing.T) {
	e := newEnv(t)
	key := e.key(audit.ScopeAdmin, "orgA")
	if _, err := e.client(key).Ingest(context.Background(), "orgA", nil); err == nil {
		t.Fatal("an empty batch was accepted")
	}
	acks, err := e.client(key).Ingest(context.Background(), "orgA", []client.Event{changeRole("", "bob")})
	if err != nil || len(acks) != 1 {
		t.Fatalf("ingest into its own org: %v", err)
	}
}

func TestKeyLastUsedIsRecorded(t *testing.T) {
	e := newEnv(t)
	key := e.key(audit.ScopeRead, "")
	id := e.keyID(key)
	e.get("/api/v1/orgs/acme/events", key)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		keys, err := e.Store.Keys(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k.ID == id && !k.LastUsedAt.IsZero() {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the key's last use was never recorded")
}
