// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/trailaudit/trail/internal/stream"
)

// The Streaming page's server side: each action through the page, with
// what it stores and records; CSRF; refusals; bad input.

const streamsOf = "/orgs/acme/settings/audit-logs/streams"

// streamsPage GETs org's Streaming page and returns it with its CSRF token.
func (e *env) streamsPage(c *http.Client, org string) (reply, string) {
	e.t.Helper()
	r := e.do(c, "GET", "/orgs/"+org+"/settings/audit-logs/streams", nil)
	m := csrfPattern.FindStringSubmatch(r.Body)
	if m == nil {
		return r, ""
	}
	return r, m[1]
}

// streamsOfOrg lists org's streams through the Manager.
func (e *env) streamsOfOrg(org string) []stream.View {
	e.t.Helper()
	list, err := e.Streams.List(context.Background(), org)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// webhookForm is the add form for a webhook to u.
func webhookForm(csrf, name, u string) url.Values {
	return url.Values{"csrf": {csrf}, "name": {name}, "kind": {"webhook"}, "format": {""}, "filter": {""}, "webhook.url": {u}}
}

// signedInWithWebhook signs an admin of acme in and adds a webhook named
// name to u through the page; it returns the browser and its CSRF token.
func (e *env) signedInWithWebhook(name, u string) (*http.Client, string) {
	e.t.Helper()
	c := e.login("acme", "u_admin", "alice")
	_, csrf := e.streamsPage(c, "acme")
	if r := e.post(c, streamsOf, webhookForm(csrf, name, u)); r.Status != 200 {
		e.t.Fatalf("add: %d\n%s", r.Status, pageError(r.Body))
	}
	return c, csrf
}

var revealPattern = regexp.MustCompile(`id="reveal-value" class="mono" value="([^"]+)"`)

func TestStreamsPageAddListAndSecretOnce(t *testing.T) {
	e := newEnv(t)
	c := e.login("acme", "u_admin", "alice")
	r, csrf := e.streamsPage(c, "acme")
	if r.Status != 200 || !strings.Contains(r.Body, `id="no-streams"`) || !strings.Contains(r.Body, `id="add-form"`) {
		t.Fatalf("empty Streaming page: %d\n%.2000s", r.Status, r.Body)
	}
	if p, _ := e.page(c, "acme", ""); !strings.Contains(p.Body, `href="`+streamsOf+`" id="streaming-link"`) {
		t.Error("the audit-log page has no link to the Streaming page")
	}

	form := webhookForm(csrf, "SIEM <prod>", "http://127.0.0.1:9/hook")
	form.Set("filter", "category:membership")
	r = e.post(c, streamsOf, form)
	if r.Status != 200 {
		t.Fatalf("add: %d\n%.3000s", r.Status, r.Body)
	}
	m := revealPattern.FindStringSubmatch(r.Body)
	if m == nil || !strings.HasPrefix(m[1], "whsec_") {
		t.Fatalf("the new webhook's secret is not shown:\n%.3000s", r.Body)
	}
	secret := m[1]
	if strings.Contains(r.Body, "SIEM <prod>") || !strings.Contains(r.Body, "SIEM &lt;prod&gt;") {
		t.Error("the destination's name is not escaped")
	}
	list := e.streamsOfOrg("acme")
	if len(list) != 1 || list[0].Name != "SIEM <prod>" || list[0].Kind != "webhook" || list[0].Format != "json" ||
		list[0].Filter != "category:membership" || list[0].Settings["url"] != "http://127.0.0.1:9/hook" {
		t.Fatalf("stored: %+v", list)
	}
	// The same audit event as over the API, by the signed-in admin.
	evs := e.eventsOfType("acme", "org.audit_log.stream.create")
	if len(evs) != 1 || evs[0].Actor.ID != "u_admin" || evs[0].Actor.Type != "user" || evs[0].Metadata["stream"] != list[0].ID {
		t.Fatalf("create events: %+v", evs)
	}
	// Once: never again, neither on the page nor in the log.
	r, _ = e.streamsPage(c, "acme")
	if strings.Contains(r.Body, secret) || strings.Contains(r.Body, `id="reveal"`) {
		t.Error("the secret is shown again")
	}
	for _, raw := range e.events("acme") {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the secret is in the log: %s", raw)
		}
	}
	for _, want := range []string{`id="stream-` + list[0].ID + `"`, `data-state="active"`, "nothing yet", `<span class="lag-events">`, "category:membership", "http://127.0.0.1:9/hook"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the list lacks %s:\n%.3000s", want, r.Body)
		}
	}

	// Ed25519: the public key, once.
	form = webhookForm(csrf, "signed", "http://127.0.0.1:9/ed")
	form.Set("webhook.signing", "ed25519")
	form.Set("format", "ocsf")
	r = e.post(c, streamsOf, form)
	if m := revealPattern.FindStringSubmatch(r.Body); r.Status != 200 || m == nil || !strings.HasPrefix(m[1], "whpk_") {
		t.Fatalf("ed25519 webhook: %d, no public key shown", r.Status)
	}
	if l := e.streamsOfOrg("acme"); len(l) != 2 || l[1].Format != "ocsf" || l[1].Settings["signing"] != "ed25519" {
		t.Fatalf("stored: %+v", l)
	}
}

