// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"time"
)

// Streams deliver an org's log to destinations (webhook, syslog, s3,
// splunk, datadog, nats); they need an admin key. See docs/streaming.md.

// Stream is a stream destination as the API shows it. Times are RFC 3339,
// "" when not set.
type Stream struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Kind           string         `json:"kind"`
	Format         string         `json:"format"`
	Filter         string         `json:"filter"`
	State          string         `json:"state"`         // active, paused or failing
	DeliveredSeq   int64          `json:"delivered_seq"` // -1 before the first delivery
	LagEvents      int64          `json:"lag_events"`
	CheckpointSize int64          `json:"checkpoint_size"`
	Failures       int64          `json:"failures"`
	LastError      string         `json:"last_error"`
	LastErrorAt    string         `json:"last_error_at"`
	LastSuccessAt  string         `json:"last_success_at"`
	CreatedAt      string         `json:"created_at"`
	Settings       map[string]any `json:"settings"` // the kind's settings, without secrets
	// PrunedBeforeDelivery is set when retention pruned events the stream
	// had not delivered yet: seqs FromSeq … ToSeq were skipped, and
	// delivery continued after them. nil otherwise.
	PrunedBeforeDelivery *struct {
		FromSeq int64  `json:"from_seq"`
		ToSeq   int64  `json:"to_seq"`
		At      string `json:"at"`
	} `json:"pruned_before_delivery"`
	// Secret (a webhook's whsec_ secret) or PublicKey (with signing
	// ed25519) are set in CreateStream's reply only: shown once.
	Secret    string `json:"secret,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
}

// NewStream describes a stream to create.
type NewStream struct {
	Name   string
	Kind   string
	Format string // "": the kind's default
	Filter string // a search string; "": every event
	// Settings are the kind's settings (a webhook's "url" and "signing").
	Settings map[string]any
}

// CreateStream creates a stream destination of org.
func (c *Client) CreateStream(ctx context.Context, org string, ns NewStream) (*Stream, error) {
	req := map[string]any{"name": ns.Name, "kind": ns.Kind}
	if ns.Format != "" {
		req["format"] = ns.Format
	}
	if ns.Filter != "" {
		req["filter"] = ns.Filter
	}
	maps.Copy(req, ns.Settings)
	return c.streamCall(ctx, http.MethodPost, orgPath(org, "streams"), req)
}

// Streams lists org's stream destinations, oldest first.
func (c *Client) Streams(ctx context.Context, org string) ([]Stream, error) {
	var reply struct {
		Streams []Stream `json:"streams"`
	}
	err := c.do(ctx, http.MethodGet, orgPath(org, "streams"), nil, nil, &reply)
	return reply.Streams, err
}

// Stream returns one stream destination.
func (c *Client) Stream(ctx context.Context, org, id string) (*Stream, error) {
	return c.streamCall(ctx, http.MethodGet, orgPath(org, "streams", id), nil)
}

// PauseStream stops delivery; the cursor holds.
func (c *Client) PauseStream(ctx context.Context, org, id string) (*Stream, error) {
	return c.streamCall(ctx, http.MethodPost, orgPath(org, "streams", id, "pause"), nil)
}

// ResumeStream restarts delivery after the cursor.
func (c *Client) ResumeStream(ctx context.Context, org, id string) (*Stream, error) {
	return c.streamCall(ctx, http.MethodPost, orgPath(org, "streams", id, "resume"), nil)
}

// ReplayFrom says where a replay starts: FromSeq when FromTime is zero,
// else the first event received at or after FromTime.
type ReplayFrom struct {
	FromSeq  int64
	FromTime time.Time
}

// ReplayStream sends the log again from a seq or a time.
func (c *Client) ReplayStream(ctx context.Context, org, id string, from ReplayFrom) (*Stream, error) {
	req := map[string]any{"from_seq": from.FromSeq}
	if !from.FromTime.IsZero() {
		req = map[string]any{"from_time": from.FromTime.UTC().Format(time.RFC3339Nano)}
	}
	return c.streamCall(ctx, http.MethodPost, orgPath(org, "streams", id, "replay"), req)
}

// StreamTest is the outcome of a test delivery.
type StreamTest struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error"`
	TookMS int64  `json:"took_ms"`
}

// TestStream sends one delivery with no events to the destination and
// reports the outcome (a refused delivery is ok false, not an error).
func (c *Client) TestStream(ctx context.Context, org, id string) (*StreamTest, error) {
	var reply StreamTest
	if err := c.do(ctx, http.MethodPost, orgPath(org, "streams", id, "test"), nil, nil, &reply); err != nil {
		return nil, err
	}
	return &reply, nil
}

// DeleteStream deletes a stream destination.
func (c *Client) DeleteStream(ctx context.Context, org, id string) error {
	var reply struct {
		Deleted bool `json:"deleted"`
	}
	return c.do(ctx, http.MethodDelete, orgPath(org, "streams", id), nil, nil, &reply)
}

func (c *Client) streamCall(ctx context.Context, method, path string, req any) (*Stream, error) {
	var body *bytes.Reader
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("trail: encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	var reply Stream
	var err error
	if body != nil {
		err = c.do(ctx, method, path, nil, body, &reply)
	} else {
		err = c.do(ctx, method, path, nil, nil, &reply)
	}
	if err != nil {
		return nil, err
	}
	return &reply, nil
}
