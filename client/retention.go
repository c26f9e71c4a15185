// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Policy is an org's retention policy (docs/retention.md).
type Policy struct {
	// Retention is "forever" or how long events are kept after their
	// received_at: a whole number and a unit s, m, h or d ("400d").
	Retention       string `json:"retention"`
	LegalHold       bool   `json:"legal_hold"`
	LegalHoldReason string `json:"legal_hold_reason"`
	// Default is set (in replies) when the org set no policy: Retention
	// is then the server's --retention.
	Default   bool   `json:"default"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// Policy returns org's retention policy. It needs an admin key.
func (c *Client) Policy(ctx context.Context, org string) (*Policy, error) {
	var p Policy
	if err := c.do(ctx, http.MethodGet, orgPath(org, "policy"), nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// SetPolicy replaces org's retention policy (Retention, LegalHold and
// LegalHoldReason of p) and returns the policy in force. It needs an admin
// key; the change is recorded in the org's log.
func (c *Client) SetPolicy(ctx context.Context, org string, p Policy) (*Policy, error) {
	body, err := json.Marshal(struct {
		Retention       string `json:"retention"`
		LegalHold       bool   `json:"legal_hold"`
		LegalHoldReason string `json:"legal_hold_reason,omitempty"`
	}{p.Retention, p.LegalHold, p.LegalHoldReason})
	if err != nil {
		return nil, fmt.Errorf("trail: encoding the request: %w", err)
	}
	var out Policy
	if err := c.do(ctx, http.MethodPut, orgPath(org, "policy"), nil, bytes.NewReader(body), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Erasure is an erasure of a person from an org's events. It never names
// the person.
type Erasure struct {
	ID        string `json:"id"`
	State     string `json:"state"` // running, done or failed
	Events    int64  `json:"events"`
	Reason    string `json:"reason"`
	Error     string `json:"error,omitempty"`
	CreatedAt string `json:"created_at"`
	DoneAt    string `json:"done_at,omitempty"`
}

// StartErasure starts erasing userID from org's events (admin key): every
// event where the person appears is rewritten with "[erased]" in place of
// their id and names, keeping its leaf hash. Poll Erasure until its State
// is not "running".
func (c *Client) StartErasure(ctx context.Context, org, userID, reason string) (*Erasure, error) {
	body, err := json.Marshal(struct {
		UserID string `json:"user_id"`
		Reason string `json:"reason"`
	}{userID, reason})
	if err != nil {
		return nil, fmt.Errorf("trail: encoding the request: %w", err)
	}
	var e Erasure
	if err := c.do(ctx, http.MethodPost, orgPath(org, "erasures"), nil, bytes.NewReader(body), &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// Erasure returns the state of org's erasure id (admin key).
func (c *Client) Erasure(ctx context.Context, org, id string) (*Erasure, error) {
	var e Erasure
	if err := c.do(ctx, http.MethodGet, orgPath(org, "erasures", id), nil, nil, &e); err != nil {
		return nil, err
	}
	return &e, nil
}
