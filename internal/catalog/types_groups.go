// SPDX-License-Identifier: Apache-2.0

package catalog

// groupTypes are the resource group events. Members are user targets or,
// when the producer sends names only, the users metadata key.
func groupTypes() []Type {
	group := "[the resource group {target:resource_group}|a resource group]"
	members := "[{targets:user}|{meta:users|members}]"
	users := list("users", "the members' names, when not sent as user targets")
	return []Type{
		resourceGroup("create", "Resource group created", "{actor} created "+group,
			str("description", "the group's description")),
		resourceGroup("delete", "Resource group deleted", "{actor} deleted "+group),
		resourceGroup("settings", "Resource group settings changed",
			"{actor} updated the settings of "+group+"[ ({meta:settings})]", settings()),
		resourceGroup("add_users", "Members added to a resource group",
			"{actor} added "+members+" to "+group+"[ as {meta:role}]", users, role()),
		resourceGroup("remove_users", "Members removed from a resource group",
			"{actor} removed "+members+" from "+group, users),
		resourceGroup("change_role", "Members' role in a resource group changed",
			"{actor} changed the role of "+members+" in "+group+"[ from {meta:old_role}][ to {meta:new_role}]",
			users, str("old_role", "the role before"), required(str("new_role", "the role after"))),
	}
}

func resourceGroup(action, summary, template string, metadata ...MetaRule) Type {
	return Type{
		Name: "resource_group." + action, Category: CategoryResourceGroups,
		Summary: summary, Template: template, Metadata: metadata,
		Targets: []TargetRule{need(TargetResourceGroup), may(TargetUser)},
	}
}
