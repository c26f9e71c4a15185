package web

import (
	"io"
	"net/http"

	"github.com/trailaudit/trail/internal/audit"
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
	x, err := h.svc.StartExport(r.Context(), si.sess.Org, audit.ExportRequest{
		Format: format, Filter: filter, Query: formatFilter(filter), Actor: si.sess.User,
	})
	if err != nil {
		return err
	}
	hd := w.Header()
	hd.Set("Content-Type", x.ContentType())
	hd.Set("Content-Disposition", `attachment; filename="`+x.Filename()+`"`)
	cw := &countingWriter{w: w}
	n, err := x.WriteTo(r.Context(), cw, nil)
	if err == nil {
		return nil
	}
	if cw.n == 0 {
		hd.Del("Content-Disposition")
		return err
	}
	// A truncated transfer, never a complete-looking file.
	h.log.WarnContext(r.Context(), "download aborted", "org", si.sess.Org, "events_written", n, "size", x.Size, "err", err)
	panic(http.ErrAbortHandler)
}

// countingWriter counts the bytes that reached the response.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
