// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/api"
	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/catalog"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/geo/geotest"
	"github.com/trailaudit/trail/internal/ledger/ledgertest"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/ratelimit"
	"github.com/trailaudit/trail/internal/sqlite"
	"github.com/trailaudit/trail/internal/stream"
	"github.com/trailaudit/trail/internal/web"
)

// env is a running Trail as `trail serve` wires it: the log engine in a
// temporary directory, the service with a tiny DB-IP-named geolocation
// database, the JSON API and the web pages on one server on 127.0.0.1.
type env struct {
	t           *testing.T
	URL         string
	Store       audit.Store
	erasureID   string // authz_test.go
	Svc         *audit.Service
	Viewers     *audit.Viewers
	Streams     *stream.Manager
	streamID    string // a stream of org A (authz_test.go)
	freshStream string // a stream of org A made for one request (authz_test.go)
	Admin       string // an admin key serving every org
	Logs        *syncBuffer
	clock       *clock
}

// envOptions adjust newEnv.
type envOptions struct {
	publicURL string        // default the server's own URL
	linkTTL   time.Duration // default audit.DefaultLinkTTL
	sign      bool          // sign checkpoints (an Ed25519 key made for the test)
	limits    *ratelimit.Guard
	catalog   *catalog.Catalog // default catalog.Builtin()
	sqlite    bool             // the SQLite engine instead of the log engine (for what it refuses)
	deliver   bool             // run stream delivery (the Manager's Run), as trail serve does
	noStreams bool             // the pages without the stream Manager (a server that does not stream)
}

// clock is a settable clock for the viewer layer (links, sessions, the
// once-an-hour view record); zero means the real time.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func newEnv(t *testing.T) *env { return newEnvWith(t, envOptions{}) }

