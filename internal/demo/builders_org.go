// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"time"
)

// orgRef is the org as a target; encode puts the org's identifier in.
var orgRef = ref{Type: "org", ID: orgID, Name: DefaultOrg}

var roles = []string{"read", "contributor", "write", "admin"}

// onOrg is a builder of an admin's event on the org with no metadata.
func onOrg(weight float64) builder {
	return builder{weight: weight, who: whoAdmin, build: func(g *gen, e *event) { e.target(orgRef) }}
}

func orgBuilders() map[string]builder {
	return map[string]builder{
		"org.create":  onOrg(0),
		"org.delete":  onOrg(0),
		"org.restore": onOrg(0),
		"org.rename": {who: whoAdmin, build: func(g *gen, e *event) {
			e.target(orgRef)
			e.set("old_name", "Acme Research", "new_name", "Acme AI")
		}},
		"org.rotate_token": {weight: 0.02, who: whoAdmin, build: func(g *gen, e *event) {
			e.target(orgRef)
			e.set("token_type", one(g, []string{"api", "webhook"}))
		}},
		"org.token_approval.enabled":  onOrg(0),
		"org.token_approval.disabled": onOrg(0),
		"org.token_approval.authorization_request": {weight: 0.4, who: whoMember, span: after(tokenApproval),
			build: func(g *gen, e *event) {
				e.target(g.newToken(e.by), e.by.ref())
				e.set("permissions", some(g, permissions, 3))
			}},
		"org.token_approval.authorization_request.authorized": decision(0.3, ""),
		"org.token_approval.authorization_request.denied":     decision(0.06, "too broad: use a fine-grained token scoped to the repositories you need"),
		"org.token_approval.authorization_request.revoked":    decision(0.03, "token no longer used"),
		"org.sso_login": {weight: 14, who: whoAnyone, span: after(ssoOn), build: func(g *gen, e *event) {
			e.set("provider", "okta")
		}},
		"org.sso_join": {who: whoAnyone, span: after(ssoOn), build: func(g *gen, e *event) {
			e.target(e.by.ref())
			e.set("role", "read", "provider", "okta")
		}},
		"org.update_join_settings": {weight: 0.02, who: whoAdmin, span: after(ssoOn), build: func(g *gen, e *event) {
			e.target(domain)
			e.set("settings", kv("auto_join", true, "default_role", "read"), "domains", []string{"acme.ai"}, "role", "read")
		}},
		"org.audit_log.export": {weight: 0.15, who: whoAdmin, build: func(g *gen, e *event) {
			e.set("format", one(g, []string{"json", "csv", "ndjson"}), "query", one(g, auditQueries),
				"count", 500+g.rng.IntN(g.o.Events))
		}},
		"org.audit_log.view": {weight: 1, who: whoAdmin, build: func(g *gen, e *event) {
			if q := one(g, auditQueries); q != "" {
				e.set("query", q)
			}
		}},
	}
}

var permissions = []string{"repo.content.read", "repo.write", "inference.serverless.write", "discussion.write", "collection.write", "job.write"}

var auditQueries = []string{"", "", "type:repo.delete", "category:billing", "actor:tom.h", "country:FR -type:org.sso_login", `"llama"`, "type:org.change_role"}

func ssoOn(g *gen) time.Time         { return g.marks.sso }
func providersOn(g *gen) time.Time   { return g.marks.providers }
func tokenApproval(g *gen) time.Time { return g.marks.tokenApproval }
func legacy(g *gen) (time.Time, time.Time) {
	return g.lo, g.marks.cutoff
}

// decision is an admin's answer to a token authorization request.
func decision(weight float64, reason string) builder {
	return builder{weight: weight, who: whoAdmin, span: after(tokenApproval), build: func(g *gen, e *event) {
		m := g.other(e)
		e.target(g.newToken(m), m.ref())
		if reason != "" {
			e.set("reason", reason)
		}
	}}
}

// newToken is a fresh fine-grained token of m.
func (g *gen) newToken(m *member) ref {
	name := m.name + "-" + one(g, []string{"laptop", "colab", "eval", "ci", "notebook", "inference"})
	return ref{Type: "token", ID: "tok_" + g.hex24()[:12], Name: name}
}

// settingsOf is a builder of an admin's org settings event after the mark
// (a story's moment), carrying one of the given changed-settings objects.
func settingsOf(weight float64, mark func(g *gen) time.Time, changes ...map[string]any) builder {
	return builder{weight: weight, who: whoAdmin, span: after(mark), build: func(g *gen, e *event) {
		e.target(orgRef)
		e.set("settings", one(g, changes))
	}}
}

func cutoff(g *gen) time.Time { return g.marks.cutoff }

// toggleOn is a builder of an org settings toggle: no metadata.
func toggleOn() builder {
	return builder{who: whoAdmin, span: after(cutoff), build: func(g *gen, e *event) { e.target(orgRef) }}
}

