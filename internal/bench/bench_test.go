// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"slices"
	"strings"
	"testing"
)

// TestOnlySelectsStepsByName checks --only export runs the steps named for
// it, whatever their order, and that no --only runs every step.
func TestOnlySelectsStepsByName(t *testing.T) {
	r := &run{}
	names := func(steps []benchStep) string {
		var out []string
		for _, s := range steps {
			out = append(out, s.name)
		}
		return strings.Join(out, " ")
	}
	if got := names(selectSteps(r.steps(), "")); got != "baseline in-process server disk" {
		t.Errorf("no --only runs %q", got)
	}
	if got := names(selectSteps(r.steps(), OnlyExport)); got != "baseline in-process server" {
		t.Errorf("--only export runs %q", got)
	}
	reordered := r.steps()
	slices.Reverse(reordered)
	if got := names(selectSteps(reordered, OnlyExport)); got != "server in-process baseline" {
		t.Errorf("--only export, the steps in reverse order, runs %q", got)
	}
}
