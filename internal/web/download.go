// SPDX-License-Identifier: Apache-2.0

package web

import (
	"net/http"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/httpx"
)

// linkPage is the confirmation page of a viewer link.
type linkPage struct {
	layout
	LinkOrg  string
	LinkUser audit.Actor
	Expires  timeView
}

// download serves POST /orgs/{org}/settings/audit-logs/export: the
// complete log, or the filtered view (q), as JSON, NDJSON or CSV. It is a
// POST with the session's CSRF token, so another site cannot start one;
// it is recorded as an org.audit_log.export event whose actor is the
// signed-in admin (audit.Service.StartExport), and streamed in constant
// memory.
func (h *Handler) download(w http.ResponseWriter, r *http.Request) error {
	si, err := h.sessionFor(r)
	if err != nil {
		return err
	}
	if err := h.checkForm(r, si); err != nil {
		return err
	}
	q := r.PostFormValue("q")
	filter, ferr := h.filter(filterForm{Q: q})
	if ferr != nil {
		return audit.Errorf(audit.CodeInvalid, "%s", ferr.Message)
	}
	format, err := audit.ParseFormat(r.PostFormValue("format"))
	if err != nil {
		return err
	}
	r, release, err := h.limits.StartExport(r, si.sess.Org)
	if err != nil {
		return exportRefused(w, err) // limits.go
	}
	defer release()
	x, err := h.svc.StartExport(r.Context(), si.sess.Org, audit.ExportRequest{
		Format: format, Filter: filter, Query: formatFilter(filter), Actor: si.sess.User,
	})
	if err != nil {
		return err
	}
	return httpx.WriteExport(w, r, x, h.log, "org", si.sess.Org)
}
