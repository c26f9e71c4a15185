// SPDX-License-Identifier: Apache-2.0

package catalog

// contentTypes are the repository, collection and Space events. Secrets
// and variables are in secretTypes.
func contentTypes() []Type {
	c := CategoryContent
	types := []Type{
		repoEvent("repo.create", "Repository created", "{actor} created [the {meta:repo_type} ]{target:repo}",
			str("repo_type", "model, dataset or space"), boolean("private", "whether the repository is private")),
		repoEvent("repo.delete", "Repository deleted", "{actor} deleted [the {meta:repo_type} ]{target:repo}",
			str("repo_type", "model, dataset or space")),
		{
			Name: "repo.move", Category: c,
			Summary: "Repository moved or renamed",
			Targets: []TargetRule{need(TargetRepo)},
			Metadata: []MetaRule{
				required(str("from", "the full name before, like acme/llama")),
				required(str("to", "the full name after")),
				str("repo_type", "model, dataset or space"),
			},
			Template: "{actor} moved {meta:from|a repository} to {meta:to|a new name}",
		},
		repoEvent("repo.disable", "Repository disabled", "{actor} disabled {target:repo}[ ({meta:reason})]",
			str("reason", "why it was disabled")),
		repoEvent("repo.removeDisable", "Repository re-enabled", "{actor} re-enabled {target:repo}"),
		repoEvent("repo.duplication", "Repository duplicated",
			"{actor} created {target:repo} as a duplicate of {meta:from|another repository}",
			str("from", "the full name of the repository duplicated")),
		repoEvent("repo.delete_doi", "DOI of a repository deleted",
			"{actor} deleted [the DOI {meta:doi}|a DOI] of {target:repo}",
			str("doi", "the DOI deleted, like 10.57967/hf/1234")),
		{
			Name: "repo.update_resource_group", Category: c,
			Summary: "Repository moved to another resource group",
			Targets: []TargetRule{need(TargetRepo), may(TargetResourceGroup)},
			Metadata: []MetaRule{
				str("old_resource_group", "the resource group before, if any"),
				str("new_resource_group", "the resource group after, if any"),
			},
			Template: "{actor} changed the resource group of {target:repo}[ to {target:resource_group}]",
		},
		repoEvent("repo.update_settings", "Repository settings changed (visibility, gating…)",
			"{actor} updated the settings of {target:repo}[ ({meta:settings})]", settings()),
		repoEvent("repo.delete_lfs_file", "LFS file deleted from a repository",
			"{actor} deleted [the LFS file {meta:path}|an LFS file] from {target:repo}",
			str("path", "the file's path"), str("oid", "the LFS object id"), integer("size", "the size in bytes")),
		{
			Name: "collection.create", Category: c,
			Summary:  "Collection created",
			Targets:  []TargetRule{need(TargetCollection)},
			Metadata: []MetaRule{boolean("private", "whether the collection is private")},
			Template: "{actor} created [the collection {target:collection}|a collection]",
		},
		{
			Name: "collection.delete", Category: c,
			Summary:  "Collection deleted",
			Targets:  []TargetRule{need(TargetCollection)},
			Template: "{actor} deleted [the collection {target:collection}|a collection]",
		},
	}
	return append(types, spaceTypes()...)
}

// repoEvent is a content event whose one required target is a repository.
func repoEvent(name, summary, template string, metadata ...MetaRule) Type {
	return Type{
		Name: name, Category: CategoryContent, Summary: summary, Template: template,
		Targets: []TargetRule{need(TargetRepo)}, Metadata: metadata,
	}
}

// spaceTypes are the Space configuration events. The Space is a target
// of type space or, as the Hub names it, repo.
func spaceTypes() []Type {
	return []Type{
		spaceEvent("spaces.add_storage", "Persistent storage added to a Space",
			"{actor} added[ {meta:tier}] persistent storage to {target:space,repo}",
			str("tier", "the storage tier (small, medium, large)")),
		spaceEvent("spaces.remove_storage", "Persistent storage removed from a Space",
			"{actor} removed[ {meta:tier}] persistent storage from {target:space,repo}",
			str("tier", "the storage tier removed")),
		spaceEvent("spaces.update_hardware", "Space hardware changed",
			"{actor} changed the hardware of {target:space,repo}[ from {meta:old_flavor}][ to {meta:new_flavor}]",
			str("old_flavor", "the hardware before (cpu-basic, t4-small, a10g-large…)"),
			required(str("new_flavor", "the hardware after"))),
		spaceEvent("spaces.update_sleep_time", "Space sleep time changed",
			"{actor} changed the sleep time of {target:space,repo}[ from {meta:old_sleep_time} seconds][ to {meta:new_sleep_time} seconds]",
			integer("old_sleep_time", "seconds of inactivity before sleeping, before (-1: never)"),
			integer("new_sleep_time", "seconds of inactivity before sleeping, after (-1: never)")),
	}
}

func spaceEvent(name, summary, template string, metadata ...MetaRule) Type {
	return Type{
		Name: name, Category: CategoryContent, Summary: summary, Template: template,
		Targets: []TargetRule{need(TargetSpace, TargetRepo)}, Metadata: metadata,
	}
}