func TestStreamsPageOtherKinds(t *testing.T) {
	e := newEnv(t)
	c := e.login("acme", "u_admin", "alice")
	_, csrf := e.streamsPage(c, "acme")
	for _, tc := range []struct {
		kind   string
		fields map[string]string
		check  func(v stream.View) bool
	}{
		{"syslog", map[string]string{"address": "127.0.0.1:6514", "tls": "true", "app_name": "acme", "ack": "close"},
			func(v stream.View) bool {
				return v.Format == "cef" && v.Settings["tls"] == true && v.Settings["ack"] == "close" && v.Settings["app_name"] == "acme"
			}},
		{"s3", map[string]string{"endpoint": "http://127.0.0.1:9000", "region": "us-east-1", "bucket": "audit", "prefix": "trail",
			"access_key_id": "AKIA", "secret_access_key": "s3cr3t-value", "path_style": "true"},
			func(v stream.View) bool { return v.Settings["bucket"] == "audit" && v.Settings["path_style"] == true }},
		{"nats", map[string]string{"url": "nats://127.0.0.1:4222", "subject": "audit.acme", "token": "nats-token-value"},
			func(v stream.View) bool { return v.Settings["subject"] == "audit.acme" }},
		{"splunk", map[string]string{"url": "http://127.0.0.1:8088", "token": "splunk-token-value", "index": "audit"},
			func(v stream.View) bool { return v.Settings["index"] == "audit" }},
		{"datadog", map[string]string{"url": "http://127.0.0.1:8089", "api_key": "dd-key-value", "service": "trail", "gzip": "false"},
			func(v stream.View) bool { return v.Settings["service"] == "trail" }},
	} {
		form := url.Values{"csrf": {csrf}, "name": {tc.kind + " one"}, "kind": {tc.kind}}
		for k, v := range tc.fields {
			form.Set(tc.kind+"."+k, v)
		}
		// Another kind's fields, filled in a form shown without script,
		// are not sent to this kind.
		form.Set("webhook.url", "https://elsewhere.example/")
		r := e.post(c, streamsOf, form)
		if r.Status != 200 || !strings.Contains(r.Body, `id="notice"`) {
			t.Fatalf("%s: %d\n%.3000s", tc.kind, r.Status, pageError(r.Body))
		}
		if strings.Contains(r.Body, `id="reveal"`) {
			t.Errorf("%s: a reveal box, for a kind that reveals nothing", tc.kind)
		}
		list := e.streamsOfOrg("acme")
		v := list[len(list)-1]
		if v.Kind != tc.kind || !tc.check(v) {
			t.Errorf("%s: stored %+v", tc.kind, v)
		}
		for k, val := range tc.fields {
			if strings.Contains(k, "token") || strings.Contains(k, "key") && k != "access_key_id" {
				if strings.Contains(r.Body, val) {
					t.Errorf("%s: the secret %s is on the page", tc.kind, k)
				}
			}
		}
	}
}

// pageError is the error paragraph of a page, or the page.
func pageError(body string) string {
	if i := strings.Index(body, `class="form-error"`); i >= 0 {
		return body[i:min(len(body), i+400)]
	}
	return body
}

