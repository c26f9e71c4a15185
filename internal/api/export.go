// SPDX-License-Identifier: Apache-2.0

package api

import (
	"net/http"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/httpx"
	"github.com/trailaudit/trail/internal/query"
)

// export serves GET /api/v1/orgs/{org}/export?format=json|ndjson|csv[&q=][&integrity=1].
// It fixes N (the org's log size now), records the export as an
// org.audit_log.export event at seq N or later, and streams seq 0 … N-1
// (those matching q) as an attachment. An error before the first byte is
// a JSON error; after it, the connection is aborted so the client sees a
// truncated transfer, never a complete-looking file. An org running its
// maximum of exports gets 429 (nothing recorded); at shutdown a running
// export is cut (limits.go).
//
// HEAD checks the request the same way and answers the headers a GET
// would, but exports and records nothing: monitoring probes must not fill
// the log with exports that never happened.
func (a *API) export(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := checkParams(r, "format", "q", "integrity", "tz"); err != nil {
		return err
	}
	loc, err := tzParam(r)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	q := v.Get("q")
	filter, err := a.parseQuery(q, loc)
	if err != nil {
		return err
	}
	if loc != time.UTC && q != "" {
		q = query.Format(filter) // recorded with explicit UTC bounds, not "days of some zone"
	}
	format, err := audit.ParseFormat(v.Get("format"))
	if err != nil {
		return err
	}
	integrity, err := boolParam(r, "integrity")
	if err != nil {
		return err
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", audit.FormatContentType(format))
		w.Header().Set("Content-Disposition", `attachment; filename="`+audit.ExportFilename(c.Org, format, a.now())+`"`)
		return nil
	}
	r, release, err := a.limits.StartExport(r, c.Org)
	if err != nil {
		return exportRefused(err) // limits.go
	}
	defer release()
	x, err := a.svc.StartExport(r.Context(), c.Org, audit.ExportRequest{
		Format: format, Filter: filter, Query: q, Actor: c.actor(), Integrity: integrity,
	})
	if err != nil {
		return err
	}
	return httpx.WriteExport(w, r, x, a.log, "org", c.Org, "key", c.Key.ID)
}

// hubExport serves GET /api/organizations/{org}/audit-log/export, the
// route the Hugging Face Hub documents for downloading an org's audit
// log, so that scripts written for the Hub work against Trail unchanged.
// It is the JSON export of export (same scope, same document, same
// recorded export event); q narrows it as there. Another format is
// refused: the Hub's route serves JSON only.
func (a *API) hubExport(w http.ResponseWriter, r *http.Request, c caller) error {
	if f := r.URL.Query().Get("format"); f != "" && f != string(audit.FormatJSON) {
		return audit.Errorf(audit.CodeInvalid, "format %q: this Hub-compatible route exports JSON only; use /api/v1/orgs/%s/export?format=%s", f, c.Org, f)
	}
	return a.export(w, r, c)
}
