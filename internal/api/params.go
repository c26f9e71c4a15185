// SPDX-License-Identifier: Apache-2.0

package api

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/httpx"
)

// searchQualifiers are the search-string qualifiers a caller might send
// as query parameters by mistake (the page's form uses such names; the API
// takes one q).
var searchQualifiers = []string{"type", "category", "actor", "target", "country", "created", "received"}

// checkParams rejects, with a 400 naming it, any query parameter of r that
// is not in allowed, and any allowed one given more than once: a parameter
// the route does not read must never be silently ignored (an export that
// looks filtered but is not). A search qualifier sent as a parameter gets
// a hint to put it in q.
func checkParams(r *http.Request, allowed ...string) error {
	v := r.URL.Query()
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names) // the first unknown one in a stable order
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			return unknownParam(name, allowed)
		}
		if len(v[name]) > 1 {
			return audit.Errorf(audit.CodeInvalid, "query parameter %q is given %d times; give it once", name, len(v[name]))
		}
	}
	return nil
}

// unknownParam is the error for a query parameter the route does not take.
func unknownParam(name string, allowed []string) error {
	known := "none"
	if len(allowed) > 0 {
		known = strings.Join(allowed, ", ")
	}
	if slices.Contains(allowed, "q") && slices.Contains(searchQualifiers, strings.ToLower(name)) {
		return audit.Errorf(audit.CodeInvalid, "unknown query parameter %q: to filter, put it in the search string: q=%s:VALUE (known parameters: %s)",
			name, strings.ToLower(name), known)
	}
	return audit.Errorf(audit.CodeInvalid, "unknown query parameter %q (known parameters: %s)", name, known)
}

// boolParam parses an optional flag parameter: absent, "0" or "false" is
// false; "1" or "true" is true; anything else is a 400.
func boolParam(r *http.Request, name string) (bool, error) {
	switch s := r.URL.Query().Get(name); s {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, audit.Errorf(audit.CodeInvalid, "%s must be 1 (or true) or 0 (or false), not %q", name, s)
	}
}

// tzParam reads the optional tz parameter: an IANA time zone name such as
// Europe/Paris (the binary embeds the zone database). Absent: UTC.
func tzParam(r *http.Request) (*time.Location, error) {
	name := r.URL.Query().Get("tz")
	loc, err := httpx.LoadZone(name)
	if err != nil {
		return nil, audit.Errorf(audit.CodeInvalid, "unknown time zone %q: tz must be an IANA time zone name such as Europe/Paris", name)
	}
	return loc, nil
}
