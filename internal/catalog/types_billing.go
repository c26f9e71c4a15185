// SPDX-License-Identifier: Apache-2.0

package catalog

// billingTypes are the payment, cloud marketplace and subscription events.
func billingTypes() []Type {
	c := CategoryBilling
	card := []MetaRule{
		str("brand", "the card brand or method kind (visa, sepa_debit…)"),
		str("last4", "the last four digits, never the full number"),
	}
	return append([]Type{
		{
			Name: "billing.update_payment_method", Category: c,
			Summary: "Payment method added or changed", Metadata: card,
			Targets:  []TargetRule{may(TargetPaymentMethod)},
			Template: "{actor} updated the payment method[ to {meta:brand} ending in {meta:last4}]",
		},
		{
			Name: "billing.create_customer", Category: c,
			Summary:  "Billing customer account created",
			Template: "{actor} created the billing account of the organization",
		},
		{
			Name: "billing.remove_payment_method", Category: c,
			Summary: "Payment method removed", Metadata: card,
			Targets:  []TargetRule{may(TargetPaymentMethod)},
			Template: "{actor} removed [the {meta:brand} payment method ending in {meta:last4}|a payment method]",
		},
		marketplace("billing.aws_add", "AWS Marketplace account connected",
			"{actor} connected [the AWS Marketplace account {meta:account_id}|an AWS Marketplace account]"),
		marketplace("billing.aws_remove", "AWS Marketplace account disconnected",
			"{actor} disconnected [the AWS Marketplace account {meta:account_id}|the AWS Marketplace account]"),
		marketplace("billing.gcp_add", "Google Cloud Marketplace account connected",
			"{actor} connected [the Google Cloud Marketplace account {meta:account_id}|a Google Cloud Marketplace account]"),
		marketplace("billing.gcp_remove", "Google Cloud Marketplace account disconnected",
			"{actor} disconnected [the Google Cloud Marketplace account {meta:account_id}|the Google Cloud Marketplace account]"),
		{
			Name: "billing.marketplace_approve", Category: c,
			Summary:  "Cloud marketplace subscription approved",
			Targets:  []TargetRule{may(TargetMarketplace)},
			Metadata: []MetaRule{str("marketplace", "aws or gcp"), str("account_id", "the cloud account id")},
			Template: "{actor} approved [the {meta:marketplace} marketplace subscription|a cloud marketplace subscription]",
		},
	}, subscriptionTypes()...)
}

func marketplace(name, summary, template string) Type {
	return Type{
		Name: name, Category: CategoryBilling, Summary: summary, Template: template,
		Targets:  []TargetRule{may(TargetMarketplace)},
		Metadata: []MetaRule{str("account_id", "the cloud account id")},
	}
}

// subscriptionTypes are the subscription lifecycle events.
func subscriptionTypes() []Type {
	plan := str("plan", "the plan (team, enterprise…)")
	seats := integer("seats", "the number of seats")
	return []Type{
		subscription("start", "Subscription started",
			"{actor} started [the {meta:plan} subscription|a subscription][ for {meta:seats} seats]", plan, seats),
		subscription("renew", "Subscription renewed",
			"{actor} renewed [the {meta:plan} subscription|the subscription]", plan),
		subscription("cancel", "Subscription cancelled",
			"{actor} cancelled [the {meta:plan} subscription|the subscription][ ({meta:reason})]",
			plan, str("reason", "the reason given, if any")),
		subscription("un_cancel", "Subscription cancellation reversed",
			"{actor} reversed the cancellation of [the {meta:plan} subscription|the subscription]", plan),
		subscription("update", "Subscription changed (seats, billing period…)",
			"{actor} updated [the {meta:plan} subscription|the subscription][: seats from {meta:old_seats} to {meta:new_seats}]",
			plan, integer("old_seats", "seats before"), integer("new_seats", "seats after"), settings()),
		{
			Name: "billing.update_subscription_plan", Category: CategoryBilling,
			Summary: "Subscription plan changed",
			Targets: []TargetRule{may(TargetSubscription)},
			Metadata: []MetaRule{
				str("old_plan", "the plan before"),
				required(str("new_plan", "the plan after")),
			},
			Template: "{actor} changed the subscription plan[ from {meta:old_plan}][ to {meta:new_plan}]",
		},
		{
			Name: "billing.update_subscription_contract_details", Category: CategoryBilling,
			Summary:  "Subscription contract details changed",
			Targets:  []TargetRule{may(TargetSubscription)},
			Metadata: []MetaRule{list("fields", "the names of the contract fields changed")},
			Template: "{actor} updated the subscription contract details[ ({meta:fields})]",
		},
	}
}

// subscription is a billing.<action>_subscription event.
func subscription(action, summary, template string, metadata ...MetaRule) Type {
	return Type{
		Name: "billing." + action + "_subscription", Category: CategoryBilling,
		Summary: summary, Template: template, Metadata: metadata,
		Targets: []TargetRule{may(TargetSubscription)},
	}
}
