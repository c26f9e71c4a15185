// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Retry defaults: see WithRetries.
const (
	DefaultRetries = 3
	// MaxRetryWait bounds one wait: a longer Retry-After is not waited
	// for; the error is returned with APIError.RetryAfter set instead.
	MaxRetryWait = 30 * time.Second
	// firstBackoff is the first wait when the server sent no Retry-After;
	// it doubles on each retry.
	firstBackoff = 500 * time.Millisecond
)

// WithRetries sets how many times a request answered 429 (rate limited)
// or 503 (unavailable: starting, store down; not store_failed, which
// lasts until the server restarts) is sent again, waiting as the
// server's Retry-After says (else 0.5s, 1s, 2s, …), at most MaxRetryWait
// each and never past the context's deadline. Default DefaultRetries; 0
// turns retries off. Retrying is safe for every route, ingest included:
// Trail answers 429 and 503 before storing anything, and an event with an
// ID is stored once however often it is sent.
func WithRetries(n int) Option { return func(c *Client) { c.retries = max(n, 0) } }

// retryAfter decides whether the answer of attempt (from 0) is retried,
// and after how long.
func (c *Client) retryAfter(resp *http.Response, err error, attempt int) (time.Duration, bool) {
	var ae *APIError
	if resp != nil || !errors.As(err, &ae) || attempt >= c.retries {
		return 0, false
	}
	if ae.Status != http.StatusTooManyRequests && ae.Status != http.StatusServiceUnavailable || ae.Code == "store_failed" {
		return 0, false // store_failed lasts until Trail restarts
	}
	wait := ae.RetryAfter
	if wait <= 0 {
		wait = firstBackoff << attempt
	}
	if wait > MaxRetryWait {
		return 0, false
	}
	return wait, true
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
// Absent or malformed: zero.
func parseRetryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// sleep waits d or until ctx is done. A test replaces it.
var sleep = func(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
