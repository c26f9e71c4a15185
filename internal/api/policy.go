// SPDX-License-Identifier: Apache-2.0

package api

import (
	"net/http"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// maxPolicyBody bounds the body of PUT policy.
const maxPolicyBody = 4 << 10

// policyJSON is an org's retention policy as the API shows it.
type policyJSON struct {
	Retention       string `json:"retention"`
	LegalHold       bool   `json:"legal_hold"`
	LegalHoldReason string `json:"legal_hold_reason"`
	// Default: the org set no policy; retention is the server's --retention.
	Default   bool   `json:"default"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

func encodePolicy(p audit.Policy) policyJSON {
	out := policyJSON{Retention: p.Retention, LegalHold: p.LegalHold, LegalHoldReason: p.LegalHoldReason, Default: p.Default}
	if !p.UpdatedAt.IsZero() {
		out.UpdatedAt = p.UpdatedAt.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// getPolicy serves GET /api/v1/orgs/{org}/policy (admin).
func (a *API) getPolicy(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := checkParams(r); err != nil {
		return err
	}
	p, err := a.svc.Policy(r.Context(), c.Org)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, encodePolicy(p))
	return nil
}

// putPolicy serves PUT /api/v1/orgs/{org}/policy (admin): the body
// {"retention": "400d" | "forever", "legal_hold": bool,
// "legal_hold_reason": "…"} replaces the org's policy, and the change is
// recorded as an org.audit_log.policy_change event.
func (a *API) putPolicy(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := checkParams(r); err != nil {
		return err
	}
	const shape = `{"retention": "400d" | "forever", "legal_hold": true | false, "legal_hold_reason": "..."}`
	var req struct {
		Retention       *string `json:"retention"`
		LegalHold       bool    `json:"legal_hold"`
		LegalHoldReason string  `json:"legal_hold_reason"`
	}
	if err := readJSONBody(w, r, maxPolicyBody, &req, shape); err != nil {
		return err
	}
	if req.Retention == nil {
		return audit.Errorf(audit.CodeInvalid, "the body must be %s: retention is missing", shape)
	}
	p, err := a.svc.SetPolicy(r.Context(), c.Org, audit.Policy{Retention: *req.Retention, LegalHold: req.LegalHold, LegalHoldReason: req.LegalHoldReason}, c.actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, encodePolicy(p))
	return nil
}
