// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"slices"
	"strings"
)

// billingEvent is a builder of a billing owner's event.
func billingEvent(build func(g *gen, e *event)) builder {
	return builder{who: whoBilling, ua: uaBrowser, build: build}
}

func billingBuilders() map[string]builder {
	plan := func(g *gen, e *event) { e.target(subscription); e.set("plan", "enterprise") }
	market := func(acct ref) func(g *gen, e *event) {
		return func(g *gen, e *event) {
			e.target(acct)
			e.set("account_id", acct.ID[strings.IndexByte(acct.ID, ':')+1:])
		}
	}
	return map[string]builder{
		"billing.update_payment_method": billingEvent(func(g *gen, e *event) {
			e.target(newCard.ref())
			e.set("brand", newCard.brand, "last4", newCard.last4)
		}),
		"billing.create_customer": billingEvent(nil),
		"billing.remove_payment_method": billingEvent(func(g *gen, e *event) {
			e.target(firstCard.ref())
			e.set("brand", firstCard.brand, "last4", firstCard.last4)
		}),
		"billing.aws_add":    billingEvent(market(awsAccount)),
		"billing.aws_remove": billingEvent(market(awsAccount)),
		"billing.gcp_add":    billingEvent(market(gcpAccount)),
		"billing.gcp_remove": billingEvent(market(gcpAccount)),
		"billing.marketplace_approve": billingEvent(func(g *gen, e *event) {
			market(awsAccount)(g, e)
			e.set("marketplace", "aws")
		}),
		"billing.start_subscription":     billingEvent(func(g *gen, e *event) { plan(g, e); e.set("seats", 10) }),
		"billing.renew_subscription":     {who: whoSystem, build: plan},
		"billing.cancel_subscription":    billingEvent(plan),
		"billing.un_cancel_subscription": billingEvent(plan),
		"billing.update_subscription": billingEvent(func(g *gen, e *event) {
			plan(g, e)
			e.set("old_seats", 25, "new_seats", 30, "settings", kv("seats", 30))
		}),
		"billing.update_subscription_plan": billingEvent(func(g *gen, e *event) {
			e.target(subscription)
			e.set("old_plan", "team", "new_plan", "enterprise")
		}),
		"billing.update_subscription_contract_details": billingEvent(func(g *gen, e *event) {
			e.target(subscription)
			e.set("fields", []string{"billing_email", "vat_id"})
		}),
	}
}

// onGroup is a builder of an admin's resource group event.
func onGroup(weight float64, build func(g *gen, e *event, grp group)) builder {
	return builder{weight: weight, who: whoAdmin, ua: uaBrowser, span: after(groupsOn), build: func(g *gen, e *event) {
		grp := one(g, groups)
		e.target(grp.ref())
		if build != nil {
			build(g, e, grp)
		}
	}}
}

// withUsers adds one or two members as user targets and as names: of
// grp's people when in is true, else of the other members.
func (g *gen) withUsers(e *event, grp group, in bool) {
	var cands []*member
	for _, m := range g.members {
		if m.active(e.at) && !m.business && slices.Contains(groupPeople[grp.name], m.name) == in {
			cands = append(cands, m)
		}
	}
	if len(cands) == 0 {
		cands = append(cands, g.other(e))
	}
	var names []string
	for _, m := range some(g, cands, 2) {
		e.target(m.ref())
		names = append(names, m.name)
	}
	e.set("users", names)
}

func groupBuilders() map[string]builder {
	return map[string]builder{
		"resource_group.create": onGroup(0, func(g *gen, e *event, grp group) { e.set("description", grp.description) }),
		"resource_group.delete": onGroup(0, nil),
		"resource_group.settings": onGroup(0.08, func(g *gen, e *event, grp group) {
			e.set("settings", one(g, []map[string]any{kv("default_role", "read"), kv("default_role", "write"),
				kv("auto_add_creators", true)}))
		}),
		"resource_group.add_users": onGroup(0.2, func(g *gen, e *event, grp group) {
			g.withUsers(e, grp, false)
			e.set("role", one(g, []string{"read", "write"}))
		}),
		"resource_group.remove_users": onGroup(0.08, func(g *gen, e *event, grp group) { g.withUsers(e, grp, true) }),
		"resource_group.change_role": onGroup(0.06, func(g *gen, e *event, grp group) {
			g.withUsers(e, grp, true)
			old := one(g, []string{"read", "write"})
			e.set("old_role", old, "new_role", otherThan(g, []string{"read", "write", "admin"}, old))
		}),
	}
}