func TestStreamsPageBadInputStoresNothing(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.signedInWithWebhook("taken", "http://127.0.0.1:9/")
	creates := len(e.eventsOfType("acme", "org.audit_log.stream.create"))
	long := strings.Repeat("n", stream.MaxNameLen+1)
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		field  string // the id of the input marked invalid
		says   string
	}{
		{"no name", webhookForm(csrf, " ", "http://127.0.0.1:9/"), 422, "stream-name", "name: expected"},
		{"long name", webhookForm(csrf, long, "http://127.0.0.1:9/"), 422, "stream-name", "at most 100 bytes"},
		{"name in use", webhookForm(csrf, "taken", "http://127.0.0.1:9/"), 409, "stream-name", "taken"},
		{"unknown kind", url.Values{"csrf": {csrf}, "name": {"x"}, "kind": {"carrier-pigeon"}}, 422, "stream-kind", "kind: expected one of"},
		{"format of another kind", with(webhookForm(csrf, "x", "http://127.0.0.1:9/"), "format", "cef"), 422, "stream-format", "format: expected"},
		{"bad filter", with(webhookForm(csrf, "x", "http://127.0.0.1:9/"), "filter", `actor:"unclosed`), 422, "stream-filter", "filter: invalid search string"},
		{"no url", webhookForm(csrf, "x", ""), 422, "s-webhook-url", "url: required"},
		{"ftp url", webhookForm(csrf, "x", "ftp://127.0.0.1/"), 422, "s-webhook-url", "url: an https:// URL"},
		{"plain http to the internet", webhookForm(csrf, "x", "http://siem.example.com/"), 422, "s-webhook-url", "url: an https:// URL"},
		{"bad signing", with(webhookForm(csrf, "x", "http://127.0.0.1:9/"), "webhook.signing", "rot13"), 422, "s-webhook-signing", "signing: expected"},
		{"s3 without bucket", url.Values{"csrf": {csrf}, "name": {"x"}, "kind": {"s3"}, "s3.region": {"us-east-1"},
			"s3.access_key_id": {"a"}, "s3.secret_access_key": {"b"}}, 422, "s-s3-bucket", "bucket: required"},
		{"syslog tls not a bool", url.Values{"csrf": {csrf}, "name": {"x"}, "kind": {"syslog"}, "syslog.address": {"127.0.0.1:514"},
			"syslog.tls": {"maybe"}}, 422, "s-syslog-tls", "tls: expected true or false"},
	} {
		r := e.post(c, streamsOf, tc.form)
		if r.Status != tc.status {
			t.Errorf("%s: status %d, want %d\n%s", tc.name, r.Status, tc.status, pageError(r.Body))
			continue
		}
		errText := pageError(r.Body)
		if !strings.Contains(r.Body, `id="add-error" role="alert"`) || !strings.Contains(html.UnescapeString(errText), tc.says) {
			t.Errorf("%s: the page does not say %q:\n%s", tc.name, tc.says, errText)
		}
		field := tc.field
		if !regexp.MustCompile(`id="` + field + `"[^>]*aria-invalid="true"`).MatchString(r.Body) {
			t.Errorf("%s: the input %s is not marked invalid", tc.name, field)
		}
		// What was typed is kept, secrets aside.
		if n := tc.form.Get("name"); n != " " && n != long && !strings.Contains(r.Body, `value="`+html.EscapeString(n)+`"`) {
			t.Errorf("%s: the name typed is not kept", tc.name)
		}
		if strings.Contains(r.Body, `value="b"`) {
			t.Errorf("%s: a secret typed is sent back", tc.name)
		}
	}
	if l := e.streamsOfOrg("acme"); len(l) != 1 {
		t.Errorf("bad input stored streams: %+v", l)
	}
	if n := len(e.eventsOfType("acme", "org.audit_log.stream.create")); n != creates {
		t.Errorf("bad input recorded %d create events", n-creates)
	}
	// A form over the bound is refused whole.
	big := webhookForm(csrf, "big", "http://127.0.0.1:9/")
	big.Set("filter", strings.Repeat("a", 100<<10))
	if r := e.post(c, streamsOf, big); r.Status != 400 || !strings.Contains(r.Body, "larger than") {
		t.Errorf("an oversized form: %d\n%.500s", r.Status, r.Body)
	}
	if l := e.streamsOfOrg("acme"); len(l) != 1 {
		t.Errorf("an oversized form stored a stream")
	}
}

func with(v url.Values, k, val string) url.Values {
	v.Set(k, val)
	return v
}

// receiver is an HTTP endpoint on 127.0.0.1 that takes webhook
// deliveries and keeps their bodies.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, string(b))
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.bodies)
}