func newEnvWith(t *testing.T, opts envOptions) *env {
	t.Helper()
	dir := t.TempDir()
	var store audit.Store
	var err error
	if opts.sqlite {
		store, err = sqlite.Open(filepath.Join(dir, "data"), sqlite.Options{})
	} else {
		store, err = logstore.Open(filepath.Join(dir, "data"), logstore.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	locator, err := geo.Open(geotest.WriteDB(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, Store: store, Logs: &syncBuffer{}, clock: &clock{}}
	log := slog.New(slog.NewJSONHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewUnstartedServer(nil)
	e.URL = "http://" + srv.Listener.Addr().String()
	public := opts.publicURL
	if public == "" {
		public = e.URL
	}
	e.Viewers = audit.NewViewers(store, audit.ViewerConfig{PublicURL: public, LinkTTL: opts.linkTTL, Now: e.clock.now})
	a := api.New(api.Config{Logger: log, Viewers: e.Viewers, Limits: opts.limits})
	var integrity audit.IntegrityConfig
	if opts.sign {
		integrity.Signer, _ = ledgertest.Signer(t)
	}
	e.Svc = audit.NewService(audit.Config{Store: store, Locator: locator, Logger: log, Metrics: a.Metrics(), Integrity: integrity, Catalog: opts.catalog})
	a.SetService(e.Svc)
	// The stream routes work; nothing is delivered unless opts.deliver.
	e.Streams = stream.New(stream.Config{Service: e.Svc, Logger: log, AllowPrivate: true,
		Linger: 20 * time.Millisecond, Poll: 100 * time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: time.Second})
	a.SetStreams(e.Streams)
	stopStreams := func() {}
	if opts.deliver {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { e.Streams.Run(ctx); close(done) }()
		stopStreams = func() { cancel(); <-done }
	}
	pageStreams := e.Streams
	if opts.noStreams {
		pageStreams = nil
	}
	text, link := locator.Attribution()
	pages := web.New(web.Config{Service: e.Svc, Viewers: e.Viewers, Attribution: web.Attribution{Text: text, URL: link}, Logger: log, Limits: opts.limits, Streams: pageStreams})
	srv.Config.Handler = pages.Wrap(a)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		stopStreams()
		a.Close()
		e.Svc.Close()
		store.Close()
		locator.Close()
	})
	id, secret := audit.NewKeySecret()
	if err := store.CreateKey(context.Background(), audit.Key{ID: id, Scope: audit.ScopeAdmin, CreatedAt: time.Now()}, audit.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	e.Admin = secret
	return e
}

// reply is an HTTP response read whole.
type reply struct {
	Status int
	Header http.Header
	Body   string
}

// do sends a request with the given headers ("Key: value" pairs).
func (e *env) do(c *http.Client, method, path string, body io.Reader, headers ...string) reply {
	e.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = e.URL + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// browser returns a client with a cookie jar that does not follow
// redirects, as a browser's requests seen one at a time.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// ingest sends events (JSON objects) to org with the admin key.
func (e *env) ingest(org string, events ...string) {
	e.t.Helper()
	body := `{"events":[` + strings.Join(events, ",") + `]}`
	r := e.do(http.DefaultClient, "POST", "/api/v1/orgs/"+org+"/events", strings.NewReader(body),
		"Authorization: Bearer "+e.Admin, "Content-Type: application/json")
	if r.Status != 200 {
		e.t.Fatalf("ingest: %d %s", r.Status, r.Body)
	}
}

// mint asks the API for a viewer link for user of org.
func (e *env) mint(org, userID, name string) string {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"user": map[string]string{"id": userID, "name": name}})
	r := e.do(http.DefaultClient, "POST", "/api/v1/orgs/"+org+"/viewer-links", bytes.NewReader(body),
		"Authorization: Bearer "+e.Admin, "Content-Type: application/json")
	if r.Status != 201 {
		e.t.Fatalf("minting a viewer link: %d %s", r.Status, r.Body)
	}
	var out struct {
		URL       string `json:"url"`
		ExpiresAt string `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(r.Body), &out); err != nil {
		e.t.Fatal(err)
	}
	return out.URL
}

// login mints a link for user of org and spends it as a browser would;
// it returns the browser, now holding the session cookie.
func (e *env) login(org, userID, name string) *http.Client {
	e.t.Helper()
	c := e.browser()
	link := e.mint(org, userID, name)
	if r := e.do(c, "GET", link, nil); r.Status != 200 {
		e.t.Fatalf("GET link: %d %s", r.Status, r.Body)
	}
	r := e.do(c, "POST", link, nil, "Sec-Fetch-Site: same-origin", "Origin: "+e.URL)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/orgs/"+org+"/settings/audit-logs" {
		e.t.Fatalf("POST link: %d %q %s", r.Status, r.Header.Get("Location"), r.Body)
	}
	return c
}

var csrfPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page GETs the audit-log page of org and returns it with its CSRF token.
func (e *env) page(c *http.Client, org, query string) (reply, string) {
	e.t.Helper()
	path := "/orgs/" + org + "/settings/audit-logs"
	if query != "" {
		path += "?" + query
	}
	r := e.do(c, "GET", path, nil)
	m := csrfPattern.FindStringSubmatch(r.Body)
	if m == nil {
		return r, ""
	}
	return r, m[1]
}

// post sends a form as a same-origin browser form would.
func (e *env) post(c *http.Client, path string, form url.Values, headers ...string) reply {
	e.t.Helper()
	h := append([]string{"Content-Type: application/x-www-form-urlencoded", "Sec-Fetch-Site: same-origin", "Origin: " + e.URL}, headers...)
	return e.do(c, "POST", path, strings.NewReader(form.Encode()), h...)
}

// events returns every event of org, oldest first, as stored bytes.
func (e *env) events(org string) []json.RawMessage {
	e.t.Helper()
	var out []json.RawMessage
	err := e.Store.Scan(context.Background(), org, 0, 1<<40, audit.Filter{}, func(_ int64, data []byte) error {
		out = append(out, json.RawMessage(bytes.Clone(data)))
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// eventsOfType returns org's events of one type, decoded.
func (e *env) eventsOfType(org, typ string) []storedEvent {
	e.t.Helper()
	var out []storedEvent
	for _, raw := range e.events(org) {
		var s storedEvent
		if err := json.Unmarshal(raw, &s); err != nil {
			e.t.Fatal(err)
		}
		if s.Type == typ {
			out = append(out, s)
		}
	}
	return out
}

type storedEvent struct {
	Seq        int64          `json:"seq"`
	Type       string         `json:"type"`
	Actor      audit.Actor    `json:"actor"`
	Metadata   map[string]any `json:"metadata"`
	RecordedBy string         `json:"recorded_by"`
}

// changeRole is a valid org.change_role event by actor, from London; an
// empty id leaves the id out, for Trail to make one.
func changeRole(id, actor, member string) string {
	return eventJSON(id, map[string]any{
		"type":     "org.change_role",
		"actor":    map[string]string{"type": "user", "id": "u_" + actor, "name": actor},
		"targets":  []map[string]string{{"type": "user", "id": "u_" + member, "name": member}},
		"client":   map[string]string{"ip": "81.2.69.160", "user_agent": "trail-test"},
		"metadata": map[string]string{"old_role": "read", "new_role": "admin"},
	})
}

// repoCreate is a valid repo.create event, from Frankfurt, at occurred;
// an empty id leaves the id out.
func repoCreate(id, actor, repo string, occurred time.Time) string {
	return eventJSON(id, map[string]any{
		"type":        "repo.create",
		"actor":       map[string]string{"type": "user", "id": "u_" + actor, "name": actor},
		"targets":     []map[string]string{{"type": "repo", "id": "r_" + repo, "name": "acme/" + repo}},
		"client":      map[string]string{"ip": "2a02:26f0:1:2:3:4:5:6", "user_agent": "trail-test"},
		"occurred_at": occurred.UTC().Format(time.RFC3339),
	})
}

// eventJSON encodes an event, with id unless it is empty ("id": "" is a
// 422: a producer leaves the id out for Trail to make one).
func eventJSON(id string, ev map[string]any) string {
	if id != "" {
		ev["id"] = id
	}
	b, _ := json.Marshal(ev)
	return string(b)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
