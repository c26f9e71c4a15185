// SPDX-License-Identifier: Apache-2.0

package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/trailaudit/trail/internal/audit"
)

// The Retention page: the org's retention policy and legal hold, for the
// org's admins (every page session is an org admin's, as on the Streaming
// page). A change goes through audit.Service.SetPolicy, as the API's
// PUT …/policy does: the same validation, and the same
// org.audit_log.policy_change event, with the signed-in admin as actor.

// maxDaysField bounds the days field: 36500 (100 years) has 5 digits.
const maxDaysField = 12

// policyPage is what the Retention page shows.
type policyPage struct {
	layout
	Base    string // the Retention page's path
	LogPath string // the audit-log page's path
	Current string // the policy in force, in words
	Form    policyForm
	Notice  string // what the last change did
	CanTrim bool   // the store can prune: a number of days may be chosen
}

// policyForm is the form as shown: what was typed, which field is wrong
// and why.
type policyForm struct {
	Mode       string // "forever" or "days"
	Days       string
	Hold       bool
	Reason     string
	Error      string
	ErrorField string // "days", "reason" or "mode"
}

// policyPath is the Retention page's path for org.
func policyPath(org string) string { return pagePath(org) + "/retention" }

// newPolicyPage starts a Retention page with the org's policy in force.
func (h *Handler) newPolicyPage(r *http.Request, si signedIn) (*policyPage, audit.Policy, error) {
	org := si.sess.Org
	pol, err := h.svc.Policy(r.Context(), org)
	if err != nil {
		return nil, pol, err
	}
	p := &policyPage{layout: h.signedInLayout("Retention · "+org, si), Base: policyPath(org), LogPath: pagePath(org), CanTrim: h.svc.CanPrune()}
	p.Crumb = "Retention"
	p.Current = policyText(pol)
	return p, pol, nil
}

// policyText says the policy in force in one sentence or two.
func policyText(pol audit.Policy) string {
	var b strings.Builder
	if pol.Retention == audit.RetentionForever {
		b.WriteString("Events are kept forever.")
	} else {
		fmt.Fprintf(&b, "Events are kept %s after Trail receives them, then removed.", pol.Retention)
	}
	if pol.Default {
		b.WriteString(" This is the server's default: the org has set no policy of its own.")
	}
	if pol.LegalHold {
		fmt.Fprintf(&b, " Legal hold is on: nothing is removed (%s).", pol.LegalHoldReason)
	}
	return b.String()
}

// policyList serves GET …/retention: the policy and the form to change it.
func (h *Handler) policyList(w http.ResponseWriter, r *http.Request) error {
	si, err := h.sessionFor(r)
	if err != nil {
		return err
	}
	p, pol, err := h.newPolicyPage(r, si)
	if err != nil {
		return err
	}
	p.Form = policyForm{Mode: "forever", Hold: pol.LegalHold, Reason: pol.LegalHoldReason}
	if days, ok := strings.CutSuffix(pol.Retention, "d"); ok {
		p.Form.Mode, p.Form.Days = "days", days
	} else if pol.Retention != audit.RetentionForever {
		p.Form.Mode = "days" // e.g. "12h", set through the API: the page offers days
	}
	if r.URL.Query().Get("done") == "saved" {
		p.Notice = "The retention policy was saved. " + p.Current
	}
	h.render(w, r, http.StatusOK, "policy", p)
	return nil
}

// policySave serves POST …/retention: it replaces the org's policy and
// redirects back with a notice; bad input shows the form again, with the
// error at its field, and stores nothing.
func (h *Handler) policySave(w http.ResponseWriter, r *http.Request) error {
	si, err := h.sessionFor(r)
	if err != nil {
		return err
	}
	if err := h.checkFormLimit(r, si, maxActionForm); err != nil {
		return err
	}
	f := policyForm{Mode: r.PostForm.Get("mode"), Days: strings.TrimSpace(r.PostForm.Get("days")),
		Hold: r.PostForm.Get("legal_hold") == "true", Reason: r.PostForm.Get("legal_hold_reason")}
	pol, err := f.policy()
	if err == nil {
		_, err = h.svc.SetPolicy(r.Context(), si.sess.Org, pol, si.sess.User)
	}
	if err != nil {
		var ae *audit.Error
		if !errors.As(err, &ae) || ae.Code != audit.CodeInvalid {
			return err
		}
		p, _, perr := h.newPolicyPage(r, si)
		if perr != nil {
			return perr
		}
		f.Error, f.ErrorField = ae.Message, policyErrorField(ae.Message)
		p.Form = f
		h.render(w, r, http.StatusBadRequest, "policy", p)
		return nil
	}
	http.Redirect(w, r, policyPath(si.sess.Org)+"?done=saved", http.StatusSeeOther)
	return nil
}

// policy turns the form into the policy SetPolicy validates: days become
// "Nd"; the reason is dropped with the hold (unticking the hold clears it).
func (f policyForm) policy() (audit.Policy, error) {
	p := audit.Policy{LegalHold: f.Hold}
	if f.Hold {
		p.LegalHoldReason = f.Reason
	}
	switch f.Mode {
	case "forever":
		p.Retention = audit.RetentionForever
	case "days":
		if f.Days == "" || len(f.Days) > maxDaysField || !utf8.ValidString(f.Days) || strings.Trim(f.Days, "0123456789") != "" {
			return p, audit.Errorf(audit.CodeInvalid, "days: expected a whole number of days from 1 to 36500, or choose Forever")
		}
		p.Retention = f.Days + "d"
	default:
		return p, audit.Errorf(audit.CodeInvalid, "mode: choose Forever or a number of days")
	}
	return p, nil
}

// policyErrorField is the field a validation message is about.
func policyErrorField(msg string) string {
	switch {
	case strings.HasPrefix(msg, "legal_hold_reason"):
		return "reason"
	case strings.HasPrefix(msg, "mode"):
		return "mode"
	}
	return "days" // days: or retention …
}
