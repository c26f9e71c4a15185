// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
)

// TestListOrgs: an unbound admin key lists every org with its size; a
// bound or non-admin key cannot.
func TestListOrgs(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("", "bob"), repoCreate("", "llama"))
	e.ingest("acmee", changeRole("", "typo"))
	orgs, err := e.client(e.Admin).Orgs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(orgs) != 2 || orgs[0].Org != "acme" || orgs[0].Events != 2 || orgs[1].Org != "acmee" || orgs[1].Events != 1 {
		t.Errorf("orgs %+v, want acme (2 events) and acmee (1)", orgs)
	}
	for name, key := range map[string]string{
		"admin bound to acme": e.key("admin", "acme"),
		"unbound read":        e.key("read", ""),
	} {
		if _, err := e.client(key).Orgs(context.Background()); asAPIError(t, err).Status != http.StatusForbidden {
			t.Errorf("%s: %v, want 403", name, err)
		}
	}
}

// TestKeysOverHTTP: create (secret once), list, use, revoke (twice).
func TestKeysOverHTTP(t *testing.T) {
	e := newEnv(t)
	c := e.client(e.Admin)
	ctx := context.Background()
	exp := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	k, secret, err := c.CreateKey(ctx, client.NewKey{Scope: "read", Org: "acme", Name: "siem", ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "trail_") || k.Scope != "read" || k.Org != "acme" || k.Name != "siem" || k.Status != "active" || k.ExpiresAt != exp.Format(time.RFC3339) {
		t.Errorf("created %+v secret %q", k, secret)
	}
	if _, err := e.client(secret).List(ctx, "acme", client.ListOptions{}); err != nil {
		t.Errorf("the new key does not read acme: %v", err)
	}
	keys, err := c.Keys(ctx)
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys %+v %v, want the admin and the new key", keys, err)
	}
	if strings.Contains(string(e.get("/api/v1/keys", e.Admin).Body), secret) || strings.Contains(string(e.Logs.Bytes()), secret) {
		t.Error("a secret appears in the key list or the log")
	}
	if _, already, err := c.RevokeKey(ctx, k.ID); err != nil || already {
		t.Fatalf("revoke: %v %v", already, err)
	}
	if _, err := e.client(secret).List(ctx, "acme", client.ListOptions{}); asAPIError(t, err).Status != 401 {
		t.Errorf("the revoked key: %v, want 401", err)
	}
	if rk, already, err := c.RevokeKey(ctx, k.ID); err != nil || !already || rk.Status != "revoked" {
		t.Errorf("second revoke: %+v %v %v, want already revoked", rk, already, err)
	}
	bad := []struct {
		body, want string
	}{
		{`{"scope":"root"}`, `unknown scope "root"`},
		{`{"scope":"read","org":"bad org"}`, "not a valid org"},
		{`{"scope":"read","expires_at":"2001-01-01T00:00:00Z"}`, "not in the future"},
		{`{"scope":"read","colour":"red"}`, `unknown field "colour"`},
		{`[]`, "the body must be"},
	}
	for _, b := range bad {
		r := e.do("POST", "/api/v1/keys", e.Admin, "application/json", []byte(b.body))
		if r.Status != 400 || !strings.Contains(r.apiError().Message, b.want) {
			t.Errorf("POST /api/v1/keys %s: %d %s, want 400 with %q", b.body, r.Status, r.Body, b.want)
		}
	}
	if _, _, err := c.RevokeKey(ctx, "key_nope"); asAPIError(t, err).Status != 404 {
		t.Errorf("revoking an unknown key: %v, want 404", err)
	}
	if _, _, err := c.RevokeKey(ctx, e.keyID(e.Admin)); asAPIError(t, err).Status != 400 {
		t.Errorf("a key revoking itself: %v, want 400", err)
	}
	bound := e.key("admin", "acme")
	if _, _, err := e.client(bound).CreateKey(ctx, client.NewKey{Scope: "admin"}); asAPIError(t, err).Status != 403 {
		t.Errorf("a bound admin key creating a key: %v, want 403", err)
	}
}
