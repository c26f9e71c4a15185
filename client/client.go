// SPDX-License-Identifier: Apache-2.0

// Package client is the Go client of Trail's HTTP API, one method per
// route: send audit events, list and search them, export an org's log,
// activity counts, the event catalog, checkpoints and proofs, viewer links
// and sessions, and the operational routes. A test walks the server's
// route table so that no route lacks a method.
//
// A request answered 429 (rate limited) or 503 (unavailable) is retried,
// waiting as Retry-After says (WithRetries).
//
// A Client is safe for concurrent use. Every method takes a context; errors
// the API returns are *APIError, with the HTTP status, the error code and,
// for rejected events, the index and field of every problem:
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("TRAIL_KEY"))
//	acks, err := c.Ingest(ctx, "acme", []client.Event{{
//		Type:  "repo.create",
//		Actor: client.Actor{Type: "user", ID: "u_1", Name: "alice"},
//		Targets: []client.Target{{Type: "repo", ID: "r_1", Name: "acme/llama"}},
//	}})
//	var apiErr *client.APIError
//	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnprocessableEntity {
//		// apiErr.Details names each bad event and field
//	}
//
// Events come back as json.RawMessage holding the exact bytes Trail
// stored, so they can be hashed and compared byte for byte.
//
// The package depends on the standard library only.
package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one Trail server with one API key.
type Client struct {
	base string // without a trailing slash
	key  string
	hc   *http.Client
	ua   string
	// retries is how often a 429 or 503 is retried (retry.go).
	retries int

	compression Compression // of Ingest's request bodies (compress.go)
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send requests with hc (default:
// http.DefaultClient). Bound requests with their context rather than a
// client Timeout, which would also cut long exports.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.ua = ua } }

// New returns a client for the server at baseURL (such as
// "http://127.0.0.1:8080") authenticating with key. An empty key sends no
// Authorization header (enough for Catalog).
func New(baseURL, key string, opts ...Option) *Client {
	c := &Client{
		base: strings.TrimRight(baseURL, "/"), key: key,
		hc: http.DefaultClient, ua: "trail-go-client/1", retries: DefaultRetries,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Actor is who acted.
type Actor struct {
	Type string `json:"type"` // user, token, system, …
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Target is what was acted on.
type Target struct {
	Type string `json:"type"` // user, repo, space, token, resource_group, …
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// ClientInfo is where the action came from. IP is the full address: Trail
// locates it, then stores only its anonymized prefix.
type ClientInfo struct {
	IP        string `json:"ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// Event is one event to ingest. Type and Actor are required; the catalog
// (Catalog) says which targets and metadata each type needs. An empty ID
// lets Trail make one (the field is then left out); a producer ID
// ([A-Za-z0-9_-]{1,64}), or the one Trail gave, makes retries idempotent. A zero OccurredAt means "when Trail received it".
type Event struct {
	ID          string         `json:"id,omitempty"`
	Type        string         `json:"type"`
	Actor       Actor          `json:"actor"`
	Targets     []Target       `json:"targets,omitempty"`
	Description string         `json:"description,omitempty"`
	Client      ClientInfo     `json:"client,omitzero"`
	OccurredAt  time.Time      `json:"occurred_at,omitzero"`
	Metadata    map[string]any `json:"metadata,omitempty"`
}

// Ack is the reply for one ingested event: its id and its seq, the
// position in the org's log.
type Ack struct {
	ID  string `json:"id"`
	Seq int64  `json:"seq"`
}

// Ingest sends a batch of events to org's log and returns, once they are
// durable, one Ack per event in order. The batch is stored whole or not at
// all. Re-sending events with the same IDs returns the original seqs.
func (c *Client) Ingest(ctx context.Context, org string, events []Event) ([]Ack, error) {
	body, err := json.Marshal(struct {
		Events []Event `json:"events"`
	}{events})
	if err != nil {
		return nil, fmt.Errorf("trail: encoding events: %w", err)
	}
	return c.postEvents(ctx, org, body)
}

// postEvents sends an encoded batch ({"events": [...]}) to org's log,
// compressed as the client is set to, and returns the acks.
func (c *Client) postEvents(ctx context.Context, org string, body []byte) ([]Ack, error) {
	req, err := c.compress(body)
	if err != nil {
		return nil, fmt.Errorf("trail: compressing events: %w", err)
	}
	var reply struct {
		Events []Ack `json:"events"`
	}
	err = c.do(ctx, http.MethodPost, orgPath(org, "events"), nil, req, &reply)
	return reply.Events, err
}

// Order is the direction of a listing.
type Order string

// Orders.
const (
	Desc Order = "desc" // newest first, the default
	Asc  Order = "asc"  // oldest first
)

// ListOptions selects a page of events. The zero value is the first page of
// 50, newest first, unfiltered.
type ListOptions struct {
	Query  string // search string, such as `type:repo.delete actor:alice`
	Limit  int    // 1..1000; 0 means 50
	Cursor string // Page.NextCursor of the previous page
	Order  Order  // "" means Desc
	// AfterSeq, with Order Asc, starts after this seq: a gap-free pull of
	// everything new since the last seq seen.
	AfterSeq *int64
	// TZ is the IANA time zone of date-only bounds in Query
	// (created:2026-03-01); "" means UTC.
	TZ string
}

// Page is one page of events.
type Page struct {
	// Events are the events' bytes exactly as Trail served them.
	Events []json.RawMessage `json:"events"`
	// NextCursor fetches the next page; empty on the last page.
	NextCursor string `json:"next_cursor"`
	// PrunedBefore is P when retention pruned the org's events 0 … P-1:
	// the log starts at seq P (0: nothing was pruned).
	PrunedBefore int64 `json:"pruned_before_seq"`
}

// List returns one page of org's events.
func (c *Client) List(ctx context.Context, org string, opts ListOptions) (*Page, error) {
	v := url.Values{}
	setNonEmpty(v, "q", opts.Query)
	if opts.Limit != 0 {
		v.Set("limit", strconv.Itoa(opts.Limit))
	}
	setNonEmpty(v, "cursor", opts.Cursor)
	setNonEmpty(v, "order", string(opts.Order))
	if opts.AfterSeq != nil {
		v.Set("after_seq", strconv.FormatInt(*opts.AfterSeq, 10))
	}
	setNonEmpty(v, "tz", opts.TZ)
	var p Page
	if err := c.do(ctx, http.MethodGet, orgPath(org, "events"), v, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Event returns the stored bytes of one event; a missing event is an
// *APIError with Status 404.
func (c *Client) Event(ctx context.Context, org, id string) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, orgPath(org, "events", id), nil, nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// Export starts an export of org's log (the part matching q when q is not
// empty) in format json, ndjson or csv ("" means json). The caller reads
// the stream and must close it. A stream that ends with an error other
// than io.EOF is incomplete. filename is the server's suggested name.
func (c *Client) Export(ctx context.Context, org, format, q string) (rc io.ReadCloser, filename string, err error) {
	return c.ExportWith(ctx, org, ExportOptions{Format: format, Query: q})
}

// ExportOptions selects an export. The zero value is the whole log as
// JSON.
type ExportOptions struct {
	Format string // json (""), ndjson or csv
	Query  string // only the events matching this search string
	// Integrity ends an NDJSON export with its integrity line (JSON
	// exports always carry the integrity block).
	Integrity bool
	// TZ is the IANA time zone of date-only bounds in Query; "" means UTC.
	TZ string
}

// ExportWith is Export with every option.
func (c *Client) ExportWith(ctx context.Context, org string, opts ExportOptions) (rc io.ReadCloser, filename string, err error) {
	v := url.Values{}
	setNonEmpty(v, "format", opts.Format)
	setNonEmpty(v, "q", opts.Query)
	if opts.Integrity {
		v.Set("integrity", "1")
	}
	setNonEmpty(v, "tz", opts.TZ)
	resp, err := c.send(ctx, http.MethodGet, orgPath(org, "export"), v, nil)
	if err != nil {
		return nil, "", err
	}
	return resp.Body, attachmentName(resp.Header.Get("Content-Disposition")), nil
}

// HubExport starts a JSON export of org's log (the part matching q when q
// is not empty) through the route the Hugging Face Hub documents,
// /api/organizations/{org}/audit-log/export, on servers that serve it. It
// is the same export as Export's JSON.
func (c *Client) HubExport(ctx context.Context, org, q string) (rc io.ReadCloser, filename string, err error) {
	v := url.Values{}
	setNonEmpty(v, "q", q)
	resp, err := c.send(ctx, http.MethodGet, "/api/organizations/"+url.PathEscape(org)+"/audit-log/export", v, nil)
	if err != nil {
		return nil, "", err
	}
	return resp.Body, attachmentName(resp.Header.Get("Content-Disposition")), nil
}

// Activity is the number of events per day and category.
type Activity struct {
	Days []struct {
		Day    string           `json:"day"` // YYYY-MM-DD, UTC
		Counts map[string]int64 `json:"counts"`
		Total  int64            `json:"total"`
	} `json:"days"`
}

// Activity returns org's events per UTC day (of occurred_at) and category,
// for the days from and to, both included, given as YYYY-MM-DD; empty
// strings take the server's defaults (the last 30 days).
func (c *Client) Activity(ctx context.Context, org, from, to string) (*Activity, error) {
	return c.ActivityIn(ctx, org, from, to, "")
}

// ActivityIn is Activity with the days of the IANA time zone tz (such as
// "Europe/Paris"; "" means UTC).
func (c *Client) ActivityIn(ctx context.Context, org, from, to, tz string) (*Activity, error) {
	v := url.Values{}
	setNonEmpty(v, "from", from)
	setNonEmpty(v, "to", to)
	setNonEmpty(v, "tz", tz)
	var a Activity
	if err := c.do(ctx, http.MethodGet, orgPath(org, "activity"), v, nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Catalog is every event type the server accepts, by category.
type Catalog struct {
	Categories []Category `json:"categories"`
}

// Category is a group of event types.
type Category struct {
	Slug  string      `json:"slug"`
	Title string      `json:"title"`
	Types []EventType `json:"types"`
}

// EventType describes one event type and its field rules.
type EventType struct {
	Name            string       `json:"name"`
	Summary         string       `json:"summary"`
	Template        string       `json:"template"`
	Targets         []TargetRule `json:"targets"`
	Metadata        []MetaRule   `json:"metadata"`
	RecordedByTrail bool         `json:"recorded_by_trail"`
	NamesOnly       bool         `json:"names_only"`
}

// TargetRule is a target type an event type expects; a required rule is
// met by a target of Type or of one of Alt.
type TargetRule struct {
	Type     string   `json:"type"`
	Required bool     `json:"required"`
	Alt      []string `json:"alt,omitempty"`
}

// MetaRule is a metadata key an event type knows.
type MetaRule struct {
	Key      string `json:"key"`
	Kind     string `json:"kind"`
	Required bool   `json:"required"`
	Doc      string `json:"doc,omitempty"`
}

// Catalog returns the server's event catalog. It needs no key.
func (c *Client) Catalog(ctx context.Context) (*Catalog, error) {
	var cat Catalog
	if err := c.do(ctx, http.MethodGet, "/api/v1/catalog", nil, nil, &cat); err != nil {
		return nil, err
	}
	return &cat, nil
}
