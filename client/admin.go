// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The platform routes need an admin key bound to no org.

// OrgInfo is one org's log.
type OrgInfo struct {
	Org            string `json:"org"`
	Events         int64  `json:"events"`          // the log's size
	CheckpointSize int64  `json:"checkpoint_size"` // 0: no checkpoint yet
}

// Orgs returns every org that has a log, by name.
func (c *Client) Orgs(ctx context.Context) ([]OrgInfo, error) {
	var reply struct {
		Orgs []OrgInfo `json:"orgs"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/orgs", nil, nil, &reply)
	return reply.Orgs, err
}

// APIKey is an API key without its secret. Times are RFC 3339, "" when
// not set.
type APIKey struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Scope      string `json:"scope"`
	Org        string `json:"org,omitempty"` // "": every org
	CreatedAt  string `json:"created_at"`
	ExpiresAt  string `json:"expires_at,omitempty"`
	LastUsedAt string `json:"last_used_at,omitempty"`
	RevokedAt  string `json:"revoked_at,omitempty"`
	Status     string `json:"status"` // active, expired or revoked
}

// NewKey describes a key to create.
type NewKey struct {
	Scope     string    `json:"scope"`          // ingest, read or admin
	Org       string    `json:"org,omitempty"`  // "": every org
	Name      string    `json:"name,omitempty"` // "": the key's id
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// CreateKey creates an API key and returns it with its secret, which the
// server shows this once.
func (c *Client) CreateKey(ctx context.Context, nk NewKey) (key *APIKey, secret string, err error) {
	body, err := json.Marshal(nk)
	if err != nil {
		return nil, "", fmt.Errorf("trail: encoding the request: %w", err)
	}
	var reply struct {
		Key    APIKey `json:"key"`
		Secret string `json:"secret"`
	}
	if err := c.do(ctx, http.MethodPost, "/api/v1/keys", nil, bytes.NewReader(body), &reply); err != nil {
		return nil, "", err
	}
	return &reply.Key, reply.Secret, nil
}

// Keys lists every API key, newest first.
func (c *Client) Keys(ctx context.Context) ([]APIKey, error) {
	var reply struct {
		Keys []APIKey `json:"keys"`
	}
	err := c.do(ctx, http.MethodGet, "/api/v1/keys", nil, nil, &reply)
	return reply.Keys, err
}

// RevokeKey revokes the key id at once; already reports that it was
// revoked before (nothing changed).
func (c *Client) RevokeKey(ctx context.Context, id string) (key *APIKey, already bool, err error) {
	var reply struct {
		Key            APIKey `json:"key"`
		AlreadyRevoked bool   `json:"already_revoked"`
	}
	if err := c.do(ctx, http.MethodDelete, "/api/v1/keys/"+url.PathEscape(id), nil, nil, &reply); err != nil {
		return nil, false, err
	}
	return &reply.Key, reply.AlreadyRevoked, nil
}
