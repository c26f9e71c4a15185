// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"time"
)

// stories adds the scripted part of the history, in the order things
// happened: each story may rely on what earlier ones set (who joined when,
// which repositories exist, the moments in marks).
func (g *gen) stories() {
	g.founding()
	g.firstRepos()
	g.firstSchedules()
	g.renewals()
	g.roleChanges()
	g.enterprise()
	g.tokenApprovalStory()
	g.securitySettings()
	g.resourceGroups()
	g.ssoRollout()
	g.newcomer()
	g.inferenceProviders()
	g.incidents()
	g.marketplace()
	g.late()
}

func (g *gen) m(name string) *member { return g.byName[name] }

// founding: alice creates the org, sets up billing, adds the other
// founders and invites the first team over the next two weeks.
func (g *gen) founding() {
	alice := g.m("alice")
	t := g.at(alice, 0)
	alice.joined = t
	g.by(alice, t, "org.create", uaBrowser, nil, orgRef)
	g.by(alice, t.Add(3*time.Minute), "billing.create_customer", uaBrowser, nil)
	g.by(alice, t.Add(7*time.Minute), "billing.update_payment_method", uaBrowser,
		kv("brand", firstCard.brand, "last4", firstCard.last4), firstCard.ref())
	g.by(alice, t.Add(8*time.Minute), "billing.start_subscription", uaBrowser,
		kv("plan", "team", "seats", 10), subscription)
	g.by(alice, t.Add(25*time.Minute), "org.update_settings", uaBrowser,
		kv("settings", kv("display_name", "Acme Research", "homepage", "https://acme.ai")), orgRef)
	t = t.Add(40 * time.Minute)
	for _, m := range g.members[1:] {
		if m.founder {
			t = t.Add(2*time.Minute + g.jitter(10*time.Minute))
			m.joined = t
			g.by(alice, t, "org.add_user", uaBrowser, kv("role", m.role), m.ref())
		}
	}
	for i, name := range []string{"fatima", "priya", "kenji", "lucas", "emma", "noah", "yuki"} {
		inviter := one(g, []*member{alice, g.m("jonas")})
		g.invite(inviter, g.m(name), g.workTime(inviter, t.Add(time.Duration(i)*day), t.Add(time.Duration(i+2)*day)))
	}
	g.by(alice, g.at(alice, 0.03), "org.rename", uaBrowser,
		kv("old_name", "Acme Research", "new_name", "Acme AI"), orgRef)
	g.by(alice, g.at(alice, 0.04), "org.invite_user", uaBrowser, kv("role", "read"),
		nameRef("email", "diego.ramos@gmail.com"))
	g.bySystem(g.at(alice, 0.04).Add(time.Minute), "org.invite.email", kv("role", "read"),
		nameRef("email", "diego.ramos@gmail.com")) // never accepted
}

// invite: inviter invites m at t, the Hub emails them, m accepts within a
// day and becomes a member.
func (g *gen) invite(inviter, m *member, t time.Time) {
	g.by(inviter, t, "org.invite_user", uaBrowser, kv("role", m.role), m.ref())
	g.bySystem(t.Add(time.Second), "org.invite.email", kv("role", m.role), nameRef("email", m.email()))
	m.joined = g.clamp(t.Add(20*time.Minute + g.jitter(20*time.Hour)))
	g.by(m, m.joined, "org.invite.accept", uaBrowser, kv("role", m.role), m.ref())
}

// firstRepos: each core repository is created by its owner in their first
// weeks.
func (g *gen) firstRepos() {
	for _, r := range g.repos {
		owner := g.m(r.owner)
		r.made = g.workTime(owner, owner.joined, owner.joined.Add(21*day))
		g.by(owner, r.made, "repo.create", uaMixed, kv("repo_type", r.kind, "private", r.kind != "space"), repoRef(r))
	}
}

