// SPDX-License-Identifier: Apache-2.0

package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/trailaudit/trail/internal/audit"
)

// layout is what every page's frame shows.
type layout struct {
	Title      string
	CSSVersion string
	JSVersion  string
	User       *audit.Actor // the signed-in admin; nil on pages without a session
	UserClass  string
	UserInits  string
	Org        string
	CSRF       string
	Attr       Attribution // shown in the footer when ShowAttr
	ShowAttr   bool
	TimeZone   string // the zone times are shown in: UTC, or the viewer's (zone.go)
	Crumb      string // a page under Audit logs (Streaming); "": the audit-log page itself
}

func (h *Handler) layout(title string) layout {
	return layout{Title: title + " · Trail", CSSVersion: h.assetVersion("style.css"), JSVersion: h.assetVersion("app.js"), TimeZone: "UTC"}
}

// signedInLayout is the frame of a page seen in a session.
func (h *Handler) signedInLayout(title string, si signedIn) layout {
	l := h.layout(title)
	u := si.sess.User
	l.User, l.Org, l.CSRF = &u, si.sess.Org, audit.CSRFToken(si.id)
	l.UserInits = initials(firstNonEmpty(u.Name, u.ID))
	l.UserClass = "av" + strconv.Itoa(int(hashOf(u.Type+"\x00"+u.ID)%8))
	return l
}

// messagePage is a page that says one thing: an error, a used link, a
// sign-out.
type messagePage struct {
	layout
	Heading string // the layout's Title is made from it
	Body    string
	Hint    string // what to do next
	Code    int
}

// pageError is an error that is shown as its own page.
type pageError struct {
	status int
	page   messagePage
}

func (e pageError) Error() string { return e.page.Heading }

var notFoundPage = messagePage{
	Heading: "Page not found",
	Body:    "There is no page here, or you have no access to it.",
	Hint:    "Open Audit logs from your organization's settings to get back to your organization's log.",
}

// message renders a message page with status.
func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, p messagePage) {
	p.layout = h.layout(p.Heading)
	p.Code = status
	h.render(w, r, status, "message", p)
}

// errorPage renders err as a page: what happened and what to do, never
// an internal detail.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	var pe pageError
	if errors.As(err, &pe) {
		h.message(w, r, pe.status, pe.page)
		return
	}
	switch audit.ErrorCode(err) {
	case audit.CodeUnauthorized:
		h.message(w, r, http.StatusUnauthorized, messagePage{
			Heading: "You are not signed in",
			Body:    "Your session has ended or this browser has none: sessions end when you sign out, after a few hours, or when an admin of your platform ends them.",
			Hint:    "Open Audit logs from your organization's settings: your platform gives you a fresh sign-in link.",
		})
	case audit.CodeNotFound:
		h.message(w, r, http.StatusNotFound, notFoundPage)
	case audit.CodeForbidden:
		h.message(w, r, http.StatusForbidden, messagePage{
			Heading: "This request was refused",
			Body:    "The form was sent from another site, or it is older than your current session.",
			Hint:    "Go back to the audit-log page, reload it, and try again.",
		})
	case audit.CodeInvalid, audit.CodeTooLarge:
		h.message(w, r, http.StatusBadRequest, messagePage{
			Heading: "Trail could not understand this request",
			Body:    audit.ErrorMessage(err),
			Hint:    "Go back, correct it, and try again.",
		})
	case audit.CodeStoreFailed:
		// No Retry-After: the failure lasts until Trail restarts.
		h.log.WarnContext(r.Context(), "web request failed", "err", err)
		h.message(w, r, http.StatusServiceUnavailable, messagePage{
			Heading: "Trail cannot record events",
			Body:    "Trail's storage failed and takes no new events (opening this page is one) until Trail is restarted. Nothing was lost.",
			Hint:    "Tell your platform's operators; try again after they have restarted Trail.",
		})
	case audit.CodeUnavailable:
		h.log.WarnContext(r.Context(), "web request failed", "err", err)
		w.Header().Set("Retry-After", "1")
		h.message(w, r, http.StatusServiceUnavailable, messagePage{
			Heading: "Trail is busy",
			Body:    "Trail could not read the audit log just now.",
			Hint:    "Reload the page in a moment. If it keeps happening, tell your platform's operators.",
		})
	default:
		h.log.ErrorContext(r.Context(), "web request failed", "err", err)
		h.message(w, r, http.StatusInternalServerError, messagePage{
			Heading: "Something went wrong",
			Body:    "Trail could not show this page. Nothing was changed.",
			Hint:    "Reload the page. If it keeps happening, tell your platform's operators.",
		})
	}
}
