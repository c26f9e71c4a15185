// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/trailaudit/trail/internal/audit"
)

// The Retention page's server side: the policy changed through the page
// goes through the service the API uses (validation, audit event by the
// signed-in admin); bad input is shown at its field with nothing stored;
// CSRF and other orgs are refused.

const policyOf = "/orgs/acme/settings/audit-logs/retention"

// policyPage GETs the Retention page and returns it with its CSRF token.
func (e *env) policyPage(c *http.Client, path string) (reply, string) {
	e.t.Helper()
	r := e.do(c, "GET", path, nil)
	m := csrfPattern.FindStringSubmatch(r.Body)
	if m == nil {
		return r, ""
	}
	return r, m[1]
}

func (e *env) policyOfOrg(org string) audit.Policy {
	e.t.Helper()
	p, err := e.Svc.Policy(e.t.Context(), org)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// savePolicy posts the form and follows its 303, returning the page.
func (e *env) savePolicy(c *http.Client, form url.Values) reply {
	e.t.Helper()
	r := e.post(c, policyOf, form)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != policyOf+"?done=saved" {
		e.t.Fatalf("save %v: %d %q\n%.3000s", form, r.Status, r.Header.Get("Location"), r.Body)
	}
	return e.do(c, "GET", r.Header.Get("Location"), nil)
}

func TestPolicyPageChangesRetentionAndHold(t *testing.T) {
	e := newEnv(t)
	c := e.login("acme", "u_admin", "alice")
	if p, _ := e.page(c, "acme", ""); !strings.Contains(p.Body, `href="`+policyOf+`" id="retention-link"`) {
		t.Error("the audit-log page has no link to the Retention page")
	}
	r, csrf := e.policyPage(c, policyOf)
	if r.Status != 200 || csrf == "" || !strings.Contains(r.Body, "Events are kept forever. This is the server&#39;s default") ||
		!strings.Contains(r.Body, `id="policy-forever" name="mode" value="forever" checked`) {
		t.Fatalf("Retention page: %d\n%.3000s", r.Status, r.Body)
	}

	// A number of days.
	r = e.savePolicy(c, url.Values{"csrf": {csrf}, "mode": {"days"}, "days": {" 400 "}})
	if !strings.Contains(r.Body, `id="notice">The retention policy was saved. Events are kept 400d after Trail receives them, then removed.`) ||
		!strings.Contains(r.Body, `name="days" value="400"`) || !strings.Contains(r.Body, `value="days" checked`) {
		t.Errorf("after saving 400 days:\n%.3000s", r.Body)
	}
	if p := e.policyOfOrg("acme"); p.Retention != "400d" || p.LegalHold || p.Default {
		t.Fatalf("stored: %+v", p)
	}
	evs := e.eventsOfType("acme", "org.audit_log.policy_change")
	if len(evs) != 1 || evs[0].Actor.ID != "u_admin" || evs[0].Actor.Type != "user" ||
		evs[0].Metadata["retention"] != "400d" || evs[0].Metadata["old_retention"] != "forever" {
		t.Fatalf("policy_change events: %+v", evs)
	}

	// Legal hold on, with its reason (escaped on the page).
	r = e.savePolicy(c, url.Values{"csrf": {csrf}, "mode": {"days"}, "days": {"400"}, "legal_hold": {"true"}, "legal_hold_reason": {"case <9>"}})
	if !strings.Contains(r.Body, "Legal hold is on: nothing is removed (case &lt;9&gt;).") || !strings.Contains(r.Body, `value="true" checked`) {
		t.Errorf("after the hold:\n%.3000s", r.Body)
	}
	if p := e.policyOfOrg("acme"); p.Retention != "400d" || !p.LegalHold || p.LegalHoldReason != "case <9>" {
		t.Fatalf("stored: %+v", p)
	}

	// Hold off and forever: the reason left in the box is dropped with the hold.
	e.savePolicy(c, url.Values{"csrf": {csrf}, "mode": {"forever"}, "days": {"400"}, "legal_hold_reason": {"case <9>"}})
	if p := e.policyOfOrg("acme"); p.Retention != "forever" || p.LegalHold || p.LegalHoldReason != "" || p.Default {
		t.Fatalf("stored: %+v", p)
	}
	// A policy set through the API in hours shows as it is; the days box stays empty.
	if _, err := e.Svc.SetPolicy(t.Context(), "acme", audit.Policy{Retention: "12h"}, audit.Actor{Type: "token", ID: "k"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.policyPage(c, policyOf); !strings.Contains(r.Body, "Events are kept 12h after") || !strings.Contains(r.Body, `name="days" value=""`) {
		t.Errorf("a 12h policy:\n%.3000s", r.Body)
	}
	evs = e.eventsOfType("acme", "org.audit_log.policy_change")
	if len(evs) != 4 || evs[2].Metadata["old_legal_hold"] != true || evs[2].Metadata["legal_hold"] != false || evs[2].Actor.ID != "u_admin" {
		t.Fatalf("policy_change events: %+v", evs)
	}
}

func TestPolicyPageBadInput(t *testing.T) {
	e := newEnv(t)
	c := e.login("acme", "u_admin", "alice")
	_, csrf := e.policyPage(c, policyOf)
	long := strings.Repeat("x", audit.MaxLegalHoldReason+1)
	for _, tc := range []struct {
		name     string
		form     url.Values
		field    string // the id marked aria-invalid
		wantText string
	}{
		{"hold without reason", url.Values{"mode": {"days"}, "days": {"30"}, "legal_hold": {"true"}, "legal_hold_reason": {"  "}}, "policy-reason", "legal_hold_reason: required while legal_hold is true"},
		{"reason too long", url.Values{"mode": {"forever"}, "legal_hold": {"true"}, "legal_hold_reason": {long}}, "policy-reason", "at most 500"},
		{"no days", url.Values{"mode": {"days"}, "days": {""}}, "policy-days", "days: expected a whole number of days from 1 to 36500"},
		{"days not a number", url.Values{"mode": {"days"}, "days": {"1e3"}}, "policy-days", "days: expected a whole number"},
		{"negative days", url.Values{"mode": {"days"}, "days": {"-5"}}, "policy-days", "days: expected a whole number"},
		{"zero days", url.Values{"mode": {"days"}, "days": {"0"}}, "policy-days", "not a positive whole number"},
		{"over 100 years", url.Values{"mode": {"days"}, "days": {"36501"}}, "policy-days", "longer than 100 years"},
		{"no mode", url.Values{"days": {"30"}}, "policy-forever", "mode: choose Forever or a number of days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf", csrf)
			r := e.post(c, policyOf, tc.form)
			if r.Status != 400 || !strings.Contains(r.Body, `id="policy-error" role="alert">`) || !strings.Contains(r.Body, tc.wantText) {
				t.Fatalf("%d, want 400 with %q:\n%.3000s", r.Status, tc.wantText, r.Body)
			}
			if !strings.Contains(r.Body, `id="`+tc.field+`"`) || !regexpInvalid(r.Body, tc.field) {
				t.Errorf("%s is not marked invalid:\n%.3000s", tc.field, r.Body)
			}
			if days := tc.form.Get("days"); days != "" && !strings.Contains(r.Body, `name="days" value="`+strings.TrimSpace(days)+`"`) {
				t.Errorf("what was typed is not shown again")
			}
		})
	}
	if p := e.policyOfOrg("acme"); !p.Default || p.Retention != "forever" {
		t.Errorf("bad input stored a policy: %+v", p)
	}
	if evs := e.eventsOfType("acme", "org.audit_log.policy_change"); len(evs) != 0 {
		t.Errorf("bad input recorded a change: %+v", evs)
	}
}

// regexpInvalid says whether the element with id carries aria-invalid.
func regexpInvalid(body, id string) bool {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return false
	}
	end := strings.IndexByte(body[i:], '>')
	return end > 0 && strings.Contains(body[i:i+end], `aria-invalid="true"`)
}