func settingsBuilders() map[string]builder {
	b := map[string]builder{
		"org.update_settings": {weight: 0.3, who: whoAdmin, span: legacy, build: func(g *gen, e *event) {
			e.target(orgRef)
			e.set("settings", one(g, legacySettings))
		}},
		"org.settings.profile": settingsOf(0.1, cutoff, kv("homepage", "https://acme.ai"), kv("avatar", "updated"),
			kv("description", "Open models for customer support, speech and search"), kv("github", "acme-ai")),
		"org.settings.regions": {who: whoAdmin, span: after(cutoff), build: func(g *gen, e *event) {
			e.target(orgRef)
			e.set("old_region", "us", "new_region", "eu", "settings", kv("default_region", "eu"))
		}},
		"org.settings.resource_groups":  settingsOf(0.02, groupsOn, kv("default_group", "research"), kv("members_see_all_groups", false)),
		"org.settings.publisher_gating": settingsOf(0, cutoff, kv("gated_by_default", true), kv("access_requests", "manual")),
		"org.settings.inference_providers": {weight: 0.04, who: whoAdmin, span: after(providersOn), build: func(g *gen, e *event) {
			e.target(orgRef)
			p := some(g, []string{"fal-ai", "sambanova", "together"}, 3)
			e.set("settings", kv("enabled_providers", p), "providers", p)
		}},
		"org.settings.inference_providers.keys.add":    keyEvent(),
		"org.settings.inference_providers.keys.remove": keyEvent(),
		"org.settings.inference_providers.usage": settingsOf(0.03, providersOn, kv("monthly_spend_limit_usd", 500),
			kv("monthly_spend_limit_usd", 1500), kv("billing", "organization")),
		"org.settings.sso": settingsOf(0.02, ssoOn, kv("session_duration_hours", 12),
			kv("sso_url", "https://acme.okta.com/app/huggingface/sso/saml"), kv("role_mapping", "okta groups")),
		"org.settings.sso.enable": {who: whoAdmin, span: after(cutoff), build: func(g *gen, e *event) {
			e.target(orgRef)
			e.set("protocol", "saml", "provider", "okta")
		}},
		"org.settings.security.repo_visibility": {who: whoAdmin, span: after(cutoff), build: func(g *gen, e *event) {
			e.target(orgRef)
			e.set("old_visibility", "public", "new_visibility", "private", "settings", kv("default_visibility", "private"))
		}},
		"org.settings.security.auto_join.enable": {who: whoAdmin, span: after(cutoff), build: func(g *gen, e *event) {
			e.target(orgRef, domain)
			e.set("domains", []string{"acme.ai"}, "role", "read")
		}},
		"org.settings.network": settingsOf(0, cutoff, kv("ip_allowlist_mode", "audit"), kv("ip_allowlist_mode", "enforce")),
		"org.settings.network.ip_restriction.enable": {who: whoAdmin, span: after(cutoff), build: func(g *gen, e *event) {
			e.target(orgRef)
			e.set("ranges", officeRanges)
		}},
	}
	for _, t := range []string{"sso.disable", "security.2fa.enable", "security.2fa.disable", "security.auto_join.disable",
		"security.members_privacy.enable", "security.members_privacy.disable", "network.ip_restriction.disable",
		"network.auth_enforcement.enable", "network.auth_enforcement.disable"} {
		b["org.settings."+t] = toggleOn()
	}
	return b
}

var legacySettings = []map[string]any{
	kv("homepage", "https://acme.ai"), kv("avatar", "updated"),
	kv("default_repo_visibility", "private"), kv("discussions_enabled", true),
}

var officeRanges = []string{"2.125.160.0/24", "81.2.69.0/24", "2a02:26f0:93::/48"}

// keyEvent is an inference provider key added or removed, by name.
func keyEvent() builder {
	return builder{who: whoAdmin, span: after(cutoff), build: func(g *gen, e *event) {
		k := one(g, providerKeys)
		e.target(orgRef, k.ref())
		e.set("provider", k.provider, "name", k.name)
	}}
}

func membershipBuilders() map[string]builder {
	return map[string]builder{
		"org.add_user": {who: whoAdmin, build: func(g *gen, e *event) {
			m := g.other(e)
			e.target(m.ref())
			e.set("role", m.role)
		}},
		"org.remove_user": {who: whoAdmin, build: func(g *gen, e *event) {
			e.target(g.other(e).ref())
		}},
		"org.change_role": {who: whoAdmin, build: func(g *gen, e *event) {
			m := g.other(e)
			e.target(m.ref())
			e.set("old_role", m.role, "new_role", one(g, roles))
		}},
		"org.leave": {who: whoAnyone},
		"org.invite_user": {who: whoAdmin, build: func(g *gen, e *event) {
			e.target(nameRef("email", "sam.taylor@acme.ai"))
			e.set("role", "read")
		}},
		"org.invite.accept": {who: whoAnyone, build: func(g *gen, e *event) {
			e.target(e.by.ref())
			e.set("role", e.by.role)
		}},
		"org.invite.email": {who: whoSystem, build: func(g *gen, e *event) {
			e.target(nameRef("email", "sam.taylor@acme.ai"))
			e.set("role", "read")
		}},
		"org.join.from_domain": {who: whoAnyone, build: func(g *gen, e *event) {
			e.target(e.by.ref(), domain)
			e.set("role", "read")
		}},
		"org.join.automatic": {who: whoAnyone, build: func(g *gen, e *event) {
			e.target(e.by.ref())
			e.set("role", "read")
		}},
	}
}
