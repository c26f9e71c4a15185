// SPDX-License-Identifier: Apache-2.0

package api

import (
	"net/http"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// maxViewerLinkBody bounds the body of POST viewer-links.
const maxViewerLinkBody = 4 << 10

// viewerLinkRequest is the body of POST /api/v1/orgs/{org}/viewer-links.
type viewerLinkRequest struct {
	User *struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"user"`
}

// createViewerLink serves POST /api/v1/orgs/{org}/viewer-links (admin):
// a single-use link, valid a few minutes, that opens the org's audit-log
// page for the given user. The reply is {"url", "expires_at"}; the URL is
// built from the configured public URL, never from the request's Host.
// The token is in the reply only: it is not logged and stored hashed.
func (a *API) createViewerLink(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := checkParams(r); err != nil {
		return err
	}
	const shape = `{"user": {"id": "...", "name": "..."}}`
	var req viewerLinkRequest
	if err := readJSONBody(w, r, maxViewerLinkBody, &req, shape); err != nil {
		return err
	}
	if req.User == nil {
		return audit.Errorf(audit.CodeInvalid, "the body must be %s: user is missing", shape)
	}
	url, expires, err := a.viewerAccess().Mint(r.Context(), c.Org, audit.Actor{ID: req.User.ID, Name: req.User.Name})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		URL       string `json:"url"`
		ExpiresAt string `json:"expires_at"`
	}{url, expires.UTC().Format(time.RFC3339)})
	return nil
}

// endSessions serves DELETE /api/v1/orgs/{org}/sessions?user=ID (admin):
// it ends every page session of that user in the org at once, for a
// platform that demotes or removes an admin. The reply is {"ended": N}.
func (a *API) endSessions(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := checkParams(r, "user"); err != nil {
		return err
	}
	user := r.URL.Query().Get("user")
	if user == "" || len(user) > 256 {
		return audit.Errorf(audit.CodeInvalid, "user is required: the id of the user whose sessions end (at most 256 bytes)")
	}
	n, err := a.viewerAccess().EndSessions(r.Context(), c.Org, user)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Ended int64 `json:"ended"`
	}{n})
	return nil
}

// viewerAccess returns the configured Viewers, or defaults over the store.
func (a *API) viewerAccess() *audit.Viewers {
	if a.viewers != nil {
		return a.viewers
	}
	return audit.NewViewers(a.store, audit.ViewerConfig{Now: a.now})
}
