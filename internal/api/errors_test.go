// SPDX-License-Identifier: Apache-2.0

package api

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
)

// TestErrorStatusTable checks the one code→status table and the
// Retry-After it implies: a 503 that may pass (unavailable, quarantined)
// and a 429 carry it; store_failed, which lasts until Trail restarts, is a
// 503 without it; no other error carries it.
func TestErrorStatusTable(t *testing.T) {
	for _, c := range []struct {
		code       audit.Code
		status     int
		retryAfter bool
	}{
		{audit.CodeInvalid, 400, false},
		{audit.CodeUnprocessable, 422, false},
		{audit.CodeUnauthorized, 401, false},
		{audit.CodeForbidden, 403, false},
		{audit.CodeNotFound, 404, false},
		{codeMethodNotAllowed, 405, false},
		{audit.CodeConflict, 409, false},
		{audit.CodeTooLarge, 413, false},
		{audit.CodeUnsupported, 415, false},
		{audit.CodeRateLimited, 429, true},
		{audit.CodeInternal, 500, false},
		{audit.CodeUnavailable, 503, true},
		{audit.CodeQuarantined, 503, true},
		{audit.CodeStoreFailed, 503, false},
	} {
		a := &API{log: slog.New(slog.DiscardHandler)}
		w := httptest.NewRecorder()
		a.writeError(w, httptest.NewRequest("POST", "/api/v1/orgs/acme/events", nil), &audit.Error{Code: c.code, Message: "m"})
		if w.Code != c.status {
			t.Errorf("%s: status %d, want %d", c.code, w.Code, c.status)
		}
		if got := w.Header().Values("Retry-After") != nil; got != c.retryAfter {
			t.Errorf("%s: Retry-After %q, want one: %v", c.code, w.Header().Get("Retry-After"), c.retryAfter)
		}
	}
	if status, retry := statusOf(audit.CodeStoreFailed); status != http.StatusServiceUnavailable || retry {
		t.Errorf("statusOf(store_failed) = %d, %v; want 503 and no retry", status, retry)
	}
}

// TestWriteAcks: the ingest reply is writeJSON's bytes for the same acks,
// odd ids included.
func TestWriteAcks(t *testing.T) {
	for _, acks := range [][]audit.Ack{
		nil, {},
		{{ID: "01938a7e-0000-7000-8000-000000000000", Seq: 0}},
		{{ID: "ev_1-A", Seq: 1}, {ID: "x<y>&z", Seq: 9007199254740993}, {ID: "é\u2028\"\\", Seq: -1}, {ID: "", Seq: 2}},
	} {
		want := httptest.NewRecorder()
		writeJSON(want, http.StatusOK, struct {
			Events []audit.Ack `json:"events"`
		}{acks})
		got := httptest.NewRecorder()
		writeAcks(got, acks)
		if got.Body.String() != want.Body.String() || got.Code != want.Code ||
			got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Errorf("writeAcks(%v) = %d %q %q, want %d %q %q", acks, got.Code, got.Header().Get("Content-Type"), got.Body,
				want.Code, want.Header().Get("Content-Type"), want.Body)
		}
	}
}
