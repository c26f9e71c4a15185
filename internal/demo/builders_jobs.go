// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"strings"
	"time"
)

// secretEvent is a builder of a repository secret or variable event: one
// name (with a secret or variable target) or several names, never a value.
// Spaces hold most of them.
func secretEvent(weight float64, noun string, many bool) builder {
	names := secretNames
	if noun == "variable" {
		names = variableNames
	}
	return builder{weight: weight, who: whoMember, ua: uaMixed, build: func(g *gen, e *event) {
		r := g.repoFor(e, "space")
		if g.rng.IntN(10) < 3 {
			r = g.repoFor(e, "model", "dataset")
		}
		e.target(r.ref())
		if many {
			e.set("names", some(g, names, 4))
			return
		}
		name := one(g, names)
		e.target(nameRef(noun, name))
		e.set("name", name)
	}}
}

func secretBuilders() map[string]builder {
	b := map[string]builder{}
	for _, noun := range []string{"secret", "variable"} {
		b["repo.add_"+noun] = secretEvent(3, noun, false)
		b["repo.update_"+noun] = secretEvent(2.5, noun, false)
		b["repo.remove_"+noun] = secretEvent(1, noun, false)
		b["repo.add_"+noun+"s"] = secretEvent(0.6, noun, true)
		b["repo.remove_"+noun+"s"] = secretEvent(0.3, noun, true)
	}
	return b
}

// Jobs people and CI run, and the images and hardware they use.
var (
	jobNames = []string{"sft-llama-lora", "dpo-llama", "eval-whisper-eu", "dedup-support-tickets",
		"embed-product-images", "convert-gguf", "benchmark-reranker", "distill-mistral"}
	jobFlavors = []string{"a10g-large", "a100-large", "h100", "l4x1", "l40sx4", "cpu-upgrade"}
	jobImages  = []string{"pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", "ghcr.io/acme-ai/trainer:1.8",
		"python:3.11-slim", "ghcr.io/huggingface/text-generation-inference:3.0", "ghcr.io/astral-sh/uv:python3.12-bookworm"}
)

func schedulesOn(g *gen) time.Time { return g.marks.schedules }
func groupsOn(g *gen) time.Time    { return g.marks.groups }

// newJob is a fresh job run.
func (g *gen) newJob() ref {
	return ref{Type: "job", ID: g.hex24(), Name: one(g, jobNames)}
}

// onSchedule is a builder of a member's event on a scheduled job.
func onSchedule(weight float64) builder {
	return builder{weight: weight, who: whoWriter, ua: uaAPI, span: after(schedulesOn), build: func(g *gen, e *event) {
		e.target(one(g, schedules).ref())
	}}
}

func jobBuilders() map[string]builder {
	return map[string]builder{
		"jobs.create": {weight: 6, who: whoCI, ua: uaAPI, build: func(g *gen, e *event) {
			j := g.newJob()
			e.target(j)
			img := one(g, jobImages)
			flavor := one(g, jobFlavors)
			if strings.HasPrefix(img, "python") {
				flavor = "cpu-upgrade"
			}
			e.set("flavor", flavor, "image", img)
		}},
		"jobs.cancel": {weight: 1, who: whoWriter, ua: uaAPI, build: func(g *gen, e *event) {
			e.target(g.newJob())
		}},
		"scheduled_job.create": {who: whoWriter, ua: uaAPI, build: func(g *gen, e *event) {
			s := one(g, schedules)
			e.target(s.ref())
			e.set("schedule", s.schedule, "flavor", s.flavor, "image", s.image)
		}},
		"scheduled_job.delete":  onSchedule(0),
		"scheduled_job.resume":  onSchedule(0),
		"scheduled_job.suspend": onSchedule(0),
		"scheduled_job.run": {who: whoSystem, span: after(schedulesOn), build: func(g *gen, e *event) {
			e.target(one(g, schedules).ref(), g.newJob())
		}},
	}
}
