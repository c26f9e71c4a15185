// SPDX-License-Identifier: Apache-2.0

package web_test

// The accessibility check: axe-core (npm package axe-core, the version
// pinned in testdata/axe/package.json) runs in the test browser on every
// state the page can be in, in light, dark and at phone width, and any
// violation fails the test with its rule, elements and help text.
//
// The page's CSP allows no script but its own, so the check's tab
// bypasses CSP (Page.setBypassCSP) to inject axe: the test browser only,
// the served headers stay as they are (TestBrowserAuditLogPage checks
// them, in a tab that keeps the CSP).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/stream"
)

// axeDefaultPath is where `npm ci --prefix internal/web/testdata/axe`
// (run by .ci/run) puts axe-core, relative to this package.
const axeDefaultPath = "testdata/axe/node_modules/axe-core/axe.min.js"

// axeTags are the rule sets the page must pass: WCAG 2.0 and 2.1, levels
// A and AA, and axe's best practices.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"}

// axeSource returns axe-core's script: $TRAIL_AXE_CORE, else the npm
// install under testdata. Without either the test skips, naming the
// package to install.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("TRAIL_AXE_CORE")
	if path == "" {
		path = axeDefaultPath
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("accessibility check skipped: npm package axe-core is not installed at %s (npm ci --prefix internal/web/testdata/axe, or set TRAIL_AXE_CORE to axe.min.js)", path)
	}
	if err != nil {
		t.Fatalf("reading axe-core: %v", err)
	}
	return string(b)
}

// viewMode is how the page is looked at: a window size and a colour scheme.
type viewMode struct {
	name   string
	w, h   int64
	scheme string
}

// axeModes are the modes every state is checked in. Phone width in dark is
// left out: the phone layout moves things but sets its colours from the
// same variables, and each mode costs seconds per state on a loaded machine.
var axeModes = []viewMode{
	{"light", 1280, 900, "light"},
	{"dark", 1280, 900, "dark"},
	{"phone", 390, 844, "light"},
}

// axeTab is a browser tab that bypasses the page's CSP, so that axe-core
// can be injected.
type axeTab struct {
	*tab
	src string
}

func newAxeTab(t *testing.T) *axeTab {
	t.Helper()
	src := axeSource(t)
	tb := newTabFor(t, 9*time.Minute)
	tb.run(page.Enable(), page.SetBypassCSP(true))
	return &axeTab{tab: tb, src: src}
}

// setMode emulates a window size and colour scheme. Motion is reduced, so
// no transition is caught halfway when the scheme changes.
func (tb *tab) setMode(m viewMode) {
	tb.t.Helper()
	tb.run(
		emulation.SetDeviceMetricsOverride(m.w, m.h, 1, m.w < 600),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{
			{Name: "prefers-color-scheme", Value: m.scheme},
			{Name: "prefers-reduced-motion", Value: "reduce"},
		}),
	)
	tb.painted()
}

// resetMode ends the emulation of setMode.
func (tb *tab) resetMode() {
	tb.t.Helper()
	tb.run(emulation.ClearDeviceMetricsOverride(), emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{}))
}

// await evaluates an expression that yields a promise, into out.
func (tb *tab) await(expr string, out any) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate(expr, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// axeViolation is one failed rule, as the test prints it.
type axeViolation struct {
	ID, Impact, Help, HelpURL string
	Nodes                     []struct{ Target, HTML, Summary string }
}

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s\n    %s", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    - %s\n      %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", "\n      "))
	}
	return b.String()
}

const axeRunJS = `(async () => {
	const r = await axe.run(%s, {runOnly: {type: "tag", values: %s}, resultTypes: ["violations"]});
	return r.violations.map(v => ({ID: v.id, Impact: v.impact || "", Help: v.help, HelpURL: v.helpUrl,
		Nodes: v.nodes.map(n => ({Target: n.target.map(String).join(" "), HTML: n.html, Summary: n.failureSummary || ""}))}));
})()`

// check runs axe-core on the page as it is now, in every view mode, and
// fails the test for each violation. state names the page state in the
// messages.
func (tb *axeTab) check(state string) {
	tb.t.Helper()
	tb.checkIn(state, "")
}

