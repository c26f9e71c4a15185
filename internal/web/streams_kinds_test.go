// SPDX-License-Identifier: Apache-2.0

package web

import (
	"testing"

	"github.com/trailaudit/trail/internal/stream"
)

// TestKindFormsCoverKinds: the add form offers every kind this Trail
// has, each with a settings fieldset, and nothing else.
func TestKindFormsCoverKinds(t *testing.T) {
	forms := map[string]bool{}
	for _, kf := range kindForms {
		if _, ok := stream.LookupKind(kf.Kind); !ok {
			t.Errorf("the add form offers kind %q, which is not registered", kf.Kind)
		}
		if len(kf.Fields) == 0 {
			t.Errorf("kind %q has no settings in the add form", kf.Kind)
		}
		forms[kf.Kind] = true
	}
	for _, k := range stream.KindNames() {
		if !forms[k] {
			t.Errorf("kind %q is registered but the add form does not offer it: add it to kindForms (streams.go)", k)
		}
	}
}
