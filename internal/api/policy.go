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

// maxErasureBody bounds the body of POST erasures.
const maxErasureBody = 4 << 10

// erasureJSON is an erasure as the API shows it: never the person.
type erasureJSON struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	Events    int64  `json:"events"`
	Reason    string `json:"reason"`
	Error     string `json:"error,omitempty"`
	CreatedAt string `json:"created_at"`
	DoneAt    string `json:"done_at,omitempty"`
}

func encodeErasure(e audit.ErasureRecord) erasureJSON {
	out := erasureJSON{ID: e.ID, State: e.State, Events: e.Events, Reason: e.Reason, Error: e.Error,
		CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if !e.DoneAt.IsZero() {
		out.DoneAt = e.DoneAt.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// startErasure serves POST /api/v1/orgs/{org}/erasures (admin):
// {"user_id", "reason"} → 202 {"id", "state": "running", …}; the person is
// erased from the org's events in the background.
func (a *API) startErasure(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := checkParams(r); err != nil {
		return err
	}
	const shape = `{"user_id": "...", "reason": "..."}`
	var req struct {
		UserID string `json:"user_id"`
		Reason string `json:"reason"`
	}
	if err := readJSONBody(w, r, maxErasureBody, &req, shape); err != nil {
		return err
	}
	e, err := a.svc.StartErasure(r.Context(), c.Org, req.UserID, req.Reason, c.actor(), false)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/orgs/"+c.Org+"/erasures/"+e.ID)
	writeJSON(w, http.StatusAccepted, encodeErasure(e))
	return nil
}

// getErasure serves GET /api/v1/orgs/{org}/erasures/{id} (admin).
func (a *API) getErasure(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := checkParams(r); err != nil {
		return err
	}
	e, err := a.svc.Erasure(r.Context(), c.Org, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, encodeErasure(e))
	return nil
}
