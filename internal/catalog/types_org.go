// SPDX-License-Identifier: Apache-2.0

package catalog

// orgTypes are the organization's core, security-token, token-approval,
// SSO and join-settings events. Settings events are in orgSettingsTypes.
func orgTypes() []Type {
	c := CategoryOrganization
	return []Type{
		{
			Name: "org.create", Category: c, Targets: orgTarget(),
			Summary:  "Organization created",
			Template: "{actor} created the organization[ {target:org}]",
		},
		{
			Name: "org.delete", Category: c, Targets: orgTarget(),
			Summary:  "Organization deleted",
			Template: "{actor} deleted the organization[ {target:org}]",
		},
		{
			Name: "org.restore", Category: c, Targets: orgTarget(),
			Summary:  "Deleted organization restored",
			Template: "{actor} restored the organization[ {target:org}]",
		},
		{
			Name: "org.rename", Category: c, Targets: orgTarget(),
			Summary: "Organization renamed",
			Metadata: []MetaRule{
				str("old_name", "the name before"),
				required(str("new_name", "the name after")),
			},
			Template: "{actor} renamed the organization[ from {meta:old_name}] to {meta:new_name|a new name}",
		},
		{
			Name: "org.rotate_token", Category: c,
			Summary:  "Organization security token rotated",
			Targets:  []TargetRule{may(TargetOrg), may(TargetToken)},
			Metadata: []MetaRule{str("token_type", "which security token was rotated")},
			Template: "{actor} rotated [the {meta:token_type} security token|a security token] of the organization",
		},
		{
			Name: "org.token_approval.enabled", Category: c, Targets: orgTarget(),
			Summary:  "Token approval required for access tokens",
			Template: "{actor} enabled token approval: access tokens now need an admin's authorization",
		},
		{
			Name: "org.token_approval.disabled", Category: c, Targets: orgTarget(),
			Summary:  "Token approval no longer required",
			Template: "{actor} disabled token approval",
		},
		{
			Name: "org.token_approval.authorization_request", Category: c,
			Summary:  "Authorization requested for an access token",
			Targets:  []TargetRule{need(TargetToken), may(TargetUser)},
			Metadata: []MetaRule{list("permissions", "the permissions requested")},
			Template: "{actor} requested authorization for [the token {target:token}|a token][ with {meta:permissions}]",
		},
		tokenDecision("authorized", "Token authorization request approved",
			"{actor} authorized [the token {target:token}|a token][ of {target:user}]"),
		tokenDecision("revoked", "Token authorization revoked",
			"{actor} revoked the authorization of [the token {target:token}|a token][ of {target:user}]"),
		tokenDecision("denied", "Token authorization request denied",
			"{actor} denied the authorization request of [the token {target:token}|a token][ of {target:user}]"),
		{
			Name: "org.sso_login", Category: c,
			Summary:  "Member signed in through SSO",
			Metadata: []MetaRule{str("provider", "the identity provider")},
			Template: "{actor} signed in through SSO[ ({meta:provider})]",
		},
		{
			Name: "org.sso_join", Category: c,
			Summary:  "User joined the organization through SSO",
			Targets:  []TargetRule{may(TargetUser)},
			Metadata: []MetaRule{role(), str("provider", "the identity provider")},
			Template: "{actor} joined the organization through SSO[ as {meta:role}]",
		},
		{
			Name: "org.update_join_settings", Category: c,
			Summary: "Join settings changed (domain-based access, automatic join)",
			Targets: []TargetRule{may(TargetDomain)},
			Metadata: []MetaRule{
				settings(),
				list("domains", "the email domains allowed to join"),
				role(),
			},
			Template: "{actor} updated the join settings[ ({meta:settings})]",
		},
	}
}

// tokenDecision is an admin's decision on a token authorization request.
func tokenDecision(action, summary, template string) Type {
	return Type{
		Name:     "org.token_approval.authorization_request." + action,
		Category: CategoryOrganization,
		Summary:  summary,
		Targets:  []TargetRule{need(TargetToken), may(TargetUser)},
		Metadata: []MetaRule{str("reason", "the reason given, if any")},
		Template: template,
	}
}