func TestStreamsPageActions(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t)
	e.ingest("acme", changeRole("", "alice", "bob"), changeRole("", "alice", "carol"))
	c, csrf := e.signedInWithWebhook("receiver", rc.URL+"/hook")
	id := e.streamsOfOrg("acme")[0].ID
	base := streamsOf + "/" + id
	tok := url.Values{"csrf": {csrf}}

	// Pause: back to the list, which says so; the same event as the API's.
	r := e.post(c, base+"/pause", tok)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != streamsOf+"?done=paused&stream="+id {
		t.Fatalf("pause: %d %q", r.Status, r.Header.Get("Location"))
	}
	if v, _ := e.Streams.Get(context.Background(), "acme", id); v.State != stream.StatePaused {
		t.Errorf("after pause the state is %s", v.State)
	}
	page := e.follow(c, r.Header.Get("Location"))
	if !strings.Contains(page.Body, `id="notice"`) || !strings.Contains(page.Body, "is paused") || !strings.Contains(page.Body, `data-state="paused"`) ||
		!strings.Contains(page.Body, `/resume"`) {
		t.Errorf("the page after pause:\n%.3000s", page.Body)
	}
	if evs := e.eventsOfType("acme", "org.audit_log.stream.pause"); len(evs) != 1 || evs[0].Actor.ID != "u_admin" || evs[0].Metadata["stream"] != id {
		t.Errorf("pause events: %+v", evs)
	}

	// Resume.
	r = e.post(c, base+"/resume", tok)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("resume: %d", r.Status)
	}
	if v, _ := e.Streams.Get(context.Background(), "acme", id); v.State != stream.StateActive {
		t.Errorf("after resume the state is %s", v.State)
	}
	if evs := e.eventsOfType("acme", "org.audit_log.stream.resume"); len(evs) != 1 {
		t.Errorf("resume events: %+v", evs)
	}

	// Replay from a seq, from a date, from a time in RFC 3339.
	for _, from := range []string{"0", "2020-01-01", "2020-01-01 09:30", "2020-01-01T09:30:00Z"} {
		r = e.post(c, base+"/replay", url.Values{"csrf": {csrf}, "from": {from}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("replay from %s: %d\n%s", from, r.Status, pageError(r.Body))
		}
	}
	evs := e.eventsOfType("acme", "org.audit_log.stream.replay")
	if len(evs) != 4 || evs[0].Metadata["from_seq"] != float64(0) {
		t.Errorf("replay events: %+v", evs)
	}
	// A bad replay says why at its field and records nothing.
	for _, tc := range []struct{ from, says string }{
		{"", "from: expected a seq"},
		{"yesterday-ish", "from: expected a seq"},
		{"-1", "from: expected a seq"},
		{strings.Repeat("1", 65), "from: expected a seq"},
		{"999999", "from_seq: expected 0 to"},
	} {
		r = e.post(c, base+"/replay", url.Values{"csrf": {csrf}, "from": {tc.from}})
		if r.Status != 422 || !strings.Contains(r.Body, `id="replay-error" role="alert"`) || !strings.Contains(pageError(r.Body), tc.says) ||
			!strings.Contains(r.Body, `id="replay-`+id+`" name="from"`) || !strings.Contains(r.Body, "<details class=\"replay\" open>") {
			t.Errorf("replay from %q: %d\n%s", tc.from, r.Status, pageError(r.Body))
		}
	}
	if n := len(e.eventsOfType("acme", "org.audit_log.stream.replay")); n != 4 {
		t.Errorf("bad replays recorded events: %d", n)
	}

	// Test: the outcome on the page, recorded.
	r = e.post(c, base+"/test", tok)
	if r.Status != 200 || !strings.Contains(r.Body, `id="notice"`) || !strings.Contains(r.Body, "Test delivery to “receiver” succeeded") {
		t.Errorf("test: %d\n%.3000s", r.Status, r.Body)
	}
	if rc.count() != 1 {
		t.Errorf("the receiver got %d deliveries from the test, want 1", rc.count())
	}
	rc.Close()
	r = e.post(c, base+"/test", tok)
	if r.Status != 200 || !strings.Contains(r.Body, `role="alert" id="alert"`) || !strings.Contains(r.Body, "Test delivery to “receiver” failed") {
		t.Errorf("failed test: %d\n%.3000s", r.Status, pageError(r.Body))
	}
	evs = e.eventsOfType("acme", "org.audit_log.stream.test")
	if len(evs) != 2 || evs[0].Metadata["ok"] != true || evs[1].Metadata["ok"] != false {
		t.Errorf("test events: %+v", evs)
	}

	// Delete: a confirmation first, then the POST.
	r = e.do(c, "GET", base+"/delete", nil)
	if r.Status != 200 || !strings.Contains(r.Body, `id="confirm-delete"`) || !strings.Contains(r.Body, "Delete “receiver”?") ||
		!strings.Contains(r.Body, `href="`+streamsOf+`" id="cancel-delete"`) {
		t.Fatalf("delete confirmation: %d\n%.2000s", r.Status, r.Body)
	}
	if len(e.streamsOfOrg("acme")) != 1 {
		t.Fatal("the confirmation deleted the stream")
	}
	r = e.post(c, base+"/delete", tok)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != streamsOf+"?done=deleted" {
		t.Fatalf("delete: %d %q", r.Status, r.Header.Get("Location"))
	}
	if l := e.streamsOfOrg("acme"); len(l) != 0 {
		t.Errorf("after delete: %+v", l)
	}
	if evs := e.eventsOfType("acme", "org.audit_log.stream.delete"); len(evs) != 1 || evs[0].Metadata["stream"] != id {
		t.Errorf("delete events: %+v", evs)
	}
	if page := e.follow(c, streamsOf+"?done=deleted"); !strings.Contains(page.Body, "was deleted") {
		t.Error("the page after delete does not say so")
	}
	// A deleted stream's actions are 404s.
	for _, a := range []string{"/pause", "/resume", "/test", "/delete"} {
		if r := e.post(c, base+a, tok); r.Status != 404 {
			t.Errorf("POST %s on a deleted stream: %d", a, r.Status)
		}
	}
	if r := e.do(c, "GET", base+"/delete", nil); r.Status != 404 {
		t.Errorf("GET delete of a deleted stream: %d", r.Status)
	}
}

