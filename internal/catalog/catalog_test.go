// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// hubNames are the 102 event names of the Hub's audit-log page, copied
// verbatim from shared/reference/hf-event-types.md.
var hubNames = []string{
	"org.create", "org.delete", "org.restore", "org.rename", "org.update_settings",
	"org.settings.profile", "org.settings.regions", "org.settings.resource_groups",
	"org.settings.publisher_gating", "org.settings.inference_providers",
	"org.settings.inference_providers.keys.add", "org.settings.inference_providers.keys.remove",
	"org.settings.inference_providers.usage", "org.settings.sso", "org.settings.sso.enable",
	"org.settings.sso.disable", "org.settings.security.repo_visibility",
	"org.settings.security.2fa.enable", "org.settings.security.2fa.disable",
	"org.settings.security.auto_join.enable", "org.settings.security.auto_join.disable",
	"org.settings.security.members_privacy.enable", "org.settings.security.members_privacy.disable",
	"org.settings.network", "org.settings.network.ip_restriction.enable",
	"org.settings.network.ip_restriction.disable", "org.settings.network.auth_enforcement.enable",
	"org.settings.network.auth_enforcement.disable", "org.rotate_token", "org.token_approval.enabled",
	"org.token_approval.disabled", "org.token_approval.authorization_request",
	"org.token_approval.authorization_request.authorized",
	"org.token_approval.authorization_request.revoked",
	"org.token_approval.authorization_request.denied", "org.sso_login", "org.sso_join",
	"org.update_join_settings", "org.audit_log.export", "org.add_user", "org.remove_user",
	"org.change_role", "org.leave", "org.invite_user", "org.invite.accept", "org.invite.email",
	"org.join.from_domain", "org.join.automatic", "repo.create", "repo.delete", "repo.move",
	"repo.disable", "repo.removeDisable", "repo.duplication", "repo.delete_doi",
	"repo.update_resource_group", "repo.update_settings", "repo.delete_lfs_file", "collection.create",
	"collection.delete", "repo.add_secret", "repo.update_secret", "repo.remove_secret",
	"repo.add_secrets", "repo.remove_secrets", "repo.add_variable", "repo.update_variable",
	"repo.remove_variable", "repo.add_variables", "repo.remove_variables", "spaces.add_storage",
	"spaces.remove_storage", "spaces.update_hardware", "spaces.update_sleep_time",
	"resource_group.create", "resource_group.delete", "resource_group.settings",
	"resource_group.add_users", "resource_group.remove_users", "resource_group.change_role",
	"jobs.create", "jobs.cancel", "scheduled_job.create", "scheduled_job.delete",
	"scheduled_job.resume", "scheduled_job.suspend", "scheduled_job.run",
	"billing.update_payment_method", "billing.create_customer", "billing.remove_payment_method",
	"billing.aws_add", "billing.aws_remove", "billing.gcp_add", "billing.gcp_remove",
	"billing.marketplace_approve", "billing.start_subscription", "billing.renew_subscription",
	"billing.cancel_subscription", "billing.un_cancel_subscription", "billing.update_subscription",
	"billing.update_subscription_plan", "billing.update_subscription_contract_details",
}

func TestHubNamesPresent(t *testing.T) {
	if got, want := len(hubNames), 102; got != want {
		t.Fatalf("len(hubNames) = %d, want %d", got, want)
	}
	c := Builtin()
	for _, name := range hubNames {
		typ, ok := c.Lookup(name)
		if !ok {
			t.Errorf("Lookup(%q): not found", name)
			continue
		}
		if typ.Name != name {
			t.Errorf("Lookup(%q).Name = %q", name, typ.Name)
		}
	}
}

func TestCount(t *testing.T) {
	c := Builtin()
	if got, want := len(c.Types()), 106+len(streamTypes()); got != want {
		t.Errorf("len(Types()) = %d, want %d", got, want)
	}
	extra := map[string]bool{}
	for _, typ := range c.Types() {
		if !slices.Contains(hubNames, typ.Name) {
			extra[typ.Name] = true
		}
	}
	want := map[string]bool{"org.audit_log.view": true, "org.audit_log.policy_change": true, "org.audit_log.prune": true, "org.audit_log.erasure": true}
	for _, st := range streamTypes() {
		want[st.Name] = true
	}
	if !maps.Equal(extra, want) {
		t.Errorf("types beyond the Hub's = %v, want org.audit_log.view, policy_change, prune, erasure and the stream events %v", extra, want)
	}
}

