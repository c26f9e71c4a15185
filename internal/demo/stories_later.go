// SPDX-License-Identifier: Apache-2.0

package demo

import "time"

// ssoRollout: alice configures SAML SSO with Okta and enables it, locks
// people out with a wrong certificate, disables it, fixes it and enables
// it again the next day; then join settings follow and new people join
// through SSO, their email domain and automatic join.
func (g *gen) ssoRollout() {
	alice, jonas := g.m("alice"), g.m("jonas")
	t := g.at(alice, 0.34)
	g.by(alice, t, "org.settings.sso", uaBrowser, kv("settings", kv("protocol", "saml", "idp", "okta",
		"sso_url", "https://acme.okta.com/app/huggingface/sso/saml")), orgRef)
	t = g.at(alice, 0.35)
	sso := kv("protocol", "saml", "provider", "okta")
	g.by(alice, t, "org.settings.sso.enable", uaBrowser, sso, orgRef)
	g.by(alice, t.Add(40*time.Minute), "org.settings.sso.disable", uaBrowser, nil, orgRef)
	g.by(alice, t.Add(55*time.Minute), "org.settings.sso", uaBrowser, kv("settings", kv("x509_certificate", "replaced")), orgRef)
	t = g.workTime(alice, t.Add(day), t.Add(2*day))
	g.by(alice, t, "org.settings.sso.enable", uaBrowser, sso, orgRef)
	g.marks.sso = g.clamp(t.Add(time.Minute))
	g.by(alice, g.at(alice, 0.37), "org.settings.network.auth_enforcement.enable", uaBrowser, nil, orgRef)
	t = g.at(jonas, 0.38)
	g.by(jonas, t, "org.update_join_settings", uaBrowser, kv("settings", kv("auto_join", true, "default_role", "read"),
		"domains", []string{"acme.ai"}, "role", "read"), domain)
	g.by(jonas, t.Add(3*time.Minute), "org.settings.security.auto_join.enable", uaBrowser,
		kv("domains", []string{"acme.ai"}, "role", "read"), orgRef, domain)
	g.by(alice, g.at(alice, 0.4), "org.settings.security.2fa.disable", uaBrowser, nil, orgRef) // Okta enforces it now
	g.joinBy(g.m("lena"), 0.39, "org.sso_join", kv("role", "read", "provider", "okta"))
	g.joinBy(g.m("ines"), 0.42, "org.join.from_domain", kv("role", "read"), domain)
	g.joinBy(g.m("mei"), 0.44, "org.join.automatic", kv("role", "read"))
}

// joinBy: m joins on their own at f, through typ.
func (g *gen) joinBy(m *member, f float64, typ string, meta map[string]any, extra ...ref) {
	m.joined = g.at(m, f)
	g.by(m, m.joined, typ, uaBrowser, meta, append([]ref{m.ref()}, extra...)...)
}

// newcomer: tom is invited as a contributor, accepts, is promoted, gets a
// token approved, and is removed when his contract ends; his group
// membership and token go with him.
func (g *gen) newcomer() {
	jonas, alice, tom := g.m("jonas"), g.m("alice"), g.m("tom.h")
	g.invite(jonas, tom, g.at(jonas, 0.48))
	research := groupNamed("research").ref()
	g.by(jonas, tom.joined.Add(time.Hour), "resource_group.add_users", uaBrowser,
		kv("users", []string{tom.name}, "role", "read"), research, tom.ref())
	g.changeRole(jonas, tom, 0.55, "write")
	tok := ref{Type: "token", ID: "tok_4c7a1e9b3f2d", Name: "tom-training"}
	t := g.at(tom, 0.6)
	g.request(tom, t, tok, "repo.content.read", "repo.write", "job.write")
	g.by(alice, t.Add(3*time.Hour), "org.token_approval.authorization_request.authorized", uaBrowser, nil, tok, tom.ref())
	t = g.at(alice, 0.8)
	tom.left = t
	g.by(alice, t, "org.remove_user", uaBrowser, kv("reason", "contract ended"), tom.ref())
	g.by(alice, t.Add(2*time.Minute), "resource_group.remove_users", uaBrowser, kv("users", []string{tom.name}), research, tom.ref())
	g.by(alice, t.Add(4*time.Minute), "org.token_approval.authorization_request.revoked", uaBrowser,
		kv("reason", "member removed"), tok, tom.ref())
	g.by(alice, t.Add(30*time.Minute), "org.audit_log.export", uaBrowser, kv("format", "json", "query", "actor:tom.h", "count", 212))
}

// inferenceProviders: alice enables inference providers with the org's
// own keys and a spending limit; one key is retired later.
func (g *gen) inferenceProviders() {
	alice := g.m("alice")
	t := g.at(alice, 0.5)
	providers := []string{"together", "fal-ai", "sambanova"}
	g.by(alice, t, "org.settings.inference_providers", uaBrowser,
		kv("settings", kv("enabled_providers", providers), "providers", providers), orgRef)
	g.marks.providers = g.clamp(t.Add(time.Hour))
	for i, k := range providerKeys {
		g.by(alice, t.Add(time.Duration(i+2)*time.Minute), "org.settings.inference_providers.keys.add", uaBrowser,
			kv("provider", k.provider, "name", k.name), orgRef, k.ref())
	}
	g.by(alice, t.Add(10*time.Minute), "org.settings.inference_providers.usage", uaBrowser,
		kv("settings", kv("monthly_spend_limit_usd", 500)), orgRef)
	k := providerKeys[2]
	g.by(alice, g.at(alice, 0.75), "org.settings.inference_providers.keys.remove", uaBrowser,
		kv("provider", k.provider, "name", k.name), orgRef, k.ref())
	g.by(alice, g.at(alice, 0.58), "org.settings.publisher_gating", uaBrowser,
		kv("settings", kv("gated_by_default", true)), orgRef)
}

