// SPDX-License-Identifier: Apache-2.0

package catalog

// orgSettingsTypes are the organization settings events: the legacy
// org.update_settings and the granular org.settings.* events the Hub
// writes since 2026-06-16.
func orgSettingsTypes() []Type {
	c := CategoryOrganization
	return []Type{
		{
			Name: "org.update_settings", Category: c, Targets: orgTarget(),
			Summary:  "Organization settings changed (legacy event, before the org.settings.* events)",
			Metadata: []MetaRule{settings()},
			Template: "{actor} updated the organization settings[ ({meta:settings})]",
		},
		settingsChange("profile", "Organization profile changed (name, avatar, homepage…)",
			"{actor} updated the organization profile[ ({meta:settings})]"),
		{
			Name: "org.settings.regions", Category: c, Targets: orgTarget(),
			Summary: "Default storage region changed",
			Metadata: []MetaRule{
				str("old_region", "the region before (us, eu…)"),
				str("new_region", "the region after"),
				settings(),
			},
			Template: "{actor} changed the default storage region[ from {meta:old_region}][ to {meta:new_region}]",
		},
		settingsChange("resource_groups", "Resource group settings of the organization changed",
			"{actor} updated the resource group settings[ ({meta:settings})]"),
		settingsChange("publisher_gating", "Publisher gating settings changed",
			"{actor} updated the publisher gating settings[ ({meta:settings})]"),
		{
			Name: "org.settings.inference_providers", Category: c, Targets: orgTarget(),
			Summary: "Inference provider settings changed",
			Metadata: []MetaRule{
				settings(),
				list("providers", "the providers enabled after the change"),
			},
			Template: "{actor} updated the inference provider settings[ ({meta:settings})]",
		},
		providerKey("add", "Inference provider API key added",
			"{actor} added [the inference provider key {target:provider_key}|an inference provider key][ for {meta:provider}]"),
		providerKey("remove", "Inference provider API key removed",
			"{actor} removed [the inference provider key {target:provider_key}|an inference provider key][ for {meta:provider}]"),
		settingsChange("inference_providers.usage", "Inference provider usage settings changed (billing, limits)",
			"{actor} updated the inference provider usage settings[ ({meta:settings})]"),
		settingsChange("sso", "SSO configuration changed",
			"{actor} updated the SSO configuration[ ({meta:settings})]"),
		{
			Name: "org.settings.sso.enable", Category: c, Targets: orgTarget(),
			Summary:  "SSO enabled",
			Metadata: []MetaRule{str("protocol", "saml or oidc"), str("provider", "the identity provider")},
			Template: "{actor} enabled SSO[ ({meta:protocol})]",
		},
		toggle("sso.disable", "SSO disabled", "{actor} disabled SSO"),
		{
			Name: "org.settings.security.repo_visibility", Category: c, Targets: orgTarget(),
			Summary: "Repository visibility policy changed",
			Metadata: []MetaRule{
				str("old_visibility", "the policy before (public, private…)"),
				str("new_visibility", "the policy after"),
				settings(),
			},
			Template: "{actor} changed the repository visibility policy[ from {meta:old_visibility}][ to {meta:new_visibility}]",
		},
		toggle("security.2fa.enable", "Two-factor authentication required for members",
			"{actor} required two-factor authentication for all members"),
		toggle("security.2fa.disable", "Two-factor authentication no longer required",
			"{actor} stopped requiring two-factor authentication"),
		{
			Name: "org.settings.security.auto_join.enable", Category: c,
			Summary:  "Automatic join enabled",
			Targets:  []TargetRule{may(TargetOrg), may(TargetDomain)},
			Metadata: []MetaRule{list("domains", "the email domains that join automatically"), role()},
			Template: "{actor} enabled automatic join[ for {meta:domains}][ with the role {meta:role}]",
		},
		toggle("security.auto_join.disable", "Automatic join disabled", "{actor} disabled automatic join"),
		toggle("security.members_privacy.enable", "Member list hidden from non-members",
			"{actor} enabled members privacy: the member list is hidden from non-members"),
		toggle("security.members_privacy.disable", "Member list visible again",
			"{actor} disabled members privacy"),
		settingsChange("network", "Network settings changed",
			"{actor} updated the network settings[ ({meta:settings})]"),
		{
			Name: "org.settings.network.ip_restriction.enable", Category: c, Targets: orgTarget(),
			Summary:  "IP restriction enabled",
			Metadata: []MetaRule{list("ranges", "the allowed IP ranges (CIDR)")},
			Template: "{actor} enabled IP restriction[ to {meta:ranges}]",
		},
		toggle("network.ip_restriction.disable", "IP restriction disabled", "{actor} disabled IP restriction"),
		toggle("network.auth_enforcement.enable", "Authentication enforced on the organization's network",
			"{actor} enabled authentication enforcement on the organization's network"),
		toggle("network.auth_enforcement.disable", "Network authentication enforcement disabled",
			"{actor} disabled authentication enforcement on the organization's network"),
	}
}

// settingsChange is an org.settings.<name> event carrying the changed
// settings.
func settingsChange(name, summary, template string) Type {
	return Type{
		Name: "org.settings." + name, Category: CategoryOrganization, Targets: orgTarget(),
		Summary: summary, Metadata: []MetaRule{settings()}, Template: template,
	}
}

// toggle is an org.settings.<name> event that turns a feature on or off.
func toggle(name, summary, template string) Type {
	return Type{
		Name: "org.settings." + name, Category: CategoryOrganization, Targets: orgTarget(),
		Summary: summary, Template: template,
	}
}

// providerKey is an inference provider key event: names only, never the key.
func providerKey(action, summary, template string) Type {
	return Type{
		Name: "org.settings.inference_providers.keys." + action, Category: CategoryOrganization,
		Summary: summary, Template: template, NamesOnly: true,
		Targets: []TargetRule{may(TargetOrg), may(TargetProviderKey)},
		Metadata: []MetaRule{
			str("provider", "the inference provider (together, fal-ai…)"),
			str("name", "the key's name"),
		},
	}
}
