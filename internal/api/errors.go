// SPDX-License-Identifier: Apache-2.0

package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/query"
)

// codeMethodNotAllowed is the one error code of the HTTP layer alone: a
// known path asked with a method it does not serve.
const codeMethodNotAllowed audit.Code = "method_not_allowed"

// statusOf is the one table from domain error codes to HTTP statuses,
// with whether the client should retry after Retry-After (429, and a 503
// that may pass: not a store that failed until a restart).
func statusOf(code audit.Code) (status int, retry bool) {
	switch code {
	case audit.CodeUnavailable, audit.CodeQuarantined:
		return http.StatusServiceUnavailable, true
	case audit.CodeStoreFailed:
		return http.StatusServiceUnavailable, false
	case audit.CodeRateLimited:
		return http.StatusTooManyRequests, true
	}
	return statusOnly(code), false
}

// statusOnly maps the codes that are never retried.
func statusOnly(code audit.Code) int {
	switch code {
	case audit.CodeInvalid:
		return http.StatusBadRequest
	case audit.CodeUnprocessable:
		return http.StatusUnprocessableEntity
	case audit.CodeUnauthorized:
		return http.StatusUnauthorized
	case audit.CodeForbidden:
		return http.StatusForbidden
	case audit.CodeNotFound:
		return http.StatusNotFound
	case audit.CodeConflict:
		return http.StatusConflict
	case audit.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case audit.CodeUnsupported:
		return http.StatusUnsupportedMediaType
	case codeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON shape of every error response:
// {"error": {"code", "message", "details": [...], "position": N}}.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Code     audit.Code     `json:"code"`
	Message  string         `json:"message"`
	Details  []audit.Detail `json:"details,omitempty"`
	Position *int           `json:"position,omitempty"`
}

// errorObjectOf turns any error into what the user sees. Errors that are
// not *audit.Error (nor a search-string syntax error) are internal: their
// text is replaced by "internal error".
func errorObjectOf(err error) errorObject {
	var se *query.SyntaxError
	if errors.As(err, &se) {
		pos := se.Pos
		return errorObject{
			Code:     audit.CodeInvalid,
			Message:  fmt.Sprintf("invalid search string (q) at position %d: %s", se.Pos, se.Msg),
			Position: &pos,
		}
	}
	var ae *audit.Error
	if errors.As(err, &ae) && ae.Code != audit.CodeInternal {
		return errorObject{Code: ae.Code, Message: ae.Message, Details: ae.Details}
	}
	return errorObject{Code: audit.CodeInternal, Message: "internal error"}
}

// writeError writes err as a JSON error response. Internal errors and
// store failures are logged with their cause; the user sees only the
// code's message. It sets WWW-Authenticate on 401 and Retry-After on 429
// and on a 503 worth retrying (statusOf).
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	obj := errorObjectOf(err)
	status, retry := statusOf(obj.Code)
	infoOf(r.Context()).code = obj.Code
	a.logFailure(r, status, err)
	h := w.Header()
	switch {
	case status == http.StatusUnauthorized:
		h.Set("WWW-Authenticate", "Bearer")
	case status == http.StatusTooManyRequests:
		h.Set("Retry-After", retryAfter(err)) // limits.go
	case retry:
		h.Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{Error: obj})
}

// logFailure logs the cause of a server-side failure. Client errors are
// not logged beyond the request line: their message went to the client.
func (a *API) logFailure(r *http.Request, status int, err error) {
	switch {
	case status == http.StatusInternalServerError:
		a.log.ErrorContext(r.Context(), "request failed", "route", infoOf(r.Context()).route, "err", err)
	case status == http.StatusServiceUnavailable && errors.Unwrap(err) != nil:
		a.log.WarnContext(r.Context(), "request failed", "route", infoOf(r.Context()).route, "err", err)
	}
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the API's own response types reach here; they always encode.
		panic("api: encoding response: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// Errors the handlers share.
var (
	errNoRoute   = audit.Errorf(audit.CodeNotFound, "no such route; see /openapi.yaml")
	errNoKey     = audit.Errorf(audit.CodeUnauthorized, "missing API key: send Authorization: Bearer <key>")
	errBadKey    = audit.Errorf(audit.CodeUnauthorized, "unknown, expired or revoked API key")
	errOrgAbsent = audit.Errorf(audit.CodeNotFound, "not found")
)
