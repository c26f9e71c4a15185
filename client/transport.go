// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIError is an error response of the API.
type APIError struct {
	Status int // HTTP status
	// RetryAfter is the server's Retry-After on a 429 or 503 (zero when
	// absent), after the client's own retries gave up.
	RetryAfter time.Duration
	Code       string // invalid_request, invalid_event, unauthorized, forbidden, not_found, conflict, too_large, unsupported_media, unavailable, internal, …
	Message    string // what went wrong and what to fix
	// Details names each problem of a rejected batch.
	Details []Detail
	// Position is where a bad search string goes wrong (a byte offset).
	Position *int
}

// Detail is one problem in one event of a rejected batch.
type Detail struct {
	Index    int    `json:"index"`    // the event's index in the batch, from 0
	Field    string `json:"field"`    // such as "metadata.old_role"; "" for the whole event
	Expected string `json:"expected"` // what the field should be
}

func (e *APIError) Error() string {
	return fmt.Sprintf("trail: %d %s: %s", e.Status, e.Code, e.Message)
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// do sends a request and decodes a 2xx JSON reply into out.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body io.Reader, out any) error {
	resp, err := c.send(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("trail: %s %s: decoding reply: %w", method, path, err)
	}
	return nil
}

// send sends a request; a non-2xx reply becomes an *APIError and its body
// is closed. On success the caller closes resp.Body. A 429 or 503 is
// retried (retry.go).
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Response, error) {
	var payload []byte
	encoding := NoCompression
	if body != nil {
		if eb, ok := body.(*encodedBody); ok {
			encoding = eb.encoding
		}
		var err error
		if payload, err = io.ReadAll(body); err != nil {
			return nil, fmt.Errorf("trail: reading the request body: %w", err)
		}
	}
	for attempt := 0; ; attempt++ {
		resp, err := c.sendOnce(ctx, method, path, query, payload, body != nil, encoding)
		wait, retry := c.retryAfter(resp, err, attempt)
		if !retry {
			return resp, err
		}
		if sleep(ctx, wait) != nil {
			return resp, err // the last answer: the caller's deadline came first
		}
	}
}

// sendOnce sends one attempt of a request whose body (when hasBody) is
// payload, compressed as encoding says.
func (c *Client) sendOnce(ctx context.Context, method, path string, query url.Values, payload []byte, hasBody bool, encoding Compression) (*http.Response, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if hasBody {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("trail: %w", err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if encoding != NoCompression {
		req.Header.Set("Content-Encoding", string(encoding))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("trail: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, readAPIError(resp)
	}
	return resp, nil
}

// readAPIError decodes {"error": {...}}; a reply in another shape (from a
// proxy, say) keeps its status and the start of its text.
func readAPIError(resp *http.Response) *APIError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var env struct {
		Error *struct {
			Code     string   `json:"code"`
			Message  string   `json:"message"`
			Details  []Detail `json:"details"`
			Position *int     `json:"position"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &env) == nil && env.Error != nil {
		e := env.Error
		return &APIError{Status: resp.StatusCode, Code: e.Code, Message: e.Message, Details: e.Details, Position: e.Position,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &APIError{Status: resp.StatusCode, Code: "http_error", Message: msg,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
}

// orgPath builds /api/v1/orgs/{org}/{parts...}, escaping each segment.
func orgPath(org string, parts ...string) string {
	var b strings.Builder
	b.WriteString("/api/v1/orgs/")
	b.WriteString(url.PathEscape(org))
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(p))
	}
	return b.String()
}

func setNonEmpty(v url.Values, key, value string) {
	if value != "" {
		v.Set(key, value)
	}
}

// attachmentName returns the filename of a Content-Disposition header.
func attachmentName(cd string) string {
	_, params, err := mime.ParseMediaType(cd)
	if err != nil {
		return ""
	}
	return params["filename"]
}
