// SPDX-License-Identifier: Apache-2.0

package web_test

// End-to-end tests in a real browser: chromedp drives Debian's Chromium
// (headless) against Trail on 127.0.0.1. They skip, saying why, when no
// Chromium is installed; CI installs it (.ci/run), so nothing skips there.
// Screenshots (light and dark, desktop and phone) are written to
// $TRAIL_TEST_ARTIFACTS, default $TMPDIR/trail-web-artifacts.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/trailaudit/trail/internal/demo"
)

// chromiumPath finds the browser: $TRAIL_CHROMIUM, else Debian's
// chromium on $PATH.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRAIL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser tests skipped: no chromium binary found (apt-get install chromium, or set TRAIL_CHROMIUM)")
	return ""
}

// tab is one browser tab and what it saw: dialogs, console messages,
// uncaught exceptions and the browser's log (CSP violations land there).
type tab struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	dialogs  []string
	console  []string
	problems []string
	docHdrs  map[string]http.Header // response headers of each document, by URL
}

// stepTimeout bounds each run of browser actions (tab.run): a browser
// that stops answering fails the test, while a slow machine, where a long
// test's hundreds of steps add up, does not.
const stepTimeout = time.Minute

// newTab starts a fresh headless Chromium with its own profile. Each run
// of actions may take stepTimeout; the test as a whole is bounded by go
// test's -timeout.
func newTab(t *testing.T) *tab {
	t.Helper()
	return newTabFor(t, 0)
}

// newTabFor is newTab with, unless timeout is 0, a bound on all the
// test's work in the browser.
func newTabFor(t *testing.T, timeout time.Duration) *tab {
	t.Helper()
	profile, err := os.MkdirTemp("", "trail-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	cancelTimeout := context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancelTimeout = context.WithTimeout(ctx, timeout)
	}
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		// Chromium's helpers may still be writing for a moment.
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	tb := &tab{t: t, ctx: ctx, docHdrs: map[string]http.Header{}}
	chromedp.ListenTarget(ctx, tb.listen)
	// The first run starts the browser, which lives as long as the
	// context this run is given: the tab's, without a step deadline.
	if err := chromedp.Run(ctx, cdplog.Enable(), runtime.Enable(), network.Enable()); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return tb
}

func (tb *tab) listen(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		tb.dialogs = append(tb.dialogs, ev.Message)
		go chromedp.Run(tb.ctx, page.HandleJavaScriptDialog(false))
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range ev.Args {
			args = append(args, string(a.Value))
		}
		tb.console = append(tb.console, string(ev.Type)+": "+strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		tb.problems = append(tb.problems, "exception: "+ev.ExceptionDetails.Text)
	case *cdplog.EventEntryAdded:
		// Error statuses are the pages under test; anything else at error
		// level (a CSP refusal above all) is a problem.
		if (ev.Entry.Level == cdplog.LevelError && !strings.HasPrefix(ev.Entry.Text, "Failed to load resource: the server responded with a status of")) ||
			strings.Contains(ev.Entry.Text, "Content Security Policy") {
			tb.problems = append(tb.problems, "log: "+ev.Entry.Text)
		}
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument {
			h := http.Header{}
			for k, v := range ev.Response.Headers {
				h.Set(k, fmt.Sprint(v))
			}
			tb.docHdrs[ev.Response.URL] = h
		}
	}
}