// checkIn is check for the part of the page that sel selects (all of it
// when sel is ""): for a state that only opens a part of a page already
// checked whole, which saves time on a loaded machine.
func (tb *axeTab) checkIn(state, sel string) {
	tb.t.Helper()
	context := "document"
	if sel != "" {
		context = strconv.Quote(sel)
	}
	var loaded bool
	tb.eval(`typeof window.axe === "object"`, &loaded)
	if !loaded {
		tb.eval(tb.src+"\n;typeof window.axe === \"object\"", &loaded)
		if !loaded {
			tb.t.Fatal("axe-core did not load into the page")
		}
	}
	tags := `["` + strings.Join(axeTags, `","`) + `"]`
	defer tb.resetMode()
	start := time.Now()
	defer func() { tb.t.Logf("axe: %s checked in %v", state, time.Since(start).Round(time.Millisecond)) }()
	for _, m := range axeModes {
		tb.setMode(m)
		var vs []axeViolation
		tb.await(fmt.Sprintf(axeRunJS, context, tags), &vs)
		for _, v := range vs {
			tb.t.Errorf("axe: %s, %s: %s", state, m.name, v)
		}
	}
}

// axeVersion is the version of the injected axe-core.
func (tb *axeTab) axeVersion() string {
	var v string
	tb.eval(`window.axe ? axe.version : ""`, &v)
	return v
}

// expect fails the test unless the page has an element matching sel:
// the state under check is the one meant.
func (tb *tab) expect(state, sel string) {
	tb.t.Helper()
	var n int
	tb.eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel), &n)
	if n == 0 {
		tb.t.Fatalf("%s: no %s on the page, so the state is not the one meant", state, sel)
	}
}

