// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const pageOf = "/orgs/acme/settings/audit-logs"

func TestLinkIsBuiltFromThePublicURL(t *testing.T) {
	e := newEnvWith(t, envOptions{publicURL: "https://audit.example.com/"})
	r := e.do(http.DefaultClient, "POST", "/api/v1/orgs/acme/viewer-links", strings.NewReader(`{"user":{"id":"u1"}}`),
		"Authorization: Bearer "+e.Admin, "Host: evil.example", "X-Forwarded-Host: evil.example")
	if r.Status != 201 || !strings.Contains(r.Body, `"url":"https://audit.example.com/link/tv_`) || !strings.Contains(r.Body, `"expires_at":"`) {
		t.Errorf("POST viewer-links: %d %s; want a link on https://audit.example.com", r.Status, r.Body)
	}
	for _, body := range []string{``, `{}`, `{"user":{}}`, `{"user":{"id":"u1"},"x":1}`, `{"user":{"id":"a\u0000b"}}`, `{"user":{"id":"` + strings.Repeat("x", 300) + `"}}`} {
		r := e.do(http.DefaultClient, "POST", "/api/v1/orgs/acme/viewer-links", strings.NewReader(body), "Authorization: Bearer "+e.Admin)
		if r.Status != 400 || !strings.Contains(r.Body, `"invalid_request"`) {
			t.Errorf("POST viewer-links %q: %d %s; want 400", body, r.Status, r.Body)
		}
	}
}

