// SPDX-License-Identifier: Apache-2.0

package catalog

// membershipTypes are the member lifecycle, invitation and automatic join
// events.
func membershipTypes() []Type {
	c := CategoryMembership
	return []Type{
		{
			Name: "org.add_user", Category: c,
			Summary:  "Member added to the organization",
			Targets:  []TargetRule{need(TargetUser)},
			Metadata: []MetaRule{role()},
			Template: "{actor} added {target:user} to the organization[ as {meta:role}]",
		},
		{
			Name: "org.remove_user", Category: c,
			Summary:  "Member removed from the organization",
			Targets:  []TargetRule{need(TargetUser)},
			Metadata: []MetaRule{str("reason", "the reason given, if any")},
			Template: "{actor} removed {target:user} from the organization",
		},
		{
			Name: "org.change_role", Category: c,
			Summary: "Member's role changed",
			Targets: []TargetRule{need(TargetUser)},
			Metadata: []MetaRule{
				str("old_role", "the role before"),
				required(str("new_role", "the role after (read, contributor, write, admin…)")),
			},
			Template: "{actor} changed {target:user}'s role[ from {meta:old_role}][ to {meta:new_role}]",
		},
		{
			Name: "org.leave", Category: c,
			Summary:  "Member left the organization",
			Template: "{actor} left the organization",
		},
		{
			Name: "org.invite_user", Category: c,
			Summary:  "User invited to join the organization",
			Targets:  []TargetRule{need(TargetUser, TargetEmail)},
			Metadata: []MetaRule{role()},
			Template: "{actor} invited {target:user,email|someone} to join the organization[ as {meta:role}]",
		},
		{
			Name: "org.invite.accept", Category: c,
			Summary:  "Invitation accepted",
			Targets:  []TargetRule{may(TargetUser)},
			Metadata: []MetaRule{role()},
			Template: "{actor} accepted an invitation to join the organization[ as {meta:role}]",
		},
		{
			Name: "org.invite.email", Category: c,
			Summary:  "Invitation sent by email",
			Targets:  []TargetRule{need(TargetEmail, TargetUser)},
			Metadata: []MetaRule{role()},
			Template: "{actor} sent an invitation email to {target:email,user|someone}[ for the role {meta:role}]",
		},
		{
			Name: "org.join.from_domain", Category: c,
			Summary:  "User joined through a verified email domain",
			Targets:  []TargetRule{may(TargetUser), may(TargetDomain)},
			Metadata: []MetaRule{role()},
			Template: "{actor} joined the organization through [the email domain {target:domain}|their email domain][ as {meta:role}]",
		},
		{
			Name: "org.join.automatic", Category: c,
			Summary:  "User joined automatically (automatic join)",
			Targets:  []TargetRule{may(TargetUser)},
			Metadata: []MetaRule{role()},
			Template: "{actor} joined the organization automatically[ as {meta:role}]",
		},
	}
}