// firstSchedules: the scheduled jobs are set up once the repositories
// they work on exist, and the platform runs them on schedule. The nightly
// eval is suspended for a week of GPU shortage; the weekly refresh is
// deleted late in the history.
func (g *gen) firstSchedules() {
	chen, bob := g.m("chen.wei"), g.m("bob")
	var made [3]time.Time
	for i, who := range []string{"chen.wei", "bob", "alice"} {
		m, s := g.m(who), schedules[i]
		made[i] = g.at(m, 0.1+0.02*float64(i))
		g.by(m, made[i], "scheduled_job.create", uaAPI, kv("schedule", s.schedule, "flavor", s.flavor, "image", s.image), s.ref())
	}
	g.marks.schedules = made[0]
	paused, resumed := g.at(chen, 0.5), g.at(chen, 0.54)
	g.by(chen, paused, "scheduled_job.suspend", uaAPI, nil, schedules[0].ref())
	g.by(chen, resumed, "scheduled_job.resume", uaAPI, nil, schedules[0].ref())
	deleted := g.at(bob, 0.9)
	g.by(bob, deleted, "scheduled_job.delete", uaBrowser, nil, schedules[1].ref())
	g.runs(schedules[0], made[0], g.hi, day, 2*time.Hour, paused, resumed)
	g.runs(schedules[1], made[1], deleted, 7*day, 4*time.Hour, time.Time{}, time.Time{})
	g.runs(schedules[2], made[2], g.hi, 6*time.Hour, 0, time.Time{}, time.Time{})
}

// runs adds the runs of s every period (offset into the UTC day or, for
// weekly runs, into Monday) from one period after from until to, except
// between pause and resume.
func (g *gen) runs(s scheduled, from, to time.Time, period, offset time.Duration, pause, resume time.Time) {
	t := midnight(from.UTC()).Add(offset)
	for period == 7*day && t.Weekday() != time.Monday {
		t = t.Add(day)
	}
	for ; t.Before(to); t = t.Add(period) {
		if !t.After(from) || !t.Before(g.hi) || (t.After(pause) && t.Before(resume)) {
			continue
		}
		g.bySystem(t.Add(time.Duration(g.rng.IntN(3000))*time.Millisecond), "scheduled_job.run", nil, s.ref(), g.newJob())
	}
}

// renewals: the platform renews the subscription every 30 days.
func (g *gen) renewals() {
	start := g.m("alice").joined
	for t := start.Add(30 * day); t.Before(g.hi); t = t.Add(30 * day) {
		p := "team"
		if t.After(g.point(0.3)) {
			p = "enterprise"
		}
		g.bySystem(t, "billing.renew_subscription", kv("plan", p), subscription)
	}
}

// roleChanges: people grow into their roles.
func (g *gen) roleChanges() {
	g.changeRole(g.m("alice"), g.m("emma"), 0.2, "contributor")
	g.changeRole(g.m("jonas"), g.m("noah"), 0.45, "write")
}

func (g *gen) changeRole(admin, m *member, f float64, role string) time.Time {
	t := g.at(admin, f)
	g.by(admin, t, "org.change_role", uaBrowser, kv("old_role", m.role, "new_role", role), m.ref())
	m.role = role
	return t
}

// enterprise: olivia upgrades the team plan to Enterprise, adds seats and
// replaces the founding card.
func (g *gen) enterprise() {
	o := g.m("olivia")
	t := g.at(o, 0.3)
	g.by(o, t, "billing.update_subscription_plan", uaBrowser, kv("old_plan", "team", "new_plan", "enterprise"), subscription)
	g.by(o, t.Add(4*time.Minute), "billing.update_subscription", uaBrowser,
		kv("plan", "enterprise", "old_seats", 10, "new_seats", 25, "settings", kv("seats", 25)), subscription)
	g.by(o, t.Add(2*day), "billing.update_subscription_contract_details", uaBrowser,
		kv("fields", []string{"billing_email", "vat_id", "purchase_order_number"}), subscription)
	g.by(o, t.Add(2*day+5*time.Minute), "billing.update_payment_method", uaBrowser,
		kv("brand", newCard.brand, "last4", newCard.last4), newCard.ref())
	g.by(o, t.Add(3*day), "billing.remove_payment_method", uaBrowser,
		kv("brand", firstCard.brand, "last4", firstCard.last4), firstCard.ref())
	g.by(o, t.Add(3*day+time.Hour), "org.audit_log.export", uaBrowser,
		kv("format", "csv", "query", "category:billing", "count", 14))
}

