package api

import (
	"io"
	"net/http"

	"github.com/trailaudit/trail/internal/audit"
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
	h := w.Header()
	h.Set("Content-Type", x.ContentType())
	h.Set("Content-Disposition", `attachment; filename="`+x.Filename()+`"`)
	cw := &countingWriter{w: w}
	n, err := x.WriteTo(r.Context(), cw, nil)
	if err == nil {
		return nil
	}
	if cw.n == 0 {
		h.Del("Content-Disposition")
		return err
	}
	a.log.WarnContext(r.Context(), "export aborted", "org", c.Org, "key", c.Key.ID,
		"events_written", n, "size", x.Size, "err", err)
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
