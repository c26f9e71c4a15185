// SPDX-License-Identifier: Apache-2.0

package httpx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"
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
// go through a compressor to the client as they come, so an export of
// any size streams. It decides at the first WriteHeader or Write: a
// response that already has a Content-Encoding, has no body (204, 304),
// or for which Skip reports true goes out as is.
//
// Close ends the gzip stream; a response cut short on purpose (an export
// that failed midway) must not be closed, so that the client sees a
// truncated stream, never a complete-looking one.
//
// The compressor is klauspost/compress's DEFLATE at its fastest level
// (BestSpeed), taken from a pool and put back by Close: a large response
// (an export) costs a few milliseconds per 100 MB instead of seconds, and
// a small one (an ingest's acknowledgements) allocates no fresh
// compressor state. A large write (an export's batches, parallelMin or
// more) is cut into pieces compressed side by side, one per core, each
// primed with the 32 KiB before it and ended at a byte boundary (a sync
// flush), so that the pieces, one after the other, are one DEFLATE
// stream: the same bytes come out of the decompressor, made in a fraction
// of the time on a machine with cores to spare.
type GzipWriter struct {
	http.ResponseWriter
	// Skip, if set, is asked once, at the first write: true sends the
	// response uncompressed (e.g. a handler that compresses itself).
	Skip    func() bool
	z       *flate.Writer // nil: the response goes out as is
	crc     uint32        // of the uncompressed bytes so far
	size    uint32        // their number, modulo 2³²
	hist    []byte        // the last histBytes or more of them (a piece's dictionary)
	started bool          // the gzip header was written
	decided bool
	closed  bool
}

const (
	// histBytes is DEFLATE's window: what a piece may refer back to.
	histBytes = 32 << 10
	// parallelMin is the smallest write compressed in pieces.
	parallelMin = 256 << 10
	// pieceMin is the smallest piece worth a goroutine.
	pieceMin = 128 << 10
)

// gzipWriters are idle compressors, reset for each response and piece.
var gzipWriters = sync.Pool{New: func() any {
	z, err := flate.NewWriter(nil, flate.BestSpeed)
	if err != nil {
		panic(err) // a valid constant level
	}
	return z
}}

// gzipHeader starts every stream: no name or time, XFL 4 (the fastest
// level), OS 255 (unknown).
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255}

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
	g.z = gzipWriters.Get().(*flate.Writer)
	g.z.ResetDict(g.ResponseWriter, nil)
}

// start writes the gzip header once, before anything else.
func (g *GzipWriter) start() error {
	if g.started {
		return nil
	}
	g.started = true
	_, err := g.ResponseWriter.Write(gzipHeader)
	return err
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
	if g.z == nil {
		return g.ResponseWriter.Write(b)
	}
	if err := g.start(); err != nil {
		return 0, err
	}
	pieces := len(b) >= parallelMin && runtime.GOMAXPROCS(0) > 1
	var err error
	if pieces {
		err = g.writePieces(b)
	} else {
		_, err = g.z.Write(b)
	}
	if err != nil {
		return 0, err
	}
	g.crc = crc32.Update(g.crc, crc32.IEEETable, b)
	g.size += uint32(len(b))
	g.remember(b)
	if pieces {
		// The stream's compressor goes on after b.
		g.z.ResetDict(g.ResponseWriter, g.hist[max(0, len(g.hist)-histBytes):])
	}
	return len(b), nil
}

// remember keeps the last histBytes of what was written.
func (g *GzipWriter) remember(b []byte) {
	if len(b) >= histBytes {
		g.hist = append(g.hist[:0], b[len(b)-histBytes:]...)
		return
	}
	if len(g.hist)+len(b) > 2*histBytes {
		g.hist = append(g.hist[:0], g.hist[len(g.hist)-histBytes:]...)
	}
	g.hist = append(g.hist, b...)
}

// dictBefore is the window before b[i:]: the end of hist, then b[:i].
func (g *GzipWriter) dictBefore(b []byte, i int) []byte {
	if i >= histBytes {
		return b[i-histBytes : i]
	}
	h := g.hist[max(0, len(g.hist)-(histBytes-i)):]
	return append(append(make([]byte, 0, len(h)+i), h...), b[:i]...)
}

// writePieces compresses b in pieces side by side (see GzipWriter) and
// writes them in order.
func (g *GzipWriter) writePieces(b []byte) error {
	if err := g.z.Flush(); err != nil { // what it holds, ended at a byte boundary
		return err
	}
	n := min(runtime.GOMAXPROCS(0), len(b)/pieceMin)
	outs := make([]bytes.Buffer, n)
	var wg sync.WaitGroup
	for k := range n {
		lo, hi := k*len(b)/n, (k+1)*len(b)/n
		dict := g.dictBefore(b, lo)
		piece := func() {
			z := gzipWriters.Get().(*flate.Writer)
			z.ResetDict(&outs[k], dict)
			z.Write(b[lo:hi]) // to a bytes.Buffer: cannot fail
			z.Flush()
			z.ResetDict(nil, nil)
			gzipWriters.Put(z)
		}
		if k == n-1 {
			piece() // this goroutine's share
		} else {
			wg.Go(piece)
		}
	}
	wg.Wait()
	for k := range outs {
		if _, err := g.ResponseWriter.Write(outs[k].Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// Flush sends what was compressed so far.
func (g *GzipWriter) Flush() {
	if g.z != nil && g.start() == nil {
		g.z.Flush()
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
	if g.z == nil {
		return nil
	}
	err := g.start() // an empty body is an empty gzip stream
	if err == nil {
		err = g.z.Close()
	}
	if err == nil {
		var trailer [8]byte
		binary.LittleEndian.PutUint32(trailer[:4], g.crc)
		binary.LittleEndian.PutUint32(trailer[4:], g.size)
		_, err = g.ResponseWriter.Write(trailer[:])
	}
	g.z.ResetDict(nil, nil) // holds no reference to the response
	gzipWriters.Put(g.z)
	g.z, g.hist = nil, nil
	return err
}

// Unwrap lets http.ResponseController reach the connection.
func (g *GzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }
