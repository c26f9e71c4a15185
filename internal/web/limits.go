// SPDX-License-Identifier: Apache-2.0

package web

import (
	"errors"
	"net/http"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ratelimit"
)

// limitLink wraps a viewer-link route, which needs no key: a client
// address that failed to sign in too often, or that opens links faster
// than its bucket allows, gets a 429 page before the link is looked at; a
// link Trail does not know, or one used or expired, counts as a failed
// authentication of the address (a link is a credential).
func (h *Handler) limitLink(next func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		ref := h.limits.Blocked(r)
		if ref == nil {
			ref = h.limits.Address(r)
		}
		if ref != nil {
			return tooMany(w, ref)
		}
		err := next(w, r)
		var pe pageError
		if errors.As(err, &pe) && (pe.status == http.StatusNotFound || pe.status == http.StatusGone) {
			h.limits.Failed(r)
		}
		return err
	}
}

// tooMany is the 429 page of a refusal, with its Retry-After.
func tooMany(w http.ResponseWriter, ref *ratelimit.Refusal) error {
	w.Header().Set("Retry-After", ref.RetryAfterHeader())
	body := "Too many requests came from your network in a short time."
	if ref.Limit == ratelimit.LimitExports {
		body = "Your organization already has as many downloads running as Trail allows at once."
	}
	return pageError{status: http.StatusTooManyRequests, page: messagePage{
		Heading: "Too many requests",
		Body:    body,
		Hint:    "Wait " + ref.RetryAfterHeader() + " seconds, then try again.",
	}}
}

// exportRefused is the page of a download that may not start.
func exportRefused(w http.ResponseWriter, err error) error {
	var ref *ratelimit.Refusal
	if errors.As(err, &ref) {
		return tooMany(w, ref)
	}
	return audit.Errorf(audit.CodeUnavailable, "Trail is shutting down")
}
