// SPDX-License-Identifier: Apache-2.0

package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// Session cookies. Over https the cookie takes the __Host- prefix, which
// browsers accept only with Secure, Path=/ and no Domain: no subdomain
// can plant or read it.
const (
	cookieName       = "trail_session"
	secureCookieName = "__Host-trail_session"
)

// csrfField is the name of the hidden field forms carry.
const csrfField = "csrf"

// Refusals of the session layer.
var (
	errNotSignedIn = audit.Errorf(audit.CodeUnauthorized, "not signed in")
	errCrossSite   = audit.Errorf(audit.CodeForbidden, "cross-site request")
	errBadCSRF     = audit.Errorf(audit.CodeForbidden, "bad CSRF token")
	errNotFound    = audit.Errorf(audit.CodeNotFound, "not found")
)

func (h *Handler) cookieName() string {
	if h.viewers.Secure() {
		return secureCookieName
	}
	return cookieName
}

// setSessionCookie hands the browser its session id.
func (h *Handler) setSessionCookie(w http.ResponseWriter, id string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(), Value: id, Path: "/",
		Expires: expires, MaxAge: int(time.Until(expires).Seconds()),
		HttpOnly: true, Secure: h.viewers.Secure(), SameSite: http.SameSiteStrictMode,
	})
}

func (h *Handler) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: h.viewers.Secure(), SameSite: http.SameSiteStrictMode,
	})
}

// signedIn is a request's live session.
type signedIn struct {
	id   string // the cookie value; never logged
	sess audit.Session
}

// session returns the request's live session, or errNotSignedIn.
func (h *Handler) session(r *http.Request) (signedIn, error) {
	c, err := r.Cookie(h.cookieName())
	if err != nil || c.Value == "" {
		return signedIn{}, errNotSignedIn
	}
	s, err := h.viewers.Session(r.Context(), c.Value)
	if errors.Is(err, audit.ErrNotFound) {
		return signedIn{}, errNotSignedIn
	}
	if err != nil {
		return signedIn{}, err
	}
	return signedIn{id: c.Value, sess: s}, nil
}

// sessionFor returns the request's session if it serves the org in the
// path. A session of another org gets the same 404 as an org that does
// not exist, whatever the path says.
func (h *Handler) sessionFor(r *http.Request) (signedIn, error) {
	si, err := h.session(r)
	if err != nil {
		return signedIn{}, err
	}
	if r.PathValue("org") != si.sess.Org {
		return signedIn{}, errNotFound
	}
	infoOf(r.Context()).org = si.sess.Org
	return si, nil
}

// checkSameOrigin refuses a state-changing request that the browser says
// came from another site: Sec-Fetch-Site when sent (every current
// browser), else Origin against the public URL. A request with neither
// (not a browser) is left to the CSRF token.
func (h *Handler) checkSameOrigin(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return nil
	case "":
	default:
		return errCrossSite
	}
	if o := r.Header.Get("Origin"); o != "" && o != h.publicOrigin() {
		return errCrossSite
	}
	return nil
}

// checkForm checks a session's state-changing form: same origin and the
// session's CSRF token.
func (h *Handler) checkForm(r *http.Request, si signedIn) error {
	return h.checkFormLimit(r, si, 8<<10)
}

// checkFormLimit is checkForm for a form of at most limit bytes.
func (h *Handler) checkFormLimit(r *http.Request, si signedIn, limit int64) error {
	if err := h.checkSameOrigin(r); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(nil, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return audit.Errorf(audit.CodeTooLarge, "the form is larger than %d KiB", limit>>10)
		}
		return audit.Errorf(audit.CodeInvalid, "the form could not be read")
	}
	if !audit.CheckCSRFToken(si.id, r.PostFormValue(csrfField)) {
		return errBadCSRF
	}
	return nil
}

// publicOrigin is the scheme://host[:port] of the public URL.
func (h *Handler) publicOrigin() string {
	u, err := url.Parse(h.viewers.PublicURL())
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// linkConfirm serves GET /link/{token}: a one-click confirmation, so that
// mail and chat scanners that fetch links cannot spend them.
func (h *Handler) linkConfirm(w http.ResponseWriter, r *http.Request) error {
	l, err := h.viewers.Peek(r.Context(), r.PathValue("token"))
	if err != nil {
		return linkError(err)
	}
	infoOf(r.Context()).org = l.Org
	h.render(w, r, http.StatusOK, "link", linkPage{
		layout:  h.layout("Open " + l.Org + "'s audit logs"),
		LinkOrg: l.Org, LinkUser: l.User, Expires: newTimeView(l.ExpiresAt, h.now(), h.viewerZone(r)),
	})
	return nil
}

// linkSpend serves POST /link/{token}: it spends the link and starts a
// session, then sends the browser to the page.
func (h *Handler) linkSpend(w http.ResponseWriter, r *http.Request) error {
	if err := h.checkSameOrigin(r); err != nil {
		return err
	}
	if old, err := r.Cookie(h.cookieName()); err == nil && old.Value != "" {
		// A browser holds one session: the old one ends with the new one.
		if err := h.viewers.Logout(r.Context(), old.Value); err != nil {
			h.log.WarnContext(r.Context(), "ending a replaced session failed", "err", err)
		}
	}
	id, s, err := h.viewers.Consume(r.Context(), r.PathValue("token"))
	if err != nil {
		return linkError(err)
	}
	infoOf(r.Context()).org = s.Org
	h.setSessionCookie(w, id, s.ExpiresAt)
	http.Redirect(w, r, pagePath(s.Org), http.StatusSeeOther)
	return nil
}

// linkError turns a link failure into the page that explains it.
func linkError(err error) error {
	switch {
	case errors.Is(err, audit.ErrLinkUsed):
		return pageError{status: http.StatusGone, page: messagePage{
			Heading: "This link has already been used",
			Body:    "Sign-in links open the audit logs once, so that a link seen by someone else is worthless.",
			Hint:    "Go back to your organization's settings and open Audit logs again: you will get a fresh link.",
		}}
	case errors.Is(err, audit.ErrLinkExpired):
		return pageError{status: http.StatusGone, page: messagePage{
			Heading: "This link has expired",
			Body:    "Sign-in links work for a few minutes only.",
			Hint:    "Go back to your organization's settings and open Audit logs again: you will get a fresh link.",
		}}
	case errors.Is(err, audit.ErrNotFound):
		return pageError{status: http.StatusNotFound, page: messagePage{
			Heading: "This link is not valid",
			Body:    "Trail does not know this sign-in link. It may be incomplete: links are long, and some apps cut them.",
			Hint:    "Open Audit logs again from your organization's settings.",
		}}
	}
	return err
}

// logout serves POST /logout: it ends the session and clears the cookie.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) error {
	si, err := h.session(r)
	if errors.Is(err, errNotSignedIn) {
		h.clearSessionCookie(w)
		http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	if err := h.checkForm(r, si); err != nil {
		return err
	}
	infoOf(r.Context()).org = si.sess.Org
	if err := h.viewers.Logout(r.Context(), si.id); err != nil {
		return err
	}
	h.clearSessionCookie(w)
	http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
	return nil
}

// signedOut serves GET /signed-out.
func (h *Handler) signedOut(w http.ResponseWriter, r *http.Request) error {
	h.message(w, r, http.StatusOK, messagePage{
		Heading: "You are signed out",
		Body:    "Your audit-log session has ended on this browser.",
		Hint:    "To come back, open Audit logs from your organization's settings.",
	})
	return nil
}

func pagePath(org string) string {
	return "/orgs/" + url.PathEscape(org) + "/settings/audit-logs"
}