func TestBrowserAccessibility(t *testing.T) {
	tb := newAxeTab(t)
	e := newEnvWith(t, envOptions{deliver: true}) // a failing stream below
	id, name := loadDemo(t, e)
	e.ingest("acme", changeRole("carol-1", "carol", "dave"), changeRole("carol-2", "carol", "erin"))
	pageURL := e.URL + pageOf
	link := e.mint("acme", id, name)

	tb.navigate(link)
	tb.expect("link page", "#continue")
	tb.check("link page")
	t.Logf("axe-core %s, rules tagged %s", tb.axeVersion(), strings.Join(axeTags, ", "))

	tb.run(chromedp.Click("#continue", chromedp.ByQuery))
	tb.waitURL("/settings/audit-logs")
	tb.run(chromedp.WaitReady("#events", chromedp.ByQuery))
	tb.expect("signed in", "#chart .bar")
	tb.check("signed in")
	checkChartForScreenReaders(t, tb.tab)

	// part limits the check to what differs from the page checked whole
	// above, where that is one part ("" checks the whole page).
	states := []struct{ name, query, marker, part string }{
		{"filtered by search", "q=" + urlQuery("actor:carol type:org.change_role"), ".filter-query", ""},
		{"filtered by category, type and dates", "category=membership&type=org.change_role&from=2020-01-01&to=2030-12-31", "#clear", ""},
		{"no match", "q=" + urlQuery("actor:nobody-at-all"), "#state-nomatch", ""},
		{"invalid search", "q=" + urlQuery("created:yesterday-ish"), "#state-invalid", ""},
		{"invalid filter", "from=2026-13-45", "#form-error", ""},
		{"older page", "before=200", "#newer", ".table-card"},
		{"unknown event", "event=no-such-event", ".callout", ".callout"},
	}
	for _, s := range states {
		tb.navigate(pageURL + "?" + s.query)
		tb.expect(s.name, s.marker)
		tb.checkIn(s.name, s.part)
	}

	tb.navigate(pageURL)
	tb.run(chromedp.Click("#events tbody.event:nth-of-type(3) a.type-link", chromedp.ByQuery))
	tb.expect("event details open", "#events tr.detail.open")
	tb.checkIn("event details open", "#events tbody.event.open")

	tb.navigate(pageURL)
	tb.run(chromedp.Click("details.help summary", chromedp.ByQuery))
	tb.expect("search syntax open", "details.help[open]")
	tb.checkIn("search syntax open", "#filters")

	var evID string
	tb.eval(`document.querySelector("#events tbody.event .fields dd.mono").textContent`, &evID)
	tb.navigate(pageURL + "?event=" + urlQuery(evID))
	tb.expect("event linked", "#event")
	tb.checkIn("event linked", "#event")

	checkStreamingStates(t, tb, e)
	checkPolicyStates(tb, e)

	tb.navigate(e.URL + "/orgs/orgB/settings/audit-logs")
	tb.expect("other org", "#msg-title")
	tb.check("other org (404)")

	tb.navigate(pageURL)
	tb.run(chromedp.Click("#logout", chromedp.ByQuery))
	tb.waitURL("/signed-out")
	tb.run(chromedp.WaitReady("#main", chromedp.ByQuery))
	tb.expect("signed out", "#msg-title")
	tb.check("signed out")

	for _, s := range []struct{ name, url string }{
		{"not signed in", pageURL},
		{"spent link (410)", link},
		{"unknown link (404)", e.URL + "/link/tv_unknown"},
		{"no such page (404)", e.URL + "/orgs/acme/settings/no-such-page"},
	} {
		tb.navigate(s.url)
		tb.expect(s.name, "#msg-title")
		tb.check(s.name)
	}

	tb.navigate(e.mint("empty-org", "u_admin", "admin"))
	tb.run(chromedp.Click("#continue", chromedp.ByQuery))
	tb.waitURL("/settings/audit-logs")
	// Opening the page records a view, so a new org shows that one event:
	// the "No events yet" state cannot be reached through the page.
	tb.expect("a new org", ".pager .disabled")
	tb.check("a new org")

	// Retention (docs/retention.md): the policy line with a legal hold,
	// and an org whose every event was pruned.
	admin := audit.Actor{Type: "token", ID: "k", Name: "admin"}
	if _, err := e.Svc.SetPolicy(t.Context(), "acme", audit.Policy{Retention: "400d", LegalHold: true, LegalHoldReason: "case 7"}, admin); err != nil {
		t.Fatal(err)
	}
	tb.openLink(e.mint("acme", id, name))
	tb.expect("retention and legal hold", "#retention")
	tb.checkIn("retention and legal hold", ".table-card")
	e.ingest("pruned-org", changeRole("p-1", "alice", "bob"))
	if _, err := e.Svc.SetPolicy(t.Context(), "pruned-org", audit.Policy{Retention: "1s"}, admin); err != nil {
		t.Fatal(err)
	}
	tb.openLink(e.mint("pruned-org", "u_admin", "admin")) // records the view first
	st := e.Store.(*logstore.Store)
	if err := st.Seal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Prune(t.Context(), "pruned-org", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tb.navigate(e.URL + "/orgs/pruned-org/settings/audit-logs")
	tb.expect("every event pruned", "#state-pruned")
	tb.checkIn("every event pruned", ".table-card")

	// A quarantined org refuses new events, the page's own view records
	// included; a session's first view still shows the page, with its
	// banner (the view is not recorded: recordView).
	e.Svc.Quarantine("acme", "the test quarantined it")
	tb.openLink(e.mint("acme", id, name))
	tb.expect("quarantined", "#quarantine")
	tb.checkIn("quarantined", "#quarantine")
	tb.clean()
}

// artifactsDir is where browser tests leave screenshots.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TRAIL_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "trail-web-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkChartForScreenReaders checks what the accessibility tree, which
// screen readers read, makes of the chart: a named toolbar whose days are
// links named with their date and counts.
func checkChartForScreenReaders(t *testing.T, tb *tab) {
	t.Helper()
	if role, name := tb.axNode("#chart"); role != "toolbar" || name != "Activity" {
		t.Errorf("the chart is a %s named %q, want a toolbar named Activity", role, name)
	}
	var titles []string
	tb.eval(`[...document.querySelectorAll("#chart a.bar title")].map(t => t.textContent)`, &titles)
	for i, title := range titles {
		role, name := tb.axNode(fmt.Sprintf("#chart a.bar:nth-of-type(%d)", i+1))
		if role != "link" || !strings.Contains(name, strings.Split(title, "\n")[0]) {
			t.Errorf("day %d of the chart is a %s named %q, want a link named %q", i, role, name, title)
		}
	}
}

// axNode returns the role and accessible name of the element sel selects,
// from the browser's accessibility tree.
func (tb *tab) axNode(sel string) (role, name string) {
	tb.t.Helper()
	var nodes []*cdp.Node
	tb.run(chromedp.Nodes(sel, &nodes, chromedp.ByQuery))
	var ax []*accessibility.Node
	tb.run(chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		ax, err = accessibility.GetPartialAXTree().WithBackendNodeID(nodes[0].BackendNodeID).WithFetchRelatives(false).Do(ctx)
		return err
	}))
	if len(ax) == 0 {
		tb.t.Fatalf("%s is not in the accessibility tree", sel)
	}
	value := func(v *accessibility.Value) string {
		var s string
		if v != nil {
			json.Unmarshal(v.Value, &s)
		}
		return s
	}
	return value(ax[0].Role), value(ax[0].Name)
}

