// SPDX-License-Identifier: Apache-2.0

package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// The platform routes: an admin key bound to no org (the platform's own
// backend) lists the orgs and manages API keys over HTTP. A key bound to
// an org gets 403 here: these routes span every org.

// platformCall checks a platform route's request: no query parameter,
// and a key bound to no org.
func platformCall(r *http.Request, c caller) error {
	if err := checkParams(r); err != nil {
		return err
	}
	if c.Key.Org != "" {
		return audit.Errorf(audit.CodeForbidden, "this route needs an admin key bound to no org; this key is bound to org %s", c.Key.Org)
	}
	return nil
}

// listOrgs serves GET /api/v1/orgs: every org that has a log (an org
// exists once it has an event), sorted by name, with its size and latest
// checkpoint. A typo in an org name shows up here as an org nobody
// expected.
func (a *API) listOrgs(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := platformCall(r, c); err != nil {
		return err
	}
	orgs, err := audit.OrgInfos(r.Context(), a.store)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Orgs []audit.OrgInfo `json:"orgs"`
	}{orgs})
	return nil
}

// maxKeyBody bounds the body of POST /api/v1/keys.
const maxKeyBody = 4 << 10

// keyRequest is the body of POST /api/v1/keys.
type keyRequest struct {
	Scope     audit.Scope `json:"scope"`
	Org       string      `json:"org"`
	Name      string      `json:"name"`
	ExpiresAt *time.Time  `json:"expires_at"`
}

// createKey serves POST /api/v1/keys: a new API key. The reply, 201, is
// {"key": {...}, "secret": "trail_…"}: the secret is shown this once and
// kept nowhere (only its hash is stored), and never logged.
func (a *API) createKey(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := platformCall(r, c); err != nil {
		return err
	}
	var req keyRequest
	if err := readJSONBody(w, r, maxKeyBody, &req, `{"scope": "ingest|read|admin", "org": "...", "name": "...", "expires_at": "RFC 3339"}`); err != nil {
		return err
	}
	nk := audit.NewKey{Scope: req.Scope, Org: req.Org, Name: req.Name}
	if req.ExpiresAt != nil {
		nk.Expires = *req.ExpiresAt
	}
	k, secret, err := audit.CreateAPIKey(r.Context(), a.store, nk, a.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		Key    audit.KeyView `json:"key"`
		Secret string        `json:"secret"`
	}{k.View(a.now()), secret})
	return nil
}

// listKeys serves GET /api/v1/keys: every key, newest first, without
// secrets (none are kept).
func (a *API) listKeys(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := platformCall(r, c); err != nil {
		return err
	}
	keys, err := a.store.Keys(r.Context())
	if err != nil {
		return err
	}
	views := make([]audit.KeyView, len(keys))
	for i, k := range keys {
		views[i] = k.View(a.now())
	}
	writeJSON(w, http.StatusOK, struct {
		Keys []audit.KeyView `json:"keys"`
	}{views})
	return nil
}

// revokeKey serves DELETE /api/v1/keys/{id}: the key stops working at
// once. The reply is {"key": {...}, "already_revoked": bool}; revoking a
// revoked key changes nothing and says so.
func (a *API) revokeKey(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := platformCall(r, c); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == c.Key.ID {
		return audit.Errorf(audit.CodeInvalid, "a key cannot revoke itself over HTTP: use another admin key, or trail keys revoke")
	}
	k, already, err := audit.RevokeAPIKey(r.Context(), a.store, id, a.now())
	if audit.ErrorCode(err) == audit.CodeNotFound {
		return audit.Errorf(audit.CodeNotFound, "no key with this id")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Key            audit.KeyView `json:"key"`
		AlreadyRevoked bool          `json:"already_revoked"`
	}{k.View(a.now()), already})
	return nil
}

// readJSONBody decodes a bounded JSON body into v, refusing unknown
// fields and trailing data; shape is what the error shows as expected.
func readJSONBody(w http.ResponseWriter, r *http.Request, limit int64, v any, shape string) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return audit.Errorf(audit.CodeTooLarge, "request body is larger than %d bytes", limit)
	case err != nil:
		return &audit.Error{Code: audit.CodeInvalid, Message: "could not read the request body", Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return audit.Errorf(audit.CodeInvalid, "the body must be %s: %s", shape, jsonProblem(err))
	}
	if dec.More() {
		return audit.Errorf(audit.CodeInvalid, "the body must be one JSON object %s", shape)
	}
	return nil
}

// jsonProblem names what is wrong in a JSON body without Go type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "field " + te.Field + " has the wrong type"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "malformed JSON"
	}
	return err.Error()
}