// tokenApprovalStory: access tokens need an admin's approval from now on;
// requests are granted, one is denied and then granted once narrowed.
func (g *gen) tokenApprovalStory() {
	alice, jonas := g.m("alice"), g.m("jonas")
	t := g.at(alice, 0.28)
	g.marks.tokenApproval = t
	g.by(alice, t, "org.token_approval.enabled", uaBrowser, nil, orgRef)
	priya := g.m("priya")
	tok := tokenRef("priya-notebook")
	t = g.at(priya, 0.285)
	g.request(priya, t, tok, "repo.content.read", "repo.write")
	g.by(alice, t.Add(2*time.Hour), "org.token_approval.authorization_request.authorized", uaBrowser, nil, tok, priya.ref())
	chen := g.m("chen.wei")
	tok = tokenRef("inference-prod")
	t = g.at(chen, 0.29)
	g.request(chen, t, tok, "repo.write", "inference.serverless.write", "org.write")
	g.by(jonas, t.Add(5*time.Hour), "org.token_approval.authorization_request.denied", uaBrowser,
		kv("reason", "too broad: scope it to acme/demo-chat"), tok, chen.ref())
	g.request(chen, t.Add(day), tok, "inference.serverless.write")
	g.by(jonas, t.Add(day+time.Hour), "org.token_approval.authorization_request.authorized", uaBrowser, nil, tok, chen.ref())
}

func (g *gen) request(m *member, t time.Time, tok ref, perms ...string) {
	g.by(m, t, "org.token_approval.authorization_request", uaBrowser, kv("permissions", perms), tok, m.ref())
}

// tokenRef is one of the named tokens.
func tokenRef(name string) ref {
	for _, t := range tokens {
		if t.name == name {
			return t.ref()
		}
	}
	return ref{Type: "token", ID: "tok_" + hexID(name)[:12], Name: name}
}

// securitySettings: after the upgrade the admins tighten security.
func (g *gen) securitySettings() {
	alice := g.m("alice")
	g.by(alice, g.at(alice, 0.27), "org.settings.security.2fa.enable", uaBrowser, nil, orgRef)
	g.by(alice, g.at(alice, 0.29), "org.settings.security.members_privacy.enable", uaBrowser, nil, orgRef)
	g.by(alice, g.at(alice, 0.32), "org.settings.regions", uaBrowser,
		kv("old_region", "us", "new_region", "eu", "settings", kv("default_region", "eu")), orgRef)
	g.by(alice, g.at(alice, 0.33), "org.settings.security.repo_visibility", uaBrowser,
		kv("old_visibility", "public", "new_visibility", "private", "settings", kv("default_visibility", "private")), orgRef)
}

// resourceGroups: jonas turns on resource groups, creates three, puts
// people and repositories in them.
func (g *gen) resourceGroups() {
	jonas := g.m("jonas")
	t := g.at(jonas, 0.31)
	g.by(jonas, t, "org.settings.resource_groups", uaBrowser, kv("settings", kv("enabled", true)), orgRef)
	g.marks.groups = g.clamp(t.Add(time.Hour))
	for _, grp := range groups {
		t = t.Add(3*time.Minute + g.jitter(10*time.Minute))
		g.by(jonas, t, "resource_group.create", uaBrowser, kv("description", grp.description), grp.ref())
		targets := []ref{grp.ref()}
		for _, n := range groupPeople[grp.name] {
			targets = append(targets, g.m(n).ref())
		}
		t = t.Add(2 * time.Minute)
		g.by(jonas, t, "resource_group.add_users", uaBrowser, kv("users", groupPeople[grp.name], "role", "write"), targets...)
	}
	for _, r := range g.repos {
		if r.group != "" {
			t = t.Add(time.Minute + g.jitter(5*time.Minute))
			grp := groupNamed(r.group)
			g.by(jonas, t, "repo.update_resource_group", uaBrowser, kv("new_resource_group", r.group), repoRef(r), grp.ref())
		}
	}
	g.hackathon(jonas)
	fatima := g.m("fatima")
	g.by(jonas, g.at(jonas, 0.5), "resource_group.change_role", uaBrowser,
		kv("users", []string{"fatima"}, "old_role", "write", "new_role", "admin"), groupNamed("eu-data").ref(), fatima.ref())
}

// hackathon: a resource group for a two-week hackathon, then deleted.
func (g *gen) hackathon(jonas *member) {
	grp := group{"hackathon-2026", "Two weeks of demos on the new GPUs"}
	people := []string{"lucas", "kenji", "priya"}
	t := g.at(jonas, 0.6)
	g.by(jonas, t, "resource_group.create", uaBrowser, kv("description", grp.description), grp.ref())
	targets := []ref{grp.ref()}
	for _, n := range people {
		targets = append(targets, g.m(n).ref())
	}
	g.by(jonas, t.Add(5*time.Minute), "resource_group.add_users", uaBrowser, kv("users", people, "role", "write"), targets...)
	g.by(jonas, g.at(jonas, 0.68), "resource_group.delete", uaBrowser, nil, grp.ref())
}

func groupNamed(name string) group {
	for _, grp := range groups {
		if grp.name == name {
			return grp
		}
	}
	return groups[0]
}