// On SQLite, which cannot prune, a number of days is refused at the field.
func TestPolicyPageCannotPrune(t *testing.T) {
	e := newEnvWith(t, envOptions{sqlite: true})
	c := e.login("acme", "u_admin", "alice")
	r, csrf := e.policyPage(c, policyOf)
	if !strings.Contains(r.Body, "only Forever can be saved") {
		t.Errorf("the page does not say days cannot be saved here:\n%.3000s", r.Body)
	}
	r = e.post(c, policyOf, url.Values{"csrf": {csrf}, "mode": {"days"}, "days": {"30"}})
	if r.Status != 400 || !regexpInvalid(r.Body, "policy-days") || !strings.Contains(r.Body, "cannot prune") {
		t.Fatalf("%d:\n%.3000s", r.Status, r.Body)
	}
	if p := e.policyOfOrg("acme"); !p.Default {
		t.Errorf("stored: %+v", p)
	}
}

func TestPolicyPageRefusals(t *testing.T) {
	e := newEnv(t)
	admin := e.login("acme", "u_admin", "alice")
	_, csrf := e.policyPage(admin, policyOf)
	form := url.Values{"mode": {"days"}, "days": {"30"}}
	// No CSRF token, another session's, or from another site: 403.
	other := e.login("acme", "u_other", "other")
	_, otherCSRF := e.policyPage(other, policyOf)
	if r := e.post(admin, policyOf, form); r.Status != 403 {
		t.Errorf("without a token: %d", r.Status)
	}
	if r := e.post(admin, policyOf, url.Values{"csrf": {otherCSRF}, "mode": {"days"}, "days": {"30"}}); r.Status != 403 {
		t.Errorf("with another session's token: %d", r.Status)
	}
	if r := e.post(admin, policyOf, url.Values{"csrf": {csrf}, "mode": {"days"}, "days": {"30"}}, "Sec-Fetch-Site: cross-site"); r.Status != 403 {
		t.Errorf("from another site: %d", r.Status)
	}
	// Another org's session: 404, as for an org that does not exist.
	globex := e.login("globex", "u_g", "globex admin")
	_, gCSRF := e.policyPage(globex, strings.Replace(policyOf, "acme", "globex", 1))
	if r := e.post(globex, policyOf, url.Values{"csrf": {gCSRF}, "mode": {"days"}, "days": {"30"}}); r.Status != 404 {
		t.Errorf("POST with another org's session: %d", r.Status)
	}
	if r := e.do(globex, "GET", policyOf, nil); r.Status != 404 {
		t.Errorf("GET with another org's session: %d", r.Status)
	}
	// No session: not the page.
	if r := e.do(e.browser(), "GET", policyOf, nil); r.Status == 200 {
		t.Errorf("GET without a session: %d", r.Status)
	}
	if p := e.policyOfOrg("acme"); !p.Default {
		t.Errorf("a refused request stored a policy: %+v", p)
	}
	if evs := e.eventsOfType("acme", "org.audit_log.policy_change"); len(evs) != 0 {
		t.Errorf("a refused request recorded a change: %+v", evs)
	}
}

