// SPDX-License-Identifier: Apache-2.0

// Package httpx holds the HTTP plumbing the JSON API and the web pages
// share.
package httpx

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

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
	cw := &countingWriter{w: w, rc: http.NewResponseController(w), stall: stallOf(r.Context()), ctx: r.Context()}
	// A write blocked on a client that reads nothing would not see the
	// context end (a shutdown, a cancelled request): expire it.
	stop := context.AfterFunc(r.Context(), func() { _ = cw.rc.SetWriteDeadline(time.Now()) })
	defer stop()
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

// countingWriter counts the bytes that reached the response, and gives
// each write stall to complete (none when 0): a client that stops reading
// cannot hold the export, its goroutine and its store snapshot forever. It
// flushes the response after the first bytes: from then on the export is
// committed (200 sent), and a failure must reach the client as a
// truncated transfer, also when a compressing writer would otherwise hold
// everything written so far.
type countingWriter struct {
	w     io.Writer
	n     int64
	rc    *http.ResponseController
	stall time.Duration
	ctx   context.Context
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err // ended (shutdown, client gone): write nothing more
	}
	if c.stall > 0 {
		_ = c.rc.SetWriteDeadline(time.Now().Add(c.stall)) // unsupported: no bound, as before
	}
	first := c.n == 0
	n, err := c.w.Write(b)
	c.n += int64(n)
	if first && n > 0 {
		_ = c.rc.Flush()
	}
	return n, err
}

type stallKey struct{}

// WithWriteStall returns h with every request's exports bounded by stall:
// a write of an export that does not complete within stall (the client
// reads nothing) fails, which cuts the export (see WriteExport).
func WithWriteStall(h http.Handler, stall time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stallKey{}, stall)))
	})
}

func stallOf(ctx context.Context) time.Duration {
	d, _ := ctx.Value(stallKey{}).(time.Duration)
	return d
}