func TestLinkFlowAndCookie(t *testing.T) {
	e := newEnv(t)
	c := e.browser()
	link := e.mint("acme", "u_alice", "alice")
	for range 2 { // a scanner's GET does not spend it
		r := e.do(c, "GET", link, nil)
		if r.Status != 200 || !strings.Contains(r.Body, "Continue to acme's audit logs") {
			t.Fatalf("GET link: %d, want 200 with the confirmation:\n%s", r.Status, r.Body)
		}
	}
	if r := e.do(c, "GET", pageOf, nil); r.Status != 401 {
		t.Fatalf("page before the link is spent: %d, want 401", r.Status)
	}
	r := e.do(c, "POST", link, nil, "Sec-Fetch-Site: same-origin")
	if r.Status != 303 || r.Header.Get("Location") != pageOf {
		t.Fatalf("POST link: %d %q", r.Status, r.Header.Get("Location"))
	}
	cookie := r.Header.Get("Set-Cookie")
	for _, want := range []string{"trail_session=tv_", "Path=/", "HttpOnly", "SameSite=Strict", "Max-Age="} {
		if !strings.Contains(cookie, want) {
			t.Errorf("Set-Cookie %q lacks %q", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("Set-Cookie %q is Secure on an http public URL", cookie)
	}
	if r := e.do(c, "GET", pageOf, nil); r.Status != 200 || !strings.Contains(r.Body, "Audit logs") {
		t.Fatalf("page with the session: %d", r.Status)
	}
	// Spent: refused with a page that says so, also in a fresh browser.
	for _, b := range []*http.Client{c, e.browser()} {
		for _, method := range []string{"GET", "POST"} {
			r := e.do(b, method, link, nil, "Sec-Fetch-Site: same-origin")
			if r.Status != 410 || !strings.Contains(r.Body, "already been used") {
				t.Errorf("%s of a spent link: %d, want 410 saying it was used", method, r.Status)
			}
		}
	}
	if strings.Contains(e.Logs.String(), "tv_") {
		t.Errorf("a link token or session id reached the log:\n%s", e.Logs)
	}
	for _, bad := range []string{"/link/tv_nope", "/link/" + strings.Repeat("x", 2000), "/link/"} {
		r := e.do(e.browser(), "GET", bad, nil)
		if r.Status != 404 || !strings.Contains(r.Body, "<h1") {
			t.Errorf("GET %.40s: %d, want an HTML 404", bad, r.Status)
		}
	}
}

func TestSecureCookieOnHTTPS(t *testing.T) {
	e := newEnvWith(t, envOptions{publicURL: "https://audit.example.com"})
	link := strings.Replace(e.mint("acme", "u1", "alice"), "https://audit.example.com", e.URL, 1)
	r := e.do(e.browser(), "POST", link, nil, "Origin: https://audit.example.com")
	cookie := r.Header.Get("Set-Cookie")
	if r.Status != 303 || !strings.HasPrefix(cookie, "__Host-trail_session=") || !strings.Contains(cookie, "Secure") {
		t.Errorf("POST link over an https public URL: %d, Set-Cookie %q; want a Secure __Host- cookie", r.Status, cookie)
	}
}

func TestExpiredLink(t *testing.T) {
	e := newEnvWith(t, envOptions{linkTTL: time.Minute})
	link := e.mint("acme", "u1", "alice")
	e.clock.advance(2 * time.Minute)
	for _, method := range []string{"GET", "POST"} {
		r := e.do(e.browser(), method, link, nil, "Sec-Fetch-Site: same-origin")
		if r.Status != 410 || !strings.Contains(r.Body, "expired") {
			t.Errorf("%s of an expired link: %d, want 410 saying it expired", method, r.Status)
		}
	}
}

func TestLinkRaceOneWinner(t *testing.T) {
	e := newEnv(t)
	link := e.mint("acme", "u1", "alice")
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", link, nil)
			resp, err := e.browser().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	wins := 0
	for _, s := range statuses {
		if s == 303 {
			wins++
		} else if s != 410 {
			t.Errorf("racing spend: status %d, want 303 or 410", s)
		}
	}
	if wins != 1 {
		t.Errorf("%d racing spends won, want 1 (%v)", wins, statuses)
	}
}

func TestCrossSiteRefused(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("e1", "alice", "bob"))
	// Login CSRF: another site cannot make a browser spend a link.
	link := e.mint("acme", "u1", "alice")
	for _, h := range []string{"Sec-Fetch-Site: cross-site", "Sec-Fetch-Site: same-site", "Origin: https://evil.example"} {
		if r := e.do(e.browser(), "POST", link, nil, h); r.Status != 403 {
			t.Errorf("POST link with %s: %d, want 403", h, r.Status)
		}
	}
	if r := e.do(e.browser(), "GET", link, nil); r.Status != 200 {
		t.Errorf("the link was spent by a refused request: GET %d", r.Status)
	}
	c := e.login("acme", "u1", "alice")
	_, token := e.page(c, "acme", "")
	if token == "" {
		t.Fatal("no CSRF token on the page")
	}
	exports := len(e.eventsOfType("acme", "org.audit_log.export"))
	wrong := "x" + token[1:] // another token: its first character changed
	if token[0] == 'x' {
		wrong = "y" + token[1:]
	}
	cases := []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"no token", url.Values{"format": {"json"}}, nil},
		{"wrong token", url.Values{"format": {"json"}, "csrf": {wrong}}, nil},
		{"cross-site", url.Values{"format": {"json"}, "csrf": {token}}, []string{"Sec-Fetch-Site: cross-site"}},
		{"other origin", url.Values{"format": {"json"}, "csrf": {token}}, []string{"Sec-Fetch-Site: ", "Origin: https://evil.example"}},
	}
	for _, tc := range cases {
		r := e.post(c, pageOf+"/export", tc.form, tc.headers...)
		if r.Status != 403 || r.Header.Get("Content-Disposition") != "" {
			t.Errorf("download with %s: %d, want 403 and no file", tc.name, r.Status)
		}
		if r := e.post(c, "/logout", tc.form, tc.headers...); r.Status != 403 {
			t.Errorf("logout with %s: %d, want 403", tc.name, r.Status)
		}
	}
	if got := len(e.eventsOfType("acme", "org.audit_log.export")); got != exports {
		t.Errorf("refused downloads recorded %d exports", got-exports)
	}
	// A GET cannot download.
	if r := e.do(c, "GET", pageOf+"/export?format=json", nil); r.Status != 405 {
		t.Errorf("GET export: %d, want 405", r.Status)
	}
	r := e.post(c, pageOf+"/export", url.Values{"format": {"json"}, "csrf": {token}})
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Disposition"), `attachment; filename="acme-audit-log-`) {
		t.Errorf("download with the token: %d %q", r.Status, r.Header.Get("Content-Disposition"))
	}
}

func TestDownloadIsRecordedAsTheUser(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("e1", "alice", "bob"), changeRole("e2", "alice", "carol"))
	c := e.login("acme", "u_admin", "Ada Admin")
	_, token := e.page(c, "acme", "")
	r := e.post(c, pageOf+"/export", url.Values{"format": {"csv"}, "csrf": {token}, "q": {"actor:alice"}})
	if r.Status != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(r.Body, "org.change_role") {
		t.Fatalf("CSV download: %d %q\n%s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	xs := e.eventsOfType("acme", "org.audit_log.export")
	if len(xs) != 1 {
		t.Fatalf("%d export events, want 1", len(xs))
	}
	x := xs[0]
	if x.Actor.Type != "user" || x.Actor.ID != "u_admin" || x.Actor.Name != "Ada Admin" || x.RecordedBy != "trail" ||
		x.Metadata["format"] != "csv" || x.Metadata["filter"] != "actor:alice" {
		t.Errorf("export event = %+v", x)
	}
}

func TestViewRecordedOncePerHour(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("e1", "alice", "bob"))
	c := e.login("acme", "u_admin", "Ada")
	for range 3 {
		if r, _ := e.page(c, "acme", ""); r.Status != 200 {
			t.Fatalf("page: %d", r.Status)
		}
	}
	views := e.eventsOfType("acme", "org.audit_log.view")
	if len(views) != 1 {
		t.Fatalf("%d view events after 3 views in a minute, want 1", len(views))
	}
	if a := views[0].Actor; a.Type != "user" || a.ID != "u_admin" || a.Name != "Ada" {
		t.Errorf("view actor = %+v", a)
	}
	e.clock.advance(61 * time.Minute)
	e.page(c, "acme", "q=type:org.change_role")
	views = e.eventsOfType("acme", "org.audit_log.view")
	if len(views) != 2 || views[1].Metadata["query"] != "type:org.change_role" {
		t.Errorf("after an hour: %d views (%+v), want 2, the second with its search", len(views), views)
	}
	// Another session of the same user is another session.
	c2 := e.login("acme", "u_admin", "Ada")
	e.page(c2, "acme", "")
	if got := len(e.eventsOfType("acme", "org.audit_log.view")); got != 3 {
		t.Errorf("a second session: %d views, want 3", got)
	}
	r, _ := e.page(c, "acme", "")
	if !strings.Contains(r.Body, "org.audit_log.view") {
		t.Errorf("the view events do not show in the table")
	}
}

func TestLogoutAndEndSessions(t *testing.T) {
	e := newEnv(t)
	alice := e.login("acme", "u_alice", "alice")
	alice2 := e.login("acme", "u_alice", "alice")
	bob := e.login("acme", "u_bob", "bob")
	_, token := e.page(alice, "acme", "")
	r := e.post(alice, "/logout", url.Values{"csrf": {token}})
	if r.Status != 303 || r.Header.Get("Location") != "/signed-out" || !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %q %q", r.Status, r.Header.Get("Location"), r.Header.Get("Set-Cookie"))
	}
	if r, _ := e.page(alice, "acme", ""); r.Status != 401 || !strings.Contains(r.Body, "not signed in") {
		t.Errorf("page after logout: %d, want 401", r.Status)
	}
	if r, _ := e.page(alice2, "acme", ""); r.Status != 200 {
		t.Errorf("alice's other session after logout: %d, want 200", r.Status)
	}
	r = e.do(http.DefaultClient, "DELETE", "/api/v1/orgs/acme/sessions?user=u_alice", nil, "Authorization: Bearer "+e.Admin)
	if r.Status != 200 || strings.TrimSpace(r.Body) != `{"ended":1}` {
		t.Errorf("DELETE sessions: %d %s, want {\"ended\":1}", r.Status, r.Body)
	}
	if r, _ := e.page(alice2, "acme", ""); r.Status != 401 {
		t.Errorf("alice's session after DELETE sessions: %d, want 401", r.Status)
	}
	if r, _ := e.page(bob, "acme", ""); r.Status != 200 {
		t.Errorf("bob's session after ending alice's: %d, want 200", r.Status)
	}
	if r := e.do(http.DefaultClient, "DELETE", "/api/v1/orgs/acme/sessions", nil, "Authorization: Bearer "+e.Admin); r.Status != 400 {
		t.Errorf("DELETE sessions without user: %d, want 400", r.Status)
	}
}

func TestSessionServesItsOrgOnly(t *testing.T) {
	e := newEnv(t)
	e.ingest("orgB", changeRole("b1", "mallory", "eve"))
	sizeB := len(e.events("orgB"))
	c := e.login("orgA", "u1", "alice")
	_, token := e.page(c, "orgA", "")
	absent, _ := e.page(c, "absent", "")
	for _, org := range []string{"orgB", "absent", "ORGA", "orgA.", "orgB%2F..%2ForgA"} {
		r, tok := e.page(c, org, "")
		if r.Status != 404 || tok != "" || strings.Contains(r.Body, "mallory") || r.Body != absent.Body {
			t.Errorf("orgA's session on %s: %d, want the 404 of an absent org", org, r.Status)
		}
		if r := e.post(c, "/orgs/"+org+"/settings/audit-logs/export", url.Values{"csrf": {token}, "format": {"json"}}); r.Status != 404 {
			t.Errorf("orgA's session downloading %s: %d, want 404", org, r.Status)
		}
	}
	if got := len(e.events("orgB")); got != sizeB {
		t.Errorf("orgB has %d events, want %d: nothing recorded there", got, sizeB)
	}
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	e := newEnv(t)
	c := e.login("acme", "u1", "alice")
	link := e.mint("acme", "u1", "alice")
	paths := []string{pageOf, pageOf + "?q=%22", link, "/link/tv_unknown", "/signed-out", "/assets/style.css", "/assets/app.js",
		"/assets/nope.css", "/orgs/acme/nothing", "/orgs/other/settings/audit-logs"}
	for _, p := range paths {
		for _, b := range []*http.Client{c, e.browser()} {
			r := e.do(b, "GET", p, nil)
			h := r.Header
			if h.Get("Content-Security-Policy") != "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("GET %s (%d): security headers %v", p, r.Status, h)
			}
			if strings.Contains(r.Body, "<script>") || strings.Contains(r.Body, " style=") || strings.Contains(r.Body, "<style") {
				t.Errorf("GET %s: inline script or style", p)
			}
		}
	}
	r := e.do(c, "GET", "/assets/style.css", nil)
	if r.Header.Get("Content-Type") != "text/css; charset=utf-8" || r.Header.Get("ETag") == "" {
		t.Errorf("style.css: %q %q", r.Header.Get("Content-Type"), r.Header.Get("ETag"))
	}
}

func TestPageStates(t *testing.T) {
	e := newEnv(t)
	c := e.login("acme", "u1", "alice")
	r, _ := e.page(c, "acme", "q=type:repo.delete")
	if r.Status != 200 || !strings.Contains(r.Body, `id="state-nomatch"`) {
		t.Errorf("no match: %d", r.Status)
	}
	r, _ = e.page(c, "acme", "q=actor:%22unterminated")
	if r.Status != 400 || !strings.Contains(r.Body, `id="state-invalid"`) || !strings.Contains(r.Body, "mistake at character 7") {
		t.Errorf("bad search: %d\n%s", r.Status, r.Body)
	}
	for _, q := range []string{"type=repo.nope", "category=nope", "country=QQ", "from=2026-13-01", "from=2026-02-01&to=2026-01-01", "before=-1", "after=x"} {
		if r, _ := e.page(c, "acme", q); r.Status != 400 {
			t.Errorf("%s: %d, want 400", q, r.Status)
		}
	}
	// A fresh org shows its one event: this very view.
	r, _ = e.page(c, "acme", "")
	if r.Status != 200 || !strings.Contains(r.Body, "alice viewed the audit log") {
		t.Errorf("the page does not show its own view event")
	}
}

func TestFiltersAndPaging(t *testing.T) {
	e := newEnv(t)
	base := time.Now().UTC().Add(-48 * time.Hour)
	var evs []string
	for i := range 120 {
		evs = append(evs, repoCreate("r"+strconv.Itoa(i), "bob", "model-"+strconv.Itoa(i), base.Add(time.Duration(i)*time.Minute)))
	}
	evs = append(evs, changeRole("c1", "alice", "carol"))
	e.ingest("acme", evs...)
	c := e.login("acme", "u1", "alice")
	r, _ := e.page(c, "acme", "type=repo.create")
	if got := strings.Count(r.Body, `<tbody class="event"`); got != 50 {
		t.Errorf("first page: %d rows, want 50", got)
	}
	if strings.Contains(r.Body, `id="newer"`) {
		t.Errorf("first page has a Newer link")
	}
	if !strings.Contains(r.Body, "acme/model-119<") || strings.Contains(r.Body, "acme/model-69<") {
		t.Errorf("first page is not the newest 50")
	}
	pages := []struct {
		rows         int
		first, last  int
		older, newer bool
	}{{50, 119, 70, true, false}, {50, 69, 20, true, true}, {20, 19, 0, false, true}}
	for i, want := range pages {
		if got := rowsOf(r.Body); got != want.rows {
			t.Fatalf("page %d: %d rows, want %d", i, got, want.rows)
		}
		for _, n := range []int{want.first, want.last} {
			if !strings.Contains(r.Body, "acme/model-"+strconv.Itoa(n)+"<") {
				t.Errorf("page %d lacks model-%d", i, n)
			}
		}
		if olderLink.MatchString(r.Body) != want.older || newerLink.MatchString(r.Body) != want.newer {
			t.Errorf("page %d: older %v newer %v, want %v %v", i, olderLink.MatchString(r.Body), newerLink.MatchString(r.Body), want.older, want.newer)
		}
		if m := olderLink.FindStringSubmatch(r.Body); m != nil {
			if !strings.Contains(m[1], "type=repo.create") {
				t.Errorf("the Older link %q drops the filter", m[1])
			}
			r = e.follow(c, m[1])
		}
	}
	// Back up from the last page: Newer shows the 50 just above it.
	r = e.follow(c, newerLink.FindStringSubmatch(r.Body)[1])
	if rowsOf(r.Body) != 50 || !strings.Contains(r.Body, "acme/model-69<") || !strings.Contains(r.Body, "acme/model-20<") {
		t.Errorf("Newer from the last page is not models 69..20")
	}
	r, _ = e.page(c, "acme", "q=actor:alice+type:org.change_role")
	if got := strings.Count(r.Body, `<tbody class="event"`); got != 1 || !strings.Contains(r.Body, "carol") {
		t.Errorf("search: %d rows", got)
	}
	r, _ = e.page(c, "acme", "category=membership")
	if !strings.Contains(r.Body, "1 event match") {
		t.Errorf("a category filter should show its count")
	}
}

var (
	olderLink = regexp.MustCompile(`<a class="btn" href="([^"]+)" rel="next" id="older">`)
	newerLink = regexp.MustCompile(`<a class="btn" href="([^"]+)" rel="prev" id="newer">`)
)

// follow GETs a link of the page (HTML-escaped href).
func (e *env) follow(c *http.Client, href string) reply {
	e.t.Helper()
	return e.do(c, "GET", html.UnescapeString(href), nil)
}

func rowsOf(body string) int { return strings.Count(body, `<tbody class="event"`) }

func TestGeolocationAttribution(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("e1", "alice", "bob"))
	c := e.login("acme", "u1", "alice")
	r, _ := e.page(c, "acme", "")
	if !strings.Contains(r.Body, `<a href="https://db-ip.com" rel="noopener noreferrer" target="_blank">IP Geolocation by DB-IP</a>`) ||
		!strings.Contains(r.Body, "London, United Kingdom") || !strings.Contains(r.Body, "81.2.69.0/24") {
		t.Errorf("a page showing DB-IP locations lacks the location or the attribution")
	}
	r, _ = e.page(c, "acme", "category=audit_log")
	if strings.Contains(r.Body, "IP Geolocation by DB-IP") {
		t.Errorf("the attribution shows on a page without locations")
	}
}
