// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"errors"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// policyTests: an org's retention policy is stored whole, replaced by
// the next one, and kept apart from every other org's.
var policyTests = []test{
	{"NoneSet", func(h *harness) {
		if _, err := h.s.Policy(h.ctx, "acme"); !errors.Is(err, audit.ErrNotFound) {
			h.t.Fatalf("Policy of an org without one: err = %v, want ErrNotFound", err)
		}
	}},
	{"SetReplaceIsolate", func(h *harness) {
		at := time.Date(2026, 12, 6, 18, 0, 0, 123456000, time.UTC)
		hold := audit.Policy{Retention: "400d", LegalHold: true, LegalHoldReason: "case 42: «preserve» everything", UpdatedAt: at}
		if err := h.s.SetPolicy(h.ctx, "acme", hold); err != nil {
			h.t.Fatal(err)
		}
		if got, err := h.s.Policy(h.ctx, "acme"); err != nil || got != hold {
			h.t.Fatalf("Policy = %+v, %v; want %+v", got, err, hold)
		}
		if _, err := h.s.Policy(h.ctx, "beta"); !errors.Is(err, audit.ErrNotFound) {
			h.t.Fatalf("another org's policy: err = %v, want ErrNotFound", err)
		}
		next := audit.Policy{Retention: "forever", UpdatedAt: at.Add(time.Hour)}
		if err := h.s.SetPolicy(h.ctx, "acme", next); err != nil {
			h.t.Fatal(err)
		}
		if got, err := h.s.Policy(h.ctx, "acme"); err != nil || got != next {
			h.t.Fatalf("Policy after replacing = %+v, %v; want %+v", got, err, next)
		}
		beta := audit.Policy{Retention: "30s", UpdatedAt: at}
		if err := h.s.SetPolicy(h.ctx, "beta", beta); err != nil {
			h.t.Fatal(err)
		}
		if got, _ := h.s.Policy(h.ctx, "acme"); got != next {
			h.t.Fatalf("acme's policy after beta's was set = %+v, want %+v", got, next)
		}
	}},
}
