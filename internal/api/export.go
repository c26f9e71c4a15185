// SPDX-License-Identifier: Apache-2.0

package api

import (
	"net/http"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/httpx"
)

// export serves GET /api/v1/orgs/{org}/export?format=json|ndjson|csv[&q=].
// It fixes N (the org's log size now), records the export as an
// org.audit_log.export event at seq N or later, and streams seq 0 … N-1
// (those matching q) as an attachment. An error before the first byte is
// a JSON error; after it, the connection is aborted so the client sees a
// truncated transfer, never a complete-looking file.
func (a *API) export(w http.ResponseWriter, r *http.Request, c caller) error {
	v := r.URL.Query()
	q := v.Get("q")
	filter, err := a.parseQuery(q)
	if err != nil {
		return err
	}
	format, err := audit.ParseFormat(v.Get("format"))
	if err != nil {
		return err
	}
	x, err := a.svc.StartExport(r.Context(), c.Org, audit.ExportRequest{
		Format: format, Filter: filter, Query: q, Actor: c.actor(),
		Integrity: v.Get("integrity") == "1" || v.Get("integrity") == "true",
	})
	if err != nil {
		return err
	}
	return httpx.WriteExport(w, r, x, a.log, "org", c.Org, "key", c.Key.ID)
}