// run runs actions, failing the test on error or after stepTimeout.
func (tb *tab) run(actions ...chromedp.Action) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// painted waits until the page has rendered a frame with what has changed
// so far (the second animation frame from now: the first one's frame is
// then drawn).
func (tb *tab) painted() {
	tb.t.Helper()
	tb.await(`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, nil)
}

// eval evaluates a JavaScript expression into out.
func (tb *tab) eval(expr string, out any) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate(expr, out))
}

// text is the innerText of the element sel selects, read by the selector
// in the page (not by a node id, which goes stale when a form's answer
// replaces the document between the query and the read: "No node with
// given id found").
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	q, _ := json.Marshal(sel)
	expr := `(e => e ? e.innerText : null)(document.querySelector(` + string(q) + `))`
	deadline := time.Now().Add(10 * time.Second)
	for {
		var s *string
		tb.run(chromedp.Evaluate(expr, &s))
		if s != nil {
			return *s
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("browser: no element %s", sel)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitURL waits until the tab's URL contains s and the page is loaded.
func (tb *tab) waitURL(s string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		var href, state string
		// An evaluation that meets the navigation itself fails ("Inspected
		// target navigated or closed"): that is "not there yet", so ask again.
		ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
		last = chromedp.Run(ctx, chromedp.Evaluate(`location.href`, &href), chromedp.Evaluate(`document.readyState`, &state))
		cancel()
		if last == nil && strings.Contains(href, s) && state == "complete" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.t.Fatalf("the browser never reached a URL with %q (last error: %v)", s, last)
}

// navigate opens a URL and waits for its main element.
func (tb *tab) navigate(u string) {
	tb.t.Helper()
	tb.run(chromedp.Navigate(u), chromedp.WaitReady("#main", chromedp.ByQuery))
}

// clean fails the test if a dialog opened, a script failed or the CSP
// refused anything: the page itself must not trip its own policy.
func (tb *tab) clean() {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.dialogs) > 0 || len(tb.problems) > 0 {
		tb.t.Errorf("dialogs %q, problems %q", tb.dialogs, tb.problems)
	}
	for _, c := range tb.console {
		if strings.HasPrefix(c, "error") || strings.HasPrefix(c, "warning") {
			tb.t.Errorf("console: %s", c)
		}
	}
}

// screenshot saves what a width×height window shows, light or dark.
func (tb *tab) screenshot(name string, width, height int64, scheme string) {
	tb.t.Helper()
	dir := artifactsDir(tb.t)
	var buf []byte
	tb.run(
		emulation.SetDeviceMetricsOverride(width, height, 1, width < 600),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}),
		chromedp.Sleep(100*time.Millisecond),
		chromedp.CaptureScreenshot(&buf),
		emulation.ClearDeviceMetricsOverride(),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{}),
	)
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s", path)
}

// openLink opens a viewer link and confirms it, landing on the page.
func (tb *tab) openLink(link string) {
	tb.t.Helper()
	tb.navigate(link)
	if got := tb.text("#continue"); !strings.HasPrefix(got, "Continue to ") {
		tb.t.Fatalf("confirmation button says %q", got)
	}
	tb.run(chromedp.Click("#continue", chromedp.ByQuery))
	tb.waitURL("/settings/audit-logs")
	tb.run(chromedp.WaitReady("#events", chromedp.ByQuery))
}

// loadDemo loads a small demo history into org acme and returns its
// admin's id and name.
func loadDemo(t *testing.T, e *env) (id, name string) {
	t.Helper()
	for batch := range demo.Batches(demo.Options{Events: 400, Days: 30}) {
		if _, err := e.Svc.Ingest(context.Background(), "acme", batch); err != nil {
			t.Fatal(err)
		}
	}
	return demo.Admin()
}

func TestBrowserAuditLogPage(t *testing.T) {
	tb := newTab(t)
	e := newEnv(t)
	id, name := loadDemo(t, e)
	e.ingest("acme", changeRole("carol-1", "carol", "dave"), changeRole("carol-2", "carol", "erin"))
	link := e.mint("acme", id, name)
	tb.openLink(link)
	pageURL := e.URL + pageOf

	t.Run("rows and chart", func(t *testing.T) {
		var rows, bars, legend int
		tb.eval(`document.querySelectorAll("#events tbody.event").length`, &rows)
		tb.eval(`document.querySelectorAll("#chart .bars rect:not(.hit)").length`, &bars)
		tb.eval(`document.querySelectorAll(".legend li").length`, &legend)
		if rows != 50 || bars == 0 || legend != 7 {
			t.Errorf("rows %d, bars %d, legend %d; want 50 rows, some bars, 7 categories", rows, bars, legend)
		}
		var title string
		tb.eval(`document.querySelector("#chart .bar title").textContent`, &title)
		if !strings.Contains(title, "event") {
			t.Errorf("a bar's tooltip is %q", title)
		}
		if got := tb.text("#main h1"); got != "Audit logs" {
			t.Errorf("h1 = %q", got)
		}
		if who := tb.text(".who-name"); !strings.Contains(who, name) {
			t.Errorf("the header shows %q, want the admin %q", who, name)
		}
		var labelled bool
		tb.eval(`[...document.querySelectorAll("#filters input:not([type=hidden]), #filters select, .export-view select")].every(el => el.labels && el.labels.length > 0)`, &labelled)
		if !labelled {
			t.Errorf("a form control has no label")
		}
	})

	t.Run("screenshots", func(t *testing.T) {
		for _, s := range []struct {
			name   string
			w, h   int64
			scheme string
		}{{"desktop-light", 1280, 900, "light"}, {"desktop-dark", 1280, 900, "dark"}, {"phone-light", 390, 844, "light"}, {"phone-dark", 390, 844, "dark"}} {
			tb.screenshot(s.name, s.w, s.h, s.scheme)
		}
	})

	t.Run("filter by type", func(t *testing.T) {
		tb.run(chromedp.Evaluate(`(() => { const s = document.querySelector("#type"); s.value = "org.change_role"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`, nil))
		tb.waitURL("type=org.change_role")
		var types []string
		tb.eval(`[...document.querySelectorAll("#events a.type-link code")].map(c => c.textContent)`, &types)
		if len(types) == 0 {
			t.Fatal("no rows for type org.change_role")
		}
		for _, ty := range types {
			if ty != "org.change_role" {
				t.Errorf("row of type %q under type=org.change_role", ty)
			}
		}
	})

	t.Run("filter by search string", func(t *testing.T) {
		tb.navigate(pageURL)
		tb.run(chromedp.SendKeys("#q", "actor:carol type:org.change_role\n", chromedp.ByQuery))
		tb.waitURL("q=actor")
		var actors []string
		tb.eval(`[...document.querySelectorAll("#events .actor-name")].map(c => c.textContent)`, &actors)
		if len(actors) != 2 || actors[0] != "carol" || actors[1] != "carol" {
			t.Errorf("actors %q, want carol's 2 events", actors)
		}
		if got := tb.text("#count"); !strings.Contains(got, "newest first") {
			t.Errorf("count line %q", got)
		}
	})

	t.Run("older and newer", func(t *testing.T) {
		tb.navigate(pageURL)
		first := tb.rowSeqs()
		tb.run(chromedp.Click("#older", chromedp.ByQuery))
		tb.waitURL("before=")
		second := tb.rowSeqs()
		if len(second) != 50 || second[0] >= first[len(first)-1] {
			t.Errorf("Older: seqs %v… after %v…", head(second), head(first))
		}
		tb.run(chromedp.Click("#newer", chromedp.ByQuery))
		tb.waitURL("after=")
		if back := tb.rowSeqs(); fmt.Sprint(back) != fmt.Sprint(first) {
			t.Errorf("Newer after Older: %v…, want %v…", head(back), head(first))
		}
	})

	t.Run("details", func(t *testing.T) {
		tb.navigate(pageURL)
		var visible bool
		tb.eval(`document.querySelector("#events tr.detail").offsetParent !== null`, &visible)
		if visible {
			t.Fatal("details are open before any click")
		}
		// Clicking the row (not only its link) opens the details in place.
		tb.run(chromedp.Click("#events tbody.event:nth-of-type(3) td.c-desc", chromedp.ByQuery))
		tb.eval(`document.querySelector("#events tbody.event:nth-of-type(3) tr.detail").offsetParent !== null`, &visible)
		if !visible {
			t.Fatal("clicking a row did not open its details")
		}
		var shown string
		var seq int64
		tb.eval(`document.querySelector("#events tbody.event:nth-of-type(3) .event-json").textContent`, &shown)
		tb.eval(`Number(document.querySelector("#events tbody.event:nth-of-type(3)").id.slice(4))`, &seq)
		want := e.exportAPI(t)[seq]
		if shown != string(want) {
			t.Errorf("details JSON of seq %d:\n%s\nwant the stored bytes:\n%s", seq, shown, want)
		}
		var expanded string
		tb.eval(`document.querySelector("#events tbody.event:nth-of-type(3) a.type-link").getAttribute("aria-expanded")`, &expanded)
		if expanded != "true" {
			t.Errorf("aria-expanded = %q", expanded)
		}
		tb.screenshot("details-light", 1280, 900, "light")
		tb.run(chromedp.Click("#events tbody.event:nth-of-type(3) a.close-detail", chromedp.ByQuery))
		tb.eval(`document.querySelector("#events tbody.event:nth-of-type(3) tr.detail").offsetParent !== null`, &visible)
		if visible {
			t.Error("Close did not close the details")
		}
	})

	t.Run("keyboard", func(t *testing.T) {
		tb.navigate(pageURL)
		tb.run(chromedp.Focus("#events tbody.event:nth-of-type(2) a.type-link", chromedp.ByQuery), chromedp.KeyEvent("\r"))
		var visible bool
		tb.eval(`document.querySelector("#events tbody.event:nth-of-type(2) tr.detail").offsetParent !== null`, &visible)
		if !visible {
			t.Error("Enter on an event type did not open its details")
		}
	})

	t.Run("without JavaScript", func(t *testing.T) {
		tb.run(emulation.SetScriptExecutionDisabled(true))
		defer tb.run(emulation.SetScriptExecutionDisabled(false))
		tb.navigate(pageURL)
		tb.run(chromedp.Click("#events tbody.event:nth-of-type(4) a.type-link", chromedp.ByQuery))
		var visible bool
		tb.eval(`document.querySelector("#events tbody.event:nth-of-type(4) tr.detail").offsetParent !== null`, &visible)
		if !visible {
			t.Error("without JavaScript, the event type does not open the details")
		}
		tb.run(chromedp.SetValue("#category", "membership", chromedp.ByQuery), chromedp.Click("#apply", chromedp.ByQuery))
		tb.waitURL("category=membership")
		var cats []string
		tb.eval(`[...document.querySelectorAll("#events td.c-action .sub")].map(c => c.textContent.trim())`, &cats)
		if len(cats) == 0 {
			t.Fatal("no membership events")
		}
		for _, c := range cats {
			if c != "Membership & access control" {
				t.Errorf("category %q under category=membership", c)
			}
		}
	})

	t.Run("download JSON", func(t *testing.T) {
		tb.navigate(pageURL)
		dir := t.TempDir()
		done := make(chan string, 1)
		lctx, cancel := context.WithCancel(tb.ctx)
		defer cancel()
		chromedp.ListenTarget(lctx, func(ev any) {
			if p, ok := ev.(*browser.EventDownloadProgress); ok && p.State == browser.DownloadProgressStateCompleted {
				select {
				case done <- p.GUID:
				default:
				}
			}
		})
		tb.run(browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllowAndName).WithDownloadPath(dir).WithEventsEnabled(true),
			chromedp.Click("#download-json", chromedp.ByQuery))
		var guid string
		select {
		case guid = <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the download did not complete")
		}
		b, err := os.ReadFile(filepath.Join(dir, guid))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Format string            `json:"format"`
			Events []json.RawMessage `json:"events"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc.Format != "trail.export/v1" || len(doc.Events) < 400 {
			t.Fatalf("downloaded file: %v, format %q, %d events", err, doc.Format, len(doc.Events))
		}
		api := e.exportAPI(t)
		common := 0
		for _, raw := range doc.Events {
			var s struct{ Seq int64 }
			json.Unmarshal(raw, &s)
			if want, ok := api[s.Seq]; ok {
				common++
				if string(raw) != string(want) {
					t.Errorf("seq %d differs from the export API:\n%s\n%s", s.Seq, raw, want)
				}
			}
		}
		if common < len(doc.Events)-1 {
			t.Errorf("only %d of %d downloaded events are in the API export", common, len(doc.Events))
		}
		recorded := false
		for _, x := range e.eventsOfType("acme", "org.audit_log.export") {
			recorded = recorded || (x.RecordedBy == "trail" && x.Actor.Type == "user" && x.Actor.ID == id)
		}
		if !recorded {
			t.Errorf("the download was not recorded as %s's export", id)
		}
	})

	t.Run("security headers", func(t *testing.T) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		n := 0
		for u, h := range tb.docHdrs {
			if !strings.HasPrefix(u, e.URL) {
				continue
			}
			n++
			if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Frame-Options") != "DENY" ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("%s: headers %v", u, h)
			}
		}
		if n < 3 {
			t.Errorf("only %d documents seen", n)
		}
	})

	t.Run("no script errors", func(t *testing.T) { tb.clean() })

	t.Run("logout", func(t *testing.T) {
		tb.navigate(pageURL)
		tb.run(chromedp.Click("#logout", chromedp.ByQuery))
		tb.waitURL("/signed-out")
		tb.navigate(pageURL)
		if got := tb.text("h1"); got != "You are not signed in" {
			t.Errorf("the page after logout says %q", got)
		}
	})

	t.Run("spent link refused", func(t *testing.T) {
		tb.navigate(link)
		if got := tb.text("h1"); got != "This link has already been used" {
			t.Errorf("a spent link says %q", got)
		}
		var buttons int
		tb.eval(`document.querySelectorAll("#continue").length`, &buttons)
		if buttons != 0 {
			t.Error("a spent link still offers to continue")
		}
	})

	t.Run("other org refused", func(t *testing.T) {
		e.ingest("orgB", changeRole("b-1", "mallory", "eve"))
		tb.openLink(e.mint("acme", id, name))
		tb.navigate(e.URL + "/orgs/orgB/settings/audit-logs")
		if got := tb.text("h1"); got != "Page not found" {
			t.Errorf("orgB with acme's session says %q", got)
		}
		var body string
		tb.eval(`document.body.textContent`, &body)
		if strings.Contains(body, "mallory") {
			t.Error("orgB's events shown to acme's session")
		}
	})
}

