// Package httpx holds the HTTP plumbing the JSON API and the web pages
// share.
package httpx

import (
	"context"
	"io"
	"log/slog"
	"net/http"

	"github.com/trailaudit/trail/internal/audit"
)

// WriteExport streams a started export to w as an attachment. An error
// before the first byte is returned, so the caller can answer with its own
// error; after the first byte the connection is aborted
// (panic(http.ErrAbortHandler)), so the client sees a truncated transfer,
// never a complete-looking file. attrs are logged with the abort.
func WriteExport(w http.ResponseWriter, r *http.Request, x *audit.Export, log *slog.Logger, attrs ...any) error {
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
	log.WarnContext(context.WithoutCancel(r.Context()), "export aborted",
		append(attrs, "events_written", n, "size", x.Size, "err", err)...)
	panic(http.ErrAbortHandler)
}

// countingWriter counts the bytes that reached the response. It flushes
// the response after the first bytes: from then on the export is
// committed (200 sent), and a failure must reach the client as a
// truncated transfer, also when a compressing writer would otherwise hold
// everything written so far.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	first := c.n == 0
	n, err := c.w.Write(b)
	c.n += int64(n)
	if first && n > 0 {
		if rw, ok := c.w.(http.ResponseWriter); ok {
			http.NewResponseController(rw).Flush()
		}
	}
	return n, err
}
