// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// ViewerLink is a single-use link to an org's audit-log page.
type ViewerLink struct {
	URL       string `json:"url"`
	ExpiresAt string `json:"expires_at"`
}

// CreateViewerLink mints a single-use link that opens org's audit-log page
// for the platform's user userID (display name name, "" for the id). It
// needs an admin key. Hand the URL to that user's browser only.
func (c *Client) CreateViewerLink(ctx context.Context, org, userID, name string) (*ViewerLink, error) {
	type user struct {
		ID   string `json:"id"`
		Name string `json:"name,omitempty"`
	}
	body, err := json.Marshal(struct {
		User user `json:"user"`
	}{user{userID, name}})
	if err != nil {
		return nil, fmt.Errorf("trail: encoding the request: %w", err)
	}
	var l ViewerLink
	if err := c.do(ctx, http.MethodPost, orgPath(org, "viewer-links"), nil, bytes.NewReader(body), &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// EndSessions ends every audit-log page session of userID in org and
// returns how many ended. It needs an admin key.
func (c *Client) EndSessions(ctx context.Context, org, userID string) (int64, error) {
	var reply struct {
		Ended int64 `json:"ended"`
	}
	err := c.do(ctx, http.MethodDelete, orgPath(org, "sessions"), url.Values{"user": {userID}}, nil, &reply)
	return reply.Ended, err
}
