// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// Checkpoint is an org's latest signed checkpoint (docs/integrity.md).
type Checkpoint struct {
	Org         string `json:"org"`
	Origin      string `json:"origin"` // <host>/orgs/<org>
	Size        int64  `json:"size"`
	Root        string `json:"root"` // base64 RFC 6962 root hash
	SignedAt    string `json:"signed_at"`
	Checkpoint  string `json:"checkpoint"` // the C2SP signed note
	VerifierKey string `json:"verifier_key"`
}

// Checkpoint returns org's latest signed checkpoint.
func (c *Client) Checkpoint(ctx context.Context, org string) (*Checkpoint, error) {
	var cp Checkpoint
	if err := c.do(ctx, http.MethodGet, orgPath(org, "checkpoint"), nil, nil, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// InclusionProof is an event's RFC 6962 audit path in a signed checkpoint.
type InclusionProof struct {
	ID         string   `json:"id"`
	Seq        int64    `json:"seq"`
	LeafHash   string   `json:"leaf_hash"`
	Size       int64    `json:"size"`
	Root       string   `json:"root"`
	Hashes     []string `json:"hashes"` // base64, the leaf's sibling first
	Checkpoint string   `json:"checkpoint"`
}

// Proof returns the inclusion proof of org's event id in the latest
// checkpoint (signed now if the event is newer).
func (c *Client) Proof(ctx context.Context, org, id string) (*InclusionProof, error) {
	var p InclusionProof
	if err := c.do(ctx, http.MethodGet, orgPath(org, "events", id, "proof"), nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ConsistencyProof proves the tree of size To extends the tree of size
// From.
type ConsistencyProof struct {
	From       int64    `json:"from"`
	To         int64    `json:"to"`
	Hashes     []string `json:"hashes"`
	Checkpoint string   `json:"checkpoint,omitempty"` // the signed checkpoint of To, when to was not given
}

// Consistency returns the consistency proof from size from to size to; a
// negative to means the latest checkpoint's size.
func (c *Client) Consistency(ctx context.Context, org string, from, to int64) (*ConsistencyProof, error) {
	v := url.Values{"from": {strconv.FormatInt(from, 10)}}
	if to >= 0 {
		v.Set("to", strconv.FormatInt(to, 10))
	}
	var p ConsistencyProof
	if err := c.do(ctx, http.MethodGet, orgPath(org, "consistency"), v, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// VerifierKey is the note verifier key checkpoints are signed with.
type VerifierKey struct {
	VerifierKey string   `json:"verifier_key"`
	Fingerprint string   `json:"fingerprint"`
	Previous    []string `json:"previous"` // earlier keys, still valid for what they signed
}

// VerifierKey returns the server's verifier key. It needs no key; pin a
// key obtained out of band too (trail keys verifier).
func (c *Client) VerifierKey(ctx context.Context) (*VerifierKey, error) {
	var k VerifierKey
	if err := c.do(ctx, http.MethodGet, "/api/v1/verifier-key", nil, nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// getBytes returns a 2xx reply's body whole.
func (c *Client) getBytes(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.send(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