// checkStreamingStates checks the Streaming page's states: no
// destinations, the add form with a validation error, a secret shown
// once, destinations listed (active, paused, failing), a refused replay,
// a failed test, the delete confirmation.
func checkStreamingStates(t *testing.T, tb *axeTab, e *env) {
	t.Helper()
	rc := newReceiver(t)
	streamsURL := e.URL + streamsOf
	tb.navigate(streamsURL)
	tb.expect("streaming, no destinations", "#no-streams")
	tb.check("streaming, no destinations")

	tb.run(chromedp.SendKeys("#s-webhook-url", "ftp://nowhere.example/", chromedp.ByQuery), chromedp.Click("#add-submit", chromedp.ByQuery))
	tb.run(chromedp.WaitReady("#add-error", chromedp.ByQuery))
	tb.expect("add form with a validation error", "#add-form [aria-invalid=true]")
	tb.check("add form with a validation error")

	tb.run(chromedp.SetValue("#stream-name", "SIEM", chromedp.ByQuery), chromedp.SetValue("#s-webhook-url", rc.URL, chromedp.ByQuery),
		chromedp.Click("#add-submit", chromedp.ByQuery))
	tb.run(chromedp.WaitReady("#reveal-value", chromedp.ByQuery))
	tb.expect("secret shown once", "#reveal")
	tb.check("secret shown once")

	ctx, admin := context.Background(), audit.Actor{Type: "user", ID: "u_axe"}
	paused, _, err := e.Streams.Create(ctx, "acme", admin, []byte(`{"name":"Paused one","kind":"syslog","address":"127.0.0.1:9"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Streams.Pause(ctx, "acme", paused.ID, admin); err != nil {
		t.Fatal(err)
	}
	failing, _, err := e.Streams.Create(ctx, "acme", admin, []byte(`{"name":"Failing one","kind":"webhook","url":"http://127.0.0.1:9/","filter":"category:membership"}`))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failing stream", func() bool {
		v, err := e.Streams.Get(ctx, "acme", failing.ID)
		return err == nil && v.State == stream.StateFailing
	})
	tb.navigate(streamsURL)
	for _, state := range []string{"active", "paused", "failing"} {
		tb.expect("destinations listed", "[data-state="+state+"]")
	}
	tb.expect("destinations listed", ".last-error")
	tb.check("destinations listed")

	sel := "#stream-" + failing.ID
	tb.run(chromedp.Click(sel+" details.replay summary", chromedp.ByQuery),
		chromedp.SendKeys(sel+" .replay-form input[name=from]", "last tuesday\r", chromedp.ByQuery))
	tb.run(chromedp.WaitReady("#replay-error", chromedp.ByQuery))
	tb.checkIn("replay refused", "#streams")

	tb.run(chromedp.Click(sel+" button.test", chromedp.ByQuery))
	tb.run(chromedp.WaitReady("#alert", chromedp.ByQuery))
	tb.checkIn("test failed", "#alert")

	tb.navigate(streamsURL + "/" + failing.ID + "/delete")
	tb.expect("delete confirmation", "#confirm-delete")
	tb.check("delete confirmation")
}

// checkPolicyStates checks the Retention page's states: the form, the
// form with a validation error (a legal hold without its reason), and the
// notice after a change.
func checkPolicyStates(tb *axeTab, e *env) {
	tb.navigate(e.URL + policyOf)
	tb.expect("retention form", "#policy-form")
	tb.check("retention form")

	tb.run(chromedp.Click("#policy-legal-hold", chromedp.ByQuery), chromedp.Click("#policy-submit", chromedp.ByQuery))
	tb.run(chromedp.WaitReady("#policy-error", chromedp.ByQuery))
	tb.expect("retention form with a validation error", "#policy-reason[aria-invalid=true]")
	tb.check("retention form with a validation error")

	tb.run(chromedp.SendKeys("#policy-reason", "case 7", chromedp.ByQuery), chromedp.Click("#policy-submit", chromedp.ByQuery))
	tb.run(chromedp.WaitReady("#notice", chromedp.ByQuery))
	tb.checkIn("retention saved", "#notice")
}