func TestStreamsPageRefusals(t *testing.T) {
	e := newEnv(t)
	admin := e.login("acme", "u_admin", "alice")
	_, csrf := e.streamsPage(admin, "acme")
	if r := e.post(admin, streamsOf, webhookForm(csrf, "kept", "http://127.0.0.1:9/")); r.Status != 200 {
		t.Fatalf("add: %d", r.Status)
	}
	id := e.streamsOfOrg("acme")[0].ID
	base := streamsOf + "/" + id
	before := len(e.events("acme"))
	posts := map[string]url.Values{
		streamsOf:        webhookForm(csrf, "sneaky", "http://127.0.0.1:9/"),
		base + "/pause":  {"csrf": {csrf}},
		base + "/resume": {"csrf": {csrf}},
		base + "/replay": {"csrf": {csrf}, "from": {"0"}},
		base + "/test":   {"csrf": {csrf}},
		base + "/delete": {"csrf": {csrf}},
	}
	// Without the CSRF token, with another session's, or from another
	// site: 403, nothing done.
	other := e.login("acme", "u_other", "other admin")
	_, otherCSRF := e.streamsPage(other, "acme")
	for path, form := range posts {
		noToken := url.Values{}
		for k, v := range form {
			if k != "csrf" {
				noToken[k] = v
			}
		}
		if r := e.post(admin, path, noToken); r.Status != 403 {
			t.Errorf("POST %s without a CSRF token: %d", path, r.Status)
		}
		if r := e.post(admin, path, with(cloneForm(form), "csrf", otherCSRF)); r.Status != 403 {
			t.Errorf("POST %s with another session's token: %d", path, r.Status)
		}
		if r := e.post(admin, path, form, "Sec-Fetch-Site: cross-site"); r.Status != 403 {
			t.Errorf("POST %s from another site: %d", path, r.Status)
		}
	}
	// No session (no admin of this org signed in): 401; a session of
	// another org: 404, as for an org that does not exist; an API key,
	// even an admin one, opens no page.
	globex := e.login("globex", "u_g", "globex admin")
	_, gCSRF := e.streamsPage(globex, "globex")
	for path, form := range posts {
		if r := e.post(e.browser(), path, form); r.Status != 401 {
			t.Errorf("POST %s without a session: %d", path, r.Status)
		}
		if r := e.post(globex, path, with(cloneForm(form), "csrf", gCSRF)); r.Status != 404 {
			t.Errorf("POST %s with another org's session: %d", path, r.Status)
		}
		if r := e.post(e.browser(), path, form, "Authorization: Bearer "+e.Admin); r.Status != 401 {
			t.Errorf("POST %s with an admin key: %d", path, r.Status)
		}
		// The stream of acme through globex's own org: not found.
		gpath := strings.Replace(path, "/orgs/acme/", "/orgs/globex/", 1)
		if gpath != strings.Replace(streamsOf, "acme", "globex", 1) {
			if r := e.post(globex, gpath, with(cloneForm(form), "csrf", gCSRF)); r.Status != 404 {
				t.Errorf("POST %s (acme's stream through globex): %d", gpath, r.Status)
			}
		}
	}
	for _, path := range []string{streamsOf, base + "/delete"} {
		if r := e.do(e.browser(), "GET", path, nil); r.Status != 401 {
			t.Errorf("GET %s without a session: %d", path, r.Status)
		}
		if r := e.do(globex, "GET", path, nil); r.Status != 404 || strings.Contains(r.Body, "kept") {
			t.Errorf("GET %s with another org's session: %d", path, r.Status)
		}
	}
	if r, _ := e.streamsPage(globex, "globex"); strings.Contains(r.Body, id) || strings.Contains(r.Body, "kept") {
		t.Error("globex's Streaming page shows acme's destination")
	}
	l := e.streamsOfOrg("acme")
	if len(l) != 1 || l[0].State != stream.StateActive {
		t.Errorf("refused requests changed the streams: %+v", l)
	}
	var types []string // page views only: u_other's
	for _, raw := range e.events("acme")[before:] {
		var ev struct{ Type string }
		json.Unmarshal(raw, &ev)
		types = append(types, ev.Type)
	}
	if !onlyViews(types) {
		t.Errorf("refused requests recorded events: %v", types)
	}
	if l := e.streamsOfOrg("globex"); len(l) != 0 {
		t.Errorf("globex got streams: %+v", l)
	}
}

