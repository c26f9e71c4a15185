// SPDX-License-Identifier: Apache-2.0

package api

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/trailaudit/trail/internal/audit"
)

// maxZstdWindow is the largest zstd window a request may use: 8 MiB, what
// RFC 8878 asks every decoder to support. A frame asking for more is
// refused before any memory is taken for it.
const maxZstdWindow = 8 << 20

var (
	bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipReaders sync.Pool // *gzip.Reader
	zstdReaders = sync.Pool{New: func() any {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(maxZstdWindow))
		if err != nil {
			panic("api: zstd decoder: " + err.Error()) // only bad options fail
		}
		return d
	}}
)

// readBody reads r's body, decompressed per its Content-Encoding (none,
// identity, gzip or zstd), into a pooled buffer that release returns. The
// limit applies to the decompressed bytes, so that a small compressed
// body that inflates past it (a decompression bomb) is refused with
// CodeTooLarge after reading at most limit+1 bytes of it.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, release func(), err error) {
	in := http.MaxBytesReader(w, r.Body, limit+1)
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	src, done, err := decompressor(enc, in)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	buf := bodyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	release = func() {
		if buf.Cap() <= 2*int(limit) {
			bodyBuffers.Put(buf)
		}
	}
	_, err = buf.ReadFrom(io.LimitReader(src, limit+1))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig), err == nil && int64(buf.Len()) > limit:
		release()
		what := "request body"
		if enc != "" && enc != "identity" {
			what = "request body, decompressed,"
		}
		return nil, nil, audit.Errorf(audit.CodeTooLarge, "%s is larger than %d bytes", what, limit)
	case errors.Is(err, zstd.ErrWindowSizeExceeded), errors.Is(err, zstd.ErrDecoderSizeExceeded):
		release()
		return nil, nil, audit.Errorf(audit.CodeTooLarge, "zstd request body uses a window larger than %d bytes: compress with a window of at most 8 MiB", maxZstdWindow)
	case err != nil && enc != "" && enc != "identity":
		release()
		return nil, nil, &audit.Error{Code: audit.CodeInvalid, Message: fmt.Sprintf("request body is not valid %s data", enc), Err: err}
	case err != nil:
		release()
		return nil, nil, &audit.Error{Code: audit.CodeInvalid, Message: "could not read the request body", Err: err}
	}
	return buf.Bytes(), release, nil
}

// decompressor returns a reader of in's decompressed bytes for the
// content coding enc, and a function that returns it to its pool.
func decompressor(enc string, in io.Reader) (io.Reader, func(), error) {
	switch enc {
	case "", "identity":
		return in, func() {}, nil
	case "gzip", "x-gzip":
		zr, _ := gzipReaders.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(in)
		} else {
			err = zr.Reset(in)
		}
		if err != nil {
			return nil, nil, &audit.Error{Code: audit.CodeInvalid, Message: "request body is not valid gzip data", Err: err}
		}
		return zr, func() { gzipReaders.Put(zr) }, nil
	case "zstd":
		zd := zstdReaders.Get().(*zstd.Decoder)
		if err := zd.Reset(in); err != nil {
			zstdReaders.Put(zd)
			return nil, nil, &audit.Error{Code: audit.CodeInvalid, Message: "request body is not valid zstd data", Err: err}
		}
		return zd, func() { _ = zd.Reset(nil); zstdReaders.Put(zd) }, nil
	}
	return nil, nil, audit.Errorf(audit.CodeUnsupported, "unsupported Content-Encoding %q: send the body as is, or with Content-Encoding gzip or zstd", shortHeader(enc))
}

// shortHeader bounds a header value before it is echoed in an error.
func shortHeader(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
