// SPDX-License-Identifier: Apache-2.0

package api

import (
	"errors"
	"net/http"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ratelimit"
)

// admit decides whether a request may reach its route's handler, in this
// order, before anything is read or stored:
//
//  1. a keyed route from a client address that failed to authenticate too
//     often: 429, without looking at the key;
//  2. authentication and authorization (authorize); a 401 counts as a
//     failed authentication of the address;
//  3. the key's ingest or read bucket: 429;
//
// and, on a public route other than the probes, the address's bucket.
func (a *API) admit(r *http.Request, rt route, name string, orgRoute bool) (caller, error) {
	if rt.scope == "" {
		if probeRoutes[name] {
			return caller{}, nil
		}
		return caller{}, limited(a.limits.Address(r))
	}
	if err := limited(a.limits.Blocked(r)); err != nil {
		return caller{}, err
	}
	c, err := a.authorize(r, rt.scope, orgRoute)
	if audit.ErrorCode(err) == audit.CodeUnauthorized {
		a.limits.Failed(r)
	}
	if err != nil {
		return caller{}, err
	}
	return c, limited(a.limits.Key(c.Key.ID, rt.scope == audit.ScopeIngest))
}

// rateLimited is a 429 refusal: writeError sets its Retry-After.
type rateLimited struct {
	err     *audit.Error
	refusal *ratelimit.Refusal
}

func (e rateLimited) Error() string { return e.err.Error() }
func (e rateLimited) Unwrap() error { return e.err }

// limited turns a refusal into the error answered, nil for none.
func limited(ref *ratelimit.Refusal) error {
	if ref == nil {
		return nil
	}
	return rateLimited{err: audit.Errorf(audit.CodeRateLimited, "%s; retry in %s s", limitMessage[ref.Limit], ref.RetryAfterHeader()), refusal: ref}
}

var limitMessage = map[ratelimit.Limit]string{
	ratelimit.LimitIngest:  "too many ingest requests with this API key",
	ratelimit.LimitRead:    "too many read requests with this API key",
	ratelimit.LimitAddress: "too many requests from this address",
	ratelimit.LimitAuth:    "too many failed authentications from this address",
	ratelimit.LimitExports: "this org already has as many exports running as Trail allows at once",
}

// exportRefused is the error answered for an export that may not start.
func exportRefused(err error) error {
	if ref, ok := err.(*ratelimit.Refusal); ok {
		return limited(ref)
	}
	return audit.Errorf(audit.CodeUnavailable, "Trail is shutting down; retry the export in a moment")
}

// retryAfter returns the Retry-After of a rate-limit error, "" otherwise.
func retryAfter(err error) string {
	var e rateLimited
	if errors.As(err, &e) {
		return e.refusal.RetryAfterHeader()
	}
	return "1"
}