func onlyViews(types []string) bool {
	for _, t := range types {
		if t != "org.audit_log.view" {
			return false
		}
	}
	return true
}

func cloneForm(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// TestStreamsPageAgreesWithAPI: the page and the API share one Manager.
func TestStreamsPageAgreesWithAPI(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.signedInWithWebhook("one", "http://127.0.0.1:9/")
	r := e.do(http.DefaultClient, "GET", "/api/v1/orgs/acme/streams", nil, "Authorization: Bearer "+e.Admin)
	var out struct {
		Streams []stream.View `json:"streams"`
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil || len(out.Streams) != 1 || out.Streams[0].Name != "one" {
		t.Fatalf("the API lists %s", r.Body)
	}
	// A stream added over the API is on the page; a name taken over the
	// API is refused on the page.
	body := `{"name":"two","kind":"webhook","url":"http://127.0.0.1:9/"}`
	if r := e.do(http.DefaultClient, "POST", "/api/v1/orgs/acme/streams", strings.NewReader(body), "Authorization: Bearer "+e.Admin, "Content-Type: application/json"); r.Status != 201 {
		t.Fatalf("API create: %d %s", r.Status, r.Body)
	}
	page, _ := e.streamsPage(c, "acme")
	if !strings.Contains(page.Body, ">two</h3>") {
		t.Error("a stream added over the API is not on the page")
	}
	if r := e.post(c, streamsOf, webhookForm(csrf, "two", "http://127.0.0.1:9/")); r.Status != 409 {
		t.Errorf("a name taken over the API: %d", r.Status)
	}
}

// TestStreamsPageWithoutStreaming: the pages of a server without the
// stream Manager say so (503) and offer no link to it.
func TestStreamsPageWithoutStreaming(t *testing.T) {
	e := newEnvWith(t, envOptions{noStreams: true})
	c := e.login("acme", "u_admin", "alice")
	if p, _ := e.page(c, "acme", ""); p.Status != 200 || strings.Contains(p.Body, "streaming-link") {
		t.Errorf("the audit-log page: %d, with a Streaming link: %v", p.Status, strings.Contains(p.Body, "streaming-link"))
	}
	r, csrf := e.streamsPage(c, "acme")
	if r.Status != 503 || !strings.Contains(r.Body, "Streaming is not available") {
		t.Errorf("GET: %d\n%.500s", r.Status, r.Body)
	}
	if r := e.post(c, streamsOf, webhookForm(csrf, "x", "http://127.0.0.1:9/")); r.Status != 503 {
		t.Errorf("POST: %d", r.Status)
	}
	if l := e.streamsOfOrg("acme"); len(l) != 0 {
		t.Errorf("stored: %+v", l)
	}
}