// rowSeqs returns the seqs of the table's rows, in order.
func (tb *tab) rowSeqs() []int64 {
	tb.t.Helper()
	var seqs []int64
	tb.eval(`[...document.querySelectorAll("#events tbody.event")].map(b => Number(b.id.slice(4)))`, &seqs)
	return seqs
}

func head(s []int64) []int64 { return s[:min(3, len(s))] }

// exportAPI returns the org's events from the export API, by seq.
func (e *env) exportAPI(t *testing.T) map[int64]json.RawMessage {
	t.Helper()
	r := e.do(http.DefaultClient, "GET", "/api/v1/orgs/acme/export?format=json", nil, "Authorization: Bearer "+e.Admin)
	var doc struct {
		Events []json.RawMessage `json:"events"`
	}
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &doc) != nil {
		t.Fatalf("export API: %d", r.Status)
	}
	out := map[int64]json.RawMessage{}
	for _, raw := range doc.Events {
		var s struct{ Seq int64 }
		json.Unmarshal(raw, &s)
		out[s.Seq] = raw
	}
	return out
}

// payloads try to run script wherever a producer's text is shown.
var payloads = []string{
	`<script>window.__pwned="script"</script>`,
	`"><img src=x onerror="window.__pwned='img'">`,
	`javascript:window.__pwned='href'`,
	`<svg onload="window.__pwned='svg'"><script>window.__pwned='svg-script'</script></svg>`,
	`'><iframe srcdoc="<script>parent.__pwned='iframe'</script>"></iframe>`,
	`</textarea></title><a href="javascript:alert(1)" id="xss-a">x</a>`,
	`{{.}} ${alert(1)} <!-- --> ]]> <style>body{display:none}</style>`,
}

