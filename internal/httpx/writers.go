// SPDX-License-Identifier: Apache-2.0

package httpx

import (
	"net/http"
	"time"
)

// StatusWriter records the status a handler answered and whether it wrote
// anything, for request logs and metrics.
type StatusWriter struct {
	http.ResponseWriter
	Status int
	Wrote  bool
}

func (w *StatusWriter) WriteHeader(code int) {
	if !w.Wrote {
		w.Status, w.Wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if !w.Wrote {
		w.Status, w.Wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// HeaderProbe captures what a handler would answer without sending it:
// used to learn whether the mux's fallback would say 404 or 405 (and its
// Allow header), so the caller can answer in its own format.
type HeaderProbe struct {
	H      http.Header
	Status int
}

// NewHeaderProbe returns an empty probe.
func NewHeaderProbe() *HeaderProbe { return &HeaderProbe{H: http.Header{}} }

func (p *HeaderProbe) Header() http.Header         { return p.H }
func (p *HeaderProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *HeaderProbe) WriteHeader(code int)        { p.Status = code }

// Millis is d in milliseconds with microsecond precision: logs carry
// durations as numbers a log query can compare and sum (duration_ms),
// not as Go duration strings or nanoseconds.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