// incidents: a repository disabled pending review, an org deleted by
// mistake and restored, a leaked key rotated and a short-lived IP
// allowlist that locked out travelling people.
func (g *gen) incidents() {
	alice, jonas, chen := g.m("alice"), g.m("jonas"), g.m("chen.wei")
	sdxl := repoRef(g.repoNamed("acme/sdxl-product-shots"))
	g.bySystem(g.point(0.57), "repo.disable", kv("reason", "license review requested"), sdxl)
	g.bySystem(g.point(0.6), "repo.removeDisable", nil, sdxl)
	t := g.at(jonas, 0.62)
	g.by(jonas, t, "org.delete", uaBrowser, nil, orgRef)
	g.by(alice, t.Add(18*time.Minute), "org.restore", uaBrowser, nil, orgRef)
	g.by(alice, g.at(alice, 0.65), "repo.delete_doi", uaBrowser, kv("doi", "10.57967/hf/3142"),
		repoRef(g.repoNamed("acme/whisper-eu")))
	demo := g.repoNamed("acme/demo-chat").ref()
	t = g.at(chen, 0.72)
	g.by(chen, t, "repo.update_secret", uaBrowser, kv("name", "OPENAI_API_KEY"), demo, nameRef("secret", "OPENAI_API_KEY"))
	g.by(alice, t.Add(20*time.Minute), "org.rotate_token", uaBrowser, kv("token_type", "api"), orgRef)
	t = g.at(alice, 0.74)
	g.by(alice, t, "org.settings.network.ip_restriction.enable", uaBrowser, kv("ranges", officeRanges), orgRef)
	g.by(alice, t.Add(5*time.Minute), "org.settings.network", uaBrowser, kv("settings", kv("ip_allowlist_mode", "enforce")), orgRef)
	g.by(jonas, t.Add(3*time.Hour), "org.settings.network.ip_restriction.disable", uaBrowser, nil, orgRef)
}

func (g *gen) repoNamed(name string) *repo {
	for _, r := range g.repos {
		if r.name == name {
			return r
		}
	}
	return g.repos[0]
}

// marketplace: olivia tries Google Cloud billing, connects the wrong AWS
// account then the right one, cancels the card subscription by mistake
// and reverses it.
func (g *gen) marketplace() {
	o := g.m("olivia")
	t := g.at(o, 0.6)
	gcp := kv("account_id", "01A2B3-C4D5E6-F7A8B9")
	g.by(o, t, "billing.gcp_add", uaBrowser, gcp, gcpAccount)
	g.by(o, t.Add(2*day), "billing.gcp_remove", uaBrowser, gcp, gcpAccount)
	t = g.at(o, 0.63)
	wrong := ref{Type: "marketplace", ID: "aws:112233445566", Name: "AWS Marketplace 112233445566"}
	g.by(o, t, "billing.aws_add", uaBrowser, kv("account_id", "112233445566"), wrong)
	g.by(o, t.Add(15*time.Minute), "billing.aws_remove", uaBrowser, kv("account_id", "112233445566"), wrong)
	aws := kv("account_id", "481516234200")
	g.by(o, t.Add(25*time.Minute), "billing.aws_add", uaBrowser, aws, awsAccount)
	g.by(o, t.Add(26*time.Hour), "billing.marketplace_approve", uaBrowser,
		kv("marketplace", "aws", "account_id", "481516234200"), awsAccount)
	t = g.at(o, 0.66)
	g.by(o, t, "billing.cancel_subscription", uaBrowser,
		kv("plan", "enterprise", "reason", "moving billing to AWS Marketplace"), subscription)
	g.by(o, t.Add(12*time.Minute), "billing.un_cancel_subscription", uaBrowser, kv("plan", "enterprise"), subscription)
}

// late: the last months' changes and a departure.
func (g *gen) late() {
	alice, jonas := g.m("alice"), g.m("jonas")
	t := g.at(jonas, 0.7)
	g.by(jonas, t, "org.token_approval.disabled", uaBrowser, nil, orgRef)
	g.by(alice, g.workTime(alice, t.Add(day), t.Add(2*day)), "org.token_approval.enabled", uaBrowser, nil, orgRef)
	g.by(jonas, g.at(jonas, 0.85), "org.settings.security.members_privacy.disable", uaBrowser, nil, orgRef)
	g.by(alice, g.at(alice, 0.9), "org.settings.security.auto_join.disable", uaBrowser, nil, orgRef)
	t = g.at(jonas, 0.92)
	g.by(jonas, t, "org.settings.network.auth_enforcement.disable", uaBrowser, nil, orgRef)
	g.by(jonas, t.Add(2*time.Hour), "org.settings.network.auth_enforcement.enable", uaBrowser, nil, orgRef)
	yuki := g.m("yuki")
	yuki.left = g.at(yuki, 0.88)
	g.by(yuki, yuki.left, "org.leave", uaBrowser, nil)
	yuki.left = yuki.left.Add(time.Millisecond)
	g.by(alice, g.at(alice, 0.95), "org.settings.profile", uaBrowser,
		kv("settings", kv("description", "Open models for customer support, speech and search")), orgRef)
}