func TestBrowserXSS(t *testing.T) {
	tb := newTab(t)
	e := newEnv(t)
	var evs []string
	for i, p := range payloads {
		b, _ := json.Marshal(map[string]any{
			"id": fmt.Sprintf("xss-%d", i), "type": "repo.update_settings", "description": p,
			"actor":    map[string]string{"type": "user", "id": p, "name": p},
			"targets":  []map[string]string{{"type": "repo", "id": p, "name": p}},
			"client":   map[string]string{"ip": "81.2.69.160", "user_agent": p},
			"metadata": map[string]any{"setting": p, "list": []string{p}},
		})
		evs = append(evs, string(b))
	}
	e.ingest("acme", evs...)
	tb.openLink(e.mint("acme", "u_admin", payloads[1]))
	base := e.URL + pageOf
	// Reflected too: the search box, the filters and the error message.
	urls := []string{
		base,
		base + "?q=" + urlQuery(payloads[0]) + "&actor=" + urlQuery(payloads[1]),
		base + "?q=" + urlQuery(`"`+payloads[1]),
		base + "?event=" + urlQuery(payloads[3]),
		base + "?event=xss-1",
	}
	for _, u := range urls {
		tb.navigate(u)
		// Open every event's details, so that every field renders.
		tb.run(chromedp.Evaluate(`document.querySelectorAll("a.type-link").forEach(a => a.click())`, nil))
		tb.run(chromedp.Sleep(200 * time.Millisecond))
		var pwned any
		tb.eval(`window.__pwned === undefined ? null : String(window.__pwned)`, &pwned)
		if pwned != nil {
			t.Errorf("%s: a payload ran: __pwned = %v", u, pwned)
		}
		var injected []string
		tb.eval(`[...document.querySelectorAll("*")].flatMap(el =>
			[...el.attributes].filter(a => /^on/i.test(a.name) || /^\s*javascript:/i.test(a.value)).map(a => el.tagName + " " + a.name)
		).concat([...document.querySelectorAll("img, iframe, style, #xss-a, main svg:not(.chart):not(.icon)")].map(el => el.tagName),
			[...document.scripts].filter(s => !s.src.includes("/assets/app.js")).map(s => "SCRIPT " + s.textContent))`, &injected)
		if len(injected) > 0 {
			t.Errorf("%s: injected markup %q", u, injected)
		}
	}
	tb.navigate(base)
	var descs, names []string
	tb.eval(`[...document.querySelectorAll("#events .description")].map(d => d.textContent)`, &descs)
	tb.eval(`[...document.querySelectorAll("#events .actor-name")].map(d => d.textContent)`, &names)
	for _, p := range payloads {
		if !contains(descs, p) || !contains(names, p) {
			t.Errorf("payload %q is not shown literally as a description and an actor name", p)
		}
	}
	var jsonText string
	tb.eval(`document.querySelector("#row-1 .event-json").textContent`, &jsonText)
	if !strings.Contains(jsonText, `"description":"\"><img src=x onerror=\"window.__pwned='img'\">"`) {
		t.Errorf("the stored JSON is not shown literally: %s", jsonText)
	}
	tb.screenshot("xss-light", 1280, 900, "light")
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.dialogs) > 0 {
		t.Errorf("dialogs opened: %q", tb.dialogs)
	}
	for _, p := range tb.problems {
		t.Errorf("browser problem (a CSP violation means markup got through): %s", p)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func urlQuery(s string) string {
	r := strings.NewReplacer("%", "%25", "&", "%26", "#", "%23", "+", "%2B", " ", "%20", "\"", "%22", "<", "%3C", ">", "%3E", "'", "%27")
	return r.Replace(s)
}