// TestBrowserRetentionPage: in Chromium, an admin goes from the audit-log
// page to Retention, sets 90 days with a legal hold, forgets the reason,
// sees the error at the field, gives it, and sees the notice; the policy
// is stored. Screenshots in light and dark.
func TestBrowserRetentionPage(t *testing.T) {
	tb := newTab(t)
	e := newEnv(t)
	e.ingest("acme", changeRole("ev-1", "alice", "bob"))
	tb.openLink(e.mint("acme", "u_admin", "alice"))
	tb.run(chromedp.Click("#retention-link", chromedp.ByQuery))
	tb.waitURL("/settings/audit-logs/retention")
	tb.run(chromedp.WaitReady("#policy-form", chromedp.ByQuery),
		chromedp.Click("#policy-limited", chromedp.ByQuery),
		chromedp.SendKeys("#policy-days", "90", chromedp.ByQuery),
		chromedp.Click("#policy-legal-hold", chromedp.ByQuery),
		chromedp.Click("#policy-submit", chromedp.ByQuery),
		chromedp.WaitReady("#policy-error", chromedp.ByQuery))
	var invalid bool
	tb.eval(`document.querySelector("#policy-reason").getAttribute("aria-invalid") === "true" && document.querySelector("#policy-days").value === "90"`, &invalid)
	if !invalid || !strings.Contains(tb.text("#policy-error"), "legal_hold_reason: required") {
		t.Fatalf("the missing reason is not shown at its field, with the days kept: %q", tb.text("#policy-error"))
	}
	if p := e.policyOfOrg("acme"); !p.Default {
		t.Fatalf("stored after an error: %+v", p)
	}
	tb.screenshot("retention-error-light", 1280, 900, "light")
	tb.run(chromedp.SendKeys("#policy-reason", "case 2026-17", chromedp.ByQuery),
		chromedp.Click("#policy-submit", chromedp.ByQuery),
		chromedp.WaitReady("#notice", chromedp.ByQuery))
	if got := tb.text("#notice"); !strings.Contains(got, "Events are kept 90d after Trail receives them, then removed. Legal hold is on: nothing is removed (case 2026-17).") {
		t.Errorf("notice: %q", got)
	}
	if p := e.policyOfOrg("acme"); p.Retention != "90d" || !p.LegalHold || p.LegalHoldReason != "case 2026-17" {
		t.Fatalf("stored: %+v", p)
	}
	tb.screenshot("retention-saved-dark", 1280, 900, "dark")
	tb.clean()
}
