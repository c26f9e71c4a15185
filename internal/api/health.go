// SPDX-License-Identifier: Apache-2.0

package api

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

//go:embed openapi.yaml
var openapiYAML []byte

// openapi serves GET /openapi.yaml, the hand-written description of every
// route; a test holds it against the route table.
func (a *API) openapi(w http.ResponseWriter, r *http.Request, _ caller) error {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(openapiYAML)
	return nil
}

// healthz serves GET /healthz: 200 "ok" while the process is up.
func (a *API) healthz(w http.ResponseWriter, r *http.Request, _ caller) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
	return nil
}

// readyz serves GET /readyz: 200 when Config.Ready reports true and the
// store answers Ping, else 503 with the store's reason when it gives one.
func (a *API) readyz(w http.ResponseWriter, r *http.Request, _ caller) error {
	if !a.ready() {
		return audit.Errorf(audit.CodeUnavailable, "Trail is starting (loading data); not ready yet")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		// A store that says why (an fsync failed: no events until a
		// restart) is quoted, so that an operator reading /readyz learns it.
		msg := "the store is not available"
		code := audit.ErrorCode(err)
		if code == audit.CodeUnavailable || code == audit.CodeStoreFailed {
			msg += ": " + audit.ErrorMessage(err)
		}
		if code != audit.CodeStoreFailed {
			code = audit.CodeUnavailable
		}
		return &audit.Error{Code: code, Message: msg, Err: err}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
	return nil
}

// metricsHandler serves GET /metrics in the Prometheus exposition format.
func (a *API) metricsHandler(w http.ResponseWriter, r *http.Request, _ caller) error {
	a.prom.ServeHTTP(w, r)
	return nil
}
