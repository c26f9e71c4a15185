// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"fmt"
)

// repoRef is r as a repository target, whatever its kind (the Hub names
// Spaces "repo" in repository events).
func repoRef(r *repo) ref {
	t := r.ref()
	t.Type = "repo"
	return t
}

// onRepo is a builder of a contributor's event on an existing repository.
func onRepo(weight float64, ua uaKind, build func(g *gen, e *event, r *repo)) builder {
	return builder{weight: weight, who: whoMember, ua: ua, build: func(g *gen, e *event) {
		r := g.repoFor(e)
		e.target(repoRef(r))
		if build != nil {
			build(g, e, r)
		}
	}}
}

// onSpace is a builder of a contributor's event on an existing Space.
func onSpace(weight float64, build func(g *gen, e *event)) builder {
	return builder{weight: weight, who: whoMember, ua: uaBrowser, build: func(g *gen, e *event) {
		e.target(g.repoFor(e, "space").ref())
		build(g, e)
	}}
}

func contentBuilders() map[string]builder {
	return map[string]builder{
		"repo.create": {weight: 8, who: whoMember, ua: uaMixed, build: func(g *gen, e *event) {
			name, kind := g.experiment()
			e.target(ref{Type: "repo", ID: g.hex24(), Name: name})
			e.set("repo_type", kind, "private", g.rng.IntN(5) > 0)
		}},
		"repo.delete": {weight: 1.5, who: whoWriter, ua: uaMixed, build: func(g *gen, e *event) {
			name, kind := g.experiment()
			e.target(ref{Type: "repo", ID: g.hex24(), Name: name})
			e.set("repo_type", kind)
		}},
		"repo.move": {weight: 0.3, who: whoWriter, ua: uaBrowser, build: func(g *gen, e *event) {
			name, kind := g.experiment()
			from := e.actor.Name + "/" + name[len("acme/"):]
			e.target(ref{Type: "repo", ID: g.hex24(), Name: name})
			e.set("from", from, "to", name, "repo_type", kind)
		}},
		"repo.disable": {who: whoSystem, build: func(g *gen, e *event) {
			e.target(repoRef(g.repoFor(e, "model")))
			e.set("reason", "license review requested")
		}},
		"repo.removeDisable": {who: whoSystem, build: func(g *gen, e *event) {
			e.target(repoRef(g.repoFor(e, "model")))
		}},
		"repo.duplication": {weight: 0.3, who: whoWriter, ua: uaBrowser, build: func(g *gen, e *event) {
			src := g.repoFor(e)
			g.seq++
			name := fmt.Sprintf("%s-%s-%d", src.name, one(g, []string{"staging", "fork", "backup"}), g.seq)
			e.target(ref{Type: "repo", ID: g.hex24(), Name: name})
			e.set("from", src.name)
		}},
		"repo.delete_doi": onRepo(0, uaBrowser, func(g *gen, e *event, r *repo) {
			e.set("doi", fmt.Sprintf("10.57967/hf/%d", 1000+g.rng.IntN(4000)))
		}),
		"repo.update_resource_group": {weight: 0.4, who: whoAdmin, ua: uaBrowser, span: after(groupsOn), build: func(g *gen, e *event) {
			r := g.repoFor(e)
			old, grp := r.group, one(g, groups)
			e.target(repoRef(r), grp.ref())
			e.set("new_resource_group", grp.name)
			if old != "" {
				e.set("old_resource_group", old)
			}
		}},
		"repo.update_settings": onRepo(16, uaBrowser, func(g *gen, e *event, r *repo) {
			e.set("settings", one(g, repoSettings)())
		}),
		"repo.delete_lfs_file": onRepo(0.6, uaMixed, func(g *gen, e *event, r *repo) {
			n := 1 + g.rng.IntN(4)
			e.set("path", fmt.Sprintf("model-%05d-of-%05d.safetensors", n, n+g.rng.IntN(3)),
				"oid", g.hex24()+g.hex24()+g.hex24()[:16], "size", 1<<30+g.rng.IntN(4<<30))
		}),
		"collection.create": {weight: 0.4, who: whoMember, ua: uaBrowser, build: func(g *gen, e *event) {
			e.target(one(g, collections))
			e.set("private", g.rng.IntN(2) == 0)
		}},
		"collection.delete": {weight: 0.1, who: whoMember, ua: uaBrowser, build: func(g *gen, e *event) {
			e.target(one(g, collections))
		}},
		"spaces.add_storage": onSpace(0.3, func(g *gen, e *event) {
			e.set("tier", one(g, []string{"small", "medium", "large"}))
		}),
		"spaces.remove_storage": onSpace(0.15, func(g *gen, e *event) {
			e.set("tier", one(g, []string{"small", "medium"}))
		}),
		"spaces.update_hardware": onSpace(6, func(g *gen, e *event) {
			old := one(g, flavors)
			e.set("old_flavor", old, "new_flavor", otherThan(g, flavors, old))
		}),
		"spaces.update_sleep_time": onSpace(2, func(g *gen, e *event) {
			old := one(g, sleepTimes)
			e.set("old_sleep_time", old, "new_sleep_time", otherThan(g, sleepTimes, old))
		}),
	}
}

var (
	flavors    = []string{"cpu-basic", "cpu-upgrade", "t4-small", "t4-medium", "l4x1", "l4x4", "a10g-small", "a10g-large", "a100-large", "zero-a10g"}
	sleepTimes = []int{300, 900, 3600, 7200, 86400, 172800, -1}
)

// repoSettings are the changes people make on a repository's settings page.
var repoSettings = []func() map[string]any{
	func() map[string]any { return kv("private", true) },
	func() map[string]any { return kv("private", false) },
	func() map[string]any { return kv("gated", "manual") },
	func() map[string]any { return kv("gated", "auto") },
	func() map[string]any { return kv("gated", false) },
	func() map[string]any { return kv("discussions_disabled", true) },
	func() map[string]any { return kv("xet_enabled", true) },
	func() map[string]any { return kv("private", true, "gated", "manual") },
	func() map[string]any { return kv("default_branch", "main") },
}

// otherThan returns a random element of s other than x (s has two or
// more distinct elements).
func otherThan[T comparable](g *gen, s []T, x T) T {
	for {
		if y := one(g, s); y != x {
			return y
		}
	}
}

// Names of experiment repositories: a base model or dataset and a variant.
var (
	expBases    = []string{"llama-finetune", "whisper-eu", "mistral-7b-support", "bert-ner-legal", "reranker-v2", "embeddings-multilingual", "sdxl-product-shots", "qwen2.5-7b-support"}
	expVariants = []string{"sft", "dpo", "lora-r16", "lora-r64", "gguf", "awq", "onnx", "distilled", "merged", "int8", "ablation", "long-context"}
	expData     = []string{"support-tickets", "eu-speech-corpus", "legal-ner-annotations", "product-images", "eval-harness-results", "synthetic-dialogues"}
)

// experiment names a new experiment repository and says its kind.
func (g *gen) experiment() (name, kind string) {
	g.seq++
	switch r := g.rng.IntN(20); {
	case r < 15:
		return fmt.Sprintf("acme/%s-%s-run%d", one(g, expBases), one(g, expVariants), g.seq), "model"
	case r < 19:
		return fmt.Sprintf("acme/%s-%s-%d", one(g, expData), one(g, []string{"dedup", "filtered", "eval-split", "en-fr"}), g.seq), "dataset"
	}
	return fmt.Sprintf("acme/%s-demo-%d", one(g, expBases), g.seq), "space"
}
