// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/audit"
)

// The SQLite engine cannot prune: a finite retention is refused with the
// fix, and nothing is stored.
func TestPolicyRefusedOnSQLite(t *testing.T) {
	e := newEnvWith(t, envOptions{sqlite: true})
	r := e.do("PUT", "/api/v1/orgs/acme/policy", e.Admin, "application/json", []byte(`{"retention":"400d"}`))
	if r.Status != 400 || !strings.Contains(r.apiError().Message, "trail migrate-store --from sqlite:DIR --to log:DIR") {
		t.Errorf("400d on the SQLite engine: %d %s", r.Status, r.Body)
	}
	if p, err := e.client(e.Admin).Policy(t.Context(), "acme"); err != nil || !p.Default || p.Retention != "forever" {
		t.Errorf("policy after the refusal = %+v, %v", p, err)
	}
}

func TestPolicyRoutes(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("e1", "bob"))
	c := e.client(e.Admin)
	ctx := t.Context()

	p, err := c.Policy(ctx, "acme")
	if err != nil || p.Retention != "forever" || !p.Default || p.LegalHold {
		t.Fatalf("default policy = %+v, %v", p, err)
	}
	set, err := c.SetPolicy(ctx, "acme", client.Policy{Retention: "forever", LegalHold: true, LegalHoldReason: "case 42"})
	if err != nil || set.Retention != "forever" || !set.LegalHold || set.LegalHoldReason != "case 42" || set.Default || set.UpdatedAt == "" {
		t.Fatalf("SetPolicy = %+v, %v", set, err)
	}
	if got, err := c.Policy(ctx, "acme"); err != nil || *got != *set {
		t.Fatalf("Policy after setting = %+v, %v; want %+v", got, err, set)
	}
	if got, _ := c.Policy(ctx, "beta"); !got.Default {
		t.Errorf("another org's policy changed: %+v", got)
	}

	// The change is an audit event, in the audit_log category, naming the key.
	evs := e.all("acme")
	var last struct {
		Type, Category, Description string
		Actor                       struct{ Type, ID string }
		Metadata                    map[string]any
	}
	if err := json.Unmarshal(evs[len(evs)-1], &last); err != nil {
		t.Fatal(err)
	}
	if last.Type != "org.audit_log.policy_change" || last.Category != "audit_log" || last.Actor.Type != "token" ||
		last.Metadata["retention"] != "forever" || last.Metadata["old_retention"] != "forever" || last.Metadata["legal_hold"] != true ||
		!strings.Contains(last.Description, "keep events forever, legal hold true (case 42)") {
		t.Errorf("recorded event = %+v", last)
	}

	// Bad bodies: 400 naming the field, nothing changed.
	before := e.size("acme")
	for _, c := range []struct{ body, field string }{
		{`{"retention":"400"}`, "retention"},
		{`{"retention":"0d"}`, "retention"},
		{`{"retention":"36501d"}`, "retention"},
		{`{"retention":"400w"}`, "retention"},
		{`{}`, "retention is missing"},
		{`{"retention":"400d","legal_hold":true}`, "legal_hold_reason"},
		{`{"retention":"400d","legal_hold_reason":"x"}`, "legal_hold_reason"},
		{`{"retention":"400d","legal_hold":true,"legal_hold_reason":"` + strings.Repeat("x", 501) + `"}`, "legal_hold_reason"},
		{`{"retention":"400d","hold":true}`, "hold"},
		{`{"retention":400}`, "retention"},
		{`[]`, "the body must be"},
	} {
		r := e.do("PUT", "/api/v1/orgs/acme/policy", e.Admin, "application/json", []byte(c.body))
		if r.Status != 400 || !strings.Contains(r.apiError().Message, c.field) {
			t.Errorf("PUT %s: %d %s, want 400 naming %q", c.body, r.Status, r.Body, c.field)
		}
	}
	if r := e.do("PUT", "/api/v1/orgs/acme/policy", e.Admin, "application/json", []byte(`{"retention":"`+strings.Repeat("1", 5000)+`d"}`)); r.Status != 413 {
		t.Errorf("oversized body: %d, want 413", r.Status)
	}
	if got, _ := c.Policy(ctx, "acme"); *got != *set || e.size("acme") != before {
		t.Errorf("a refused PUT changed something: %+v, size %d → %d", got, before, e.size("acme"))
	}

	// Scope and binding: a read key may not, another org's admin key sees nothing.
	read := e.key(audit.ScopeRead, "acme")
	if r := e.get("/api/v1/orgs/acme/policy", read); r.Status != 403 {
		t.Errorf("GET with a read key: %d, want 403", r.Status)
	}
	other := e.key(audit.ScopeAdmin, "beta")
	if r := e.do("PUT", "/api/v1/orgs/acme/policy", other, "application/json", []byte(`{"retention":"forever"}`)); r.Status != 404 {
		t.Errorf("PUT with beta's admin key: %d, want 404", r.Status)
	}
	// Back to forever, hold off.
	if p, err := c.SetPolicy(ctx, "acme", client.Policy{Retention: "forever"}); err != nil || p.LegalHold || p.LegalHoldReason != "" {
		t.Errorf("SetPolicy forever: %+v %v", p, err)
	}
}
