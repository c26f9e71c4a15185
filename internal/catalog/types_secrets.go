// SPDX-License-Identifier: Apache-2.0

package catalog

// secretTypes are the repository secret and variable events. All are
// NamesOnly: their metadata names secrets and variables, never values.
func secretTypes() []Type {
	var out []Type
	for _, k := range []struct{ noun, target string }{
		{"secret", TargetSecret},
		{"variable", TargetVariable},
	} {
		out = append(out,
			oneSecret("repo.add_"+k.noun, k.noun, k.target, "added", "to"),
			oneSecret("repo.update_"+k.noun, k.noun, k.target, "updated", "of"),
			oneSecret("repo.remove_"+k.noun, k.noun, k.target, "removed", "from"),
			manySecrets("repo.add_"+k.noun+"s", k.noun, k.target, "added", "to"),
			manySecrets("repo.remove_"+k.noun+"s", k.noun, k.target, "removed", "from"),
		)
	}
	return out
}

// oneSecret is an event about one secret or variable of a repository,
// such as "alice added the secret HF_TOKEN to acme/demo".
func oneSecret(name, noun, target, verb, prep string) Type {
	return Type{
		Name: name, Category: CategoryContent, NamesOnly: true,
		Summary:  "Repository " + noun + " " + verb + " (name only)",
		Targets:  []TargetRule{need(TargetRepo, TargetSpace), may(target)},
		Metadata: []MetaRule{required(str("name", "the "+noun+"'s name"))},
		Template: "{actor} " + verb + " [the " + noun + " {meta:name}|a " + noun + "] " + prep +
			" {target:repo,space}",
	}
}

// manySecrets is an event about several secrets or variables at once.
func manySecrets(name, noun, target, verb, prep string) Type {
	return Type{
		Name: name, Category: CategoryContent, NamesOnly: true,
		Summary:  "Several repository " + noun + "s " + verb + " at once (names only)",
		Targets:  []TargetRule{need(TargetRepo, TargetSpace), may(target)},
		Metadata: []MetaRule{required(list("names", "the "+noun+"s' names"))},
		Template: "{actor} " + verb + " [the " + noun + "s {meta:names}|" + noun + "s] " + prep +
			" {target:repo,space}",
	}
}