func TestLookupIsExact(t *testing.T) {
	c := Builtin()
	tests := []struct {
		name string
		want bool
	}{
		{"repo.removeDisable", true},
		{"repo.removedisable", false},
		{"Repo.create", false},
		{"repo.create ", false},
		{"", false},
		{"org.audit_log.view", true},
	}
	for _, tt := range tests {
		if _, got := c.Lookup(tt.name); got != tt.want {
			t.Errorf("Lookup(%q) found = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCategories(t *testing.T) {
	c := Builtin()
	var got []Category
	for _, ci := range c.Categories() {
		got = append(got, ci.Slug)
		if ci.Title == "" {
			t.Errorf("category %s has no title", ci.Slug)
		}
	}
	want := []Category{"organization", "membership", "content", "billing", "resource_groups", "jobs", "audit_log"}
	if !slices.Equal(got, want) {
		t.Fatalf("Categories() = %v, want %v", got, want)
	}
	for _, typ := range c.Types() {
		if !slices.Contains(want, typ.Category) {
			t.Errorf("%s: category %q is not one of %v", typ.Name, typ.Category, want)
		}
	}
	if ci, ok := c.Category("billing"); !ok || ci.Title != "Billing & cloud" {
		t.Errorf(`Category("billing") = %+v, %v, want "Billing & cloud", true`, ci, ok)
	}
	if _, ok := c.Category("Billing"); ok {
		t.Error(`Category("Billing") found, want not found`)
	}
}

func TestCategoryOfTypes(t *testing.T) {
	c := Builtin()
	tests := []struct {
		name string
		want Category
	}{
		{"org.create", CategoryOrganization},
		{"org.update_join_settings", CategoryOrganization},
		{"org.sso_login", CategoryOrganization},
		{"org.change_role", CategoryMembership},
		{"repo.removeDisable", CategoryContent},
		{"spaces.update_hardware", CategoryContent},
		{"billing.aws_add", CategoryBilling},
		{"resource_group.add_users", CategoryResourceGroups},
		{"scheduled_job.run", CategoryJobs},
		{"jobs.create", CategoryJobs},
		{"org.audit_log.export", CategoryAuditLog},
		{"org.audit_log.view", CategoryAuditLog},
		{"org.audit_log.stream.create", CategoryAuditLog},
		{"org.audit_log.stream.failing", CategoryAuditLog},
	}
	for _, tt := range tests {
		typ, _ := c.Lookup(tt.name)
		if typ == nil || typ.Category != tt.want {
			t.Errorf("%s: category = %v, want %s", tt.name, typ, tt.want)
		}
	}
}

func TestTypesOrder(t *testing.T) {
	c := Builtin()
	var want []*Type
	for _, ci := range c.Categories() {
		in := c.TypesIn(ci.Slug)
		if !slices.IsSortedFunc(in, func(a, b *Type) int { return strings.Compare(a.Name, b.Name) }) {
			t.Errorf("TypesIn(%s) is not sorted by name", ci.Slug)
		}
		want = append(want, in...)
	}
	if got := c.Types(); !slices.Equal(got, want) {
		t.Error("Types() is not ordered by category, then name")
	}
	if got := c.TypesIn("nope"); len(got) != 0 {
		t.Errorf("TypesIn(nope) = %d types, want 0", len(got))
	}
}

func TestFlags(t *testing.T) {
	c := Builtin()
	var trailOnly, namesOnly []string
	for _, typ := range c.Types() {
		if typ.TrailOnly {
			trailOnly = append(trailOnly, typ.Name)
		}
		if typ.NamesOnly {
			namesOnly = append(namesOnly, typ.Name)
		}
	}
	if want := []string{
		"org.audit_log.erasure", "org.audit_log.export", "org.audit_log.policy_change", "org.audit_log.prune",
		"org.audit_log.stream.create", "org.audit_log.stream.delete", "org.audit_log.stream.failing",
		"org.audit_log.stream.pause", "org.audit_log.stream.pruned", "org.audit_log.stream.recover", "org.audit_log.stream.replay",
		"org.audit_log.stream.resume", "org.audit_log.stream.test",
		"org.audit_log.view",
	}; !slices.Equal(trailOnly, want) {
		t.Errorf("TrailOnly types = %v, want %v", trailOnly, want)
	}
	for _, name := range []string{
		"repo.add_secret", "repo.update_secret", "repo.remove_secret", "repo.add_secrets", "repo.remove_secrets",
		"repo.add_variable", "repo.update_variable", "repo.remove_variable", "repo.add_variables",
		"repo.remove_variables", "org.settings.inference_providers.keys.add",
	} {
		if !slices.Contains(namesOnly, name) {
			t.Errorf("%s: NamesOnly = false, want true", name)
		}
	}
}

func TestDefinitions(t *testing.T) {
	for _, typ := range Builtin().Types() {
		if typ.Summary == "" || typ.Template == "" {
			t.Errorf("%s: empty summary or template", typ.Name)
		}
		nodes, err := parseTemplate(typ.Template)
		if err != nil {
			t.Errorf("%s: template: %v", typ.Name, err)
			continue
		}
		for _, n := range placeholders(nodes) {
			if n.kind == "meta" {
				if _, ok := typ.metaRule(n.args[0]); !ok {
					t.Errorf("%s: template uses {meta:%s}, which no MetaRule documents", typ.Name, n.args[0])
				}
			}
		}
	}
}

// TestMetaFallbacks holds templates to readable output: a metadata
// placeholder outside an optional group needs its own fallback, or the
// description would say "unknown".
func TestMetaFallbacks(t *testing.T) {
	for _, typ := range Builtin().Types() {
		nodes, _ := parseTemplate(typ.Template)
		for _, n := range nodes {
			if n.kind == "meta" && !n.hasFallback {
				t.Errorf("%s: {meta:%s} outside a group has no fallback", typ.Name, n.args[0])
			}
		}
	}
}

// placeholders lists every placeholder of nodes, inside groups too.
func placeholders(nodes []node) []node {
	var out []node
	for _, n := range nodes {
		switch n.kind {
		case "":
		case "group":
			out = append(out, placeholders(n.then)...)
			out = append(out, placeholders(n.orElse)...)
		default:
			out = append(out, n)
		}
	}
	return out
}

func TestNewCatalogRefusesBadDefinitions(t *testing.T) {
	cats := []CategoryInfo{{CategoryJobs, "Jobs"}}
	ok := Type{Name: "a.b", Category: CategoryJobs, Summary: "s", Template: "{actor} did it"}
	tests := []struct {
		name string
		mod  func(*Type)
	}{
		{"unknown category", func(t *Type) { t.Category = "nope" }},
		{"no summary", func(t *Type) { t.Summary = "" }},
		{"unclosed brace", func(t *Type) { t.Template = "{actor did" }},
		{"stray brace", func(t *Type) { t.Template = "{actor} did }" }},
		{"unknown placeholder", func(t *Type) { t.Template = "{who} did" }},
		{"meta without key", func(t *Type) { t.Template = "{meta} did" }},
		{"nested group", func(t *Type) { t.Template = "{actor} [a [b]]" }},
		{"unclosed group", func(t *Type) { t.Template = "{actor} [a" }},
		{"bad kind", func(t *Type) { t.Metadata = []MetaRule{{Key: "k", Kind: "float"}} }},
		{"bad key", func(t *Type) { t.Metadata = []MetaRule{{Key: "a b", Kind: KindString}} }},
	}
	for _, tt := range tests {
		typ := ok
		tt.mod(&typ)
		if _, err := newCatalog(cats, []Type{typ}); err == nil {
			t.Errorf("%s: newCatalog accepted it", tt.name)
		}
	}
	if _, err := newCatalog(cats, []Type{ok, ok}); err == nil {
		t.Error("duplicate name: newCatalog accepted it")
	}
	if _, err := newCatalog(cats, []Type{ok}); err != nil {
		t.Errorf("valid definition: %v", err)
	}
}

func TestTargetTypes(t *testing.T) {
	want := []string{"org", "user", "repo", "space", "collection", "token", "resource_group", "secret",
		"variable", "job", "scheduled_job", "subscription", "payment_method", "marketplace", "email",
		"domain", "provider_key"}
	if got := TargetTypes(); !slices.Equal(got, want) {
		t.Errorf("TargetTypes() = %v, want %v", got, want)
	}
	for _, typ := range Builtin().Types() {
		for _, r := range typ.Targets {
			for _, tt := range r.Types() {
				if !slices.Contains(want, tt) {
					t.Errorf("%s: target rule type %q is outside the vocabulary", typ.Name, tt)
				}
			}
		}
	}
}
