// SPDX-License-Identifier: Apache-2.0

package httpx

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// AcceptsGzip reports whether to compress the response to r: its
// Accept-Encoding allows gzip (a "gzip" or "*" token without q=0) and it
// asks for no byte range (ranges are of the uncompressed bytes).
func AcceptsGzip(r *http.Request) bool {
	if r.Header.Get("Range") != "" {
		return false
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
				continue
			}
		}
		return true
	}
	return false
}

// GzipWriter compresses a response on the fly, in constant memory: bytes
// go through a gzip.Writer to the client as they come, so an export of
// any size streams. It decides at the first WriteHeader or Write: a
// response that already has a Content-Encoding, has no body (204, 304),
// or for which Skip reports true goes out as is.
//
// Close ends the gzip stream; a response cut short on purpose (an export
// that failed midway) must not be closed, so that the client sees a
// truncated stream, never a complete-looking one.
//
// The compressor is klauspost/compress's gzip at its fastest level
// (BestSpeed), taken from a pool and put back by Close: a large response
// (an export) costs a few milliseconds per 100 MB instead of seconds, and
// a small one (an ingest's acknowledgements) allocates no fresh
// compressor state.
type GzipWriter struct {
	http.ResponseWriter
	// Skip, if set, is asked once, at the first write: true sends the
	// response uncompressed (e.g. a handler that compresses itself).
	Skip    func() bool
	gz      *gzip.Writer
	decided bool
	closed  bool
}

// gzipWriters are idle compressors, reset for each response.
var gzipWriters = sync.Pool{New: func() any {
	z, err := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	if err != nil {
		panic(err) // a valid constant level
	}
	return z
}}

var errGzipClosed = errors.New("httpx: write after the gzip stream was closed")

// NewGzipWriter returns a GzipWriter over w; the caller checked that the
// client accepts gzip.
func NewGzipWriter(w http.ResponseWriter, skip func() bool) *GzipWriter {
	w.Header().Add("Vary", "Accept-Encoding")
	return &GzipWriter{ResponseWriter: w, Skip: skip}
}

func (g *GzipWriter) decide(status int) {
	if g.decided {
		return
	}
	g.decided = true
	h := g.Header()
	if h.Get("Content-Encoding") != "" || status == http.StatusNoContent || status == http.StatusNotModified ||
		status == http.StatusPartialContent ||
		(g.Skip != nil && g.Skip()) {
		return
	}
	h.Del("Content-Length")
	h.Set("Content-Encoding", "gzip")
	g.gz = gzipWriters.Get().(*gzip.Writer)
	g.gz.Reset(g.ResponseWriter)
}

func (g *GzipWriter) WriteHeader(code int) {
	g.decide(code)
	g.ResponseWriter.WriteHeader(code)
}

func (g *GzipWriter) Write(b []byte) (int, error) {
	if g.closed {
		return 0, errGzipClosed
	}
	g.decide(http.StatusOK)
	if g.gz == nil {
		return g.ResponseWriter.Write(b)
	}
	return g.gz.Write(b)
}

// Flush sends what was compressed so far.
func (g *GzipWriter) Flush() {
	if g.gz != nil {
		g.gz.Flush()
	}
	http.NewResponseController(g.ResponseWriter).Flush()
}

// Close ends the gzip stream, if the response was compressed, and puts
// the compressor back in the pool.
func (g *GzipWriter) Close() error {
	if g.closed {
		return nil
	}
	g.closed = true
	if g.gz == nil {
		return nil
	}
	err := g.gz.Close()
	g.gz.Reset(nil) // holds no reference to the response
	gzipWriters.Put(g.gz)
	g.gz = nil
	return err
}

// Unwrap lets http.ResponseController reach the connection.
func (g *GzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }
