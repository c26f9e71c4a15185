// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/api"
	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/geo/geotest"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/ratelimit"
	"github.com/trailaudit/trail/internal/sqlite"
	"github.com/trailaudit/trail/internal/stream"
)

// env is a running Trail: the log engine (Trail's embedded store) in a
// temporary data directory, the real Service with a tiny geolocation database, and the
// API on a real HTTP server on 127.0.0.1.
type env struct {
	t     *testing.T
	URL   string
	Data  string // the data directory
	Store audit.Store
	Svc   *audit.Service
	Logs  *syncBuffer // everything Trail logged
	Ready atomic.Bool
	Admin string // an admin key serving every org
	// Streams delivers the org's streams, to private addresses too.
	Streams *stream.Manager
}

// envOptions adjust newEnv.
type envOptions struct {
	// wrap, if set, wraps the store the service uses.
	wrap func(audit.Store) audit.Store
	// limits, if set, are the API's request limits.
	limits *ratelimit.Guard
	// reg, if set, is the API's metrics registry.
	reg *prometheus.Registry
	// sqlite stores in the SQLite engine instead of the log engine (for
	// what that engine refuses).
	sqlite bool
}

func newEnv(t *testing.T) *env { return newEnvWith(t, envOptions{}) }

func newEnvWith(t *testing.T, opts envOptions) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, Data: filepath.Join(dir, "data"), Logs: &syncBuffer{}}
	var store audit.Store
	var err error
	if opts.sqlite {
		store, err = sqlite.Open(e.Data, sqlite.Options{})
	} else {
		store, err = logstore.Open(e.Data, logstore.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	locator, err := geo.Open(geotest.WriteDB(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := opts.reg
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	var s audit.Store = store
	if opts.wrap != nil {
		s = opts.wrap(store)
	}
	e.Store = store
	e.Svc = audit.NewService(audit.Config{Store: s, Locator: locator, Logger: log, Metrics: api.CommitMetrics(reg),
		Integrity: audit.IntegrityConfig{Signer: testSigner(t)}})
	e.Ready.Store(true)
	a := api.New(api.Config{Service: e.Svc, Logger: log, Registry: reg, Ready: e.Ready.Load, Limits: opts.limits})
	e.Streams = stream.New(stream.Config{Service: e.Svc, Logger: log, AllowPrivate: true,
		Poll: 50 * time.Millisecond, Linger: time.Millisecond, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	a.SetStreams(e.Streams)
	streamCtx, stopStreams := context.WithCancel(context.Background())
	streamsDone := make(chan struct{})
	go func() { e.Streams.Run(streamCtx); close(streamsDone) }()
	srv := httptest.NewServer(checkContract(t, a)) // contract_test.go
	e.URL = srv.URL
	t.Cleanup(func() {
		stopStreams()
		<-streamsDone
		srv.Close()
		a.Close()
		e.Svc.Close()
		store.Close()
		locator.Close()
	})
	e.Admin = e.key(audit.ScopeAdmin, "")
	return e
}

// key creates a key and returns its secret.
func (e *env) key(scope audit.Scope, org string) string {
	return e.keyWith(audit.Key{Scope: scope, Org: org})
}

// keyWith creates k (ID and CreatedAt filled in) and returns its secret.
func (e *env) keyWith(k audit.Key) string {
	e.t.Helper()
	id, secret := audit.NewKeySecret()
	k.ID, k.Name, k.CreatedAt = id, "test "+string(k.Scope), time.Now()
	if err := e.Store.CreateKey(context.Background(), k, audit.HashSecret(secret)); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// keyID returns the id of the key whose secret is given.
func (e *env) keyID(secret string) string {
	e.t.Helper()
	k, err := e.Store.KeyByHash(context.Background(), audit.HashSecret(secret))
	if err != nil {
		e.t.Fatal(err)
	}
	return k.ID
}

// client returns an API client using key.
func (e *env) client(key string) *client.Client { return client.New(e.URL, key) }

// size returns the number of events in org's log.
func (e *env) size(org string) int64 {
	e.t.Helper()
	n, err := e.Store.Size(context.Background(), org)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// ingest sends events with the admin key and fails the test on error.
func (e *env) ingest(org string, events ...client.Event) []client.Ack {
	e.t.Helper()
	acks, err := e.client(e.Admin).Ingest(context.Background(), org, events)
	if err != nil {
		e.t.Fatalf("ingest: %v", err)
	}
	return acks
}

// all lists every event of org, ascending, with the admin key.
func (e *env) all(org string) []json.RawMessage {
	e.t.Helper()
	var out []json.RawMessage
	opts := client.ListOptions{Order: client.Asc, Limit: 1000}
	for {
		p, err := e.client(e.Admin).List(context.Background(), org, opts)
		if err != nil {
			e.t.Fatalf("list: %v", err)
		}
		out = append(out, p.Events...)
		if p.NextCursor == "" {
			return out
		}
		opts.Cursor = p.NextCursor
	}
}

// reply is an HTTP response read whole.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// apiError decodes the body as the API's error shape.
func (r reply) apiError() (e struct {
	Code     string         `json:"code"`
	Message  string         `json:"message"`
	Details  []audit.Detail `json:"details"`
	Position *int           `json:"position"`
}) {
	var body struct {
		Error *struct {
			Code     string         `json:"code"`
			Message  string         `json:"message"`
			Details  []audit.Detail `json:"details"`
			Position *int           `json:"position"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &body); err == nil && body.Error != nil {
		e = *body.Error
	}
	return e
}

// do sends a raw request; contentType "" sends none.
func (e *env) do(method, path, key, contentType string, body []byte) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// doAuth sends a request with the Authorization header as given.
func (e *env) doAuth(method, path, authorization string) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	return e.send(req)
}

// send sends req and reads the reply whole.
func (e *env) send(req *http.Request) reply {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// rawAuth sends a GET with the Authorization header as given and returns
// the status.
func (e *env) rawAuth(path, authorization string) int {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// get sends a GET with key.
func (e *env) get(path, key string) reply { return e.do("GET", path, key, "", nil) }

// asAPIError fails the test unless err is an *client.APIError.
func asAPIError(t *testing.T, err error) *client.APIError {
	t.Helper()
	ae, ok := err.(*client.APIError)
	if !ok {
		t.Fatalf("got error %v (%T), want *client.APIError", err, err)
	}
	return ae
}

// changeRole is a valid org.change_role event.
func changeRole(id, member string) client.Event {
	return client.Event{
		ID:       id,
		Type:     "org.change_role",
		Actor:    client.Actor{Type: "user", ID: "u_alice", Name: "alice"},
		Targets:  []client.Target{{Type: "user", ID: "u_" + member, Name: member}},
		Client:   client.ClientInfo{IP: "81.2.69.160", UserAgent: "trail-test"},
		Metadata: map[string]any{"old_role": "read", "new_role": "admin"},
	}
}

// repoCreate is a valid repo.create event.
func repoCreate(id, repo string) client.Event {
	return client.Event{
		ID:      id,
		Type:    "repo.create",
		Actor:   client.Actor{Type: "user", ID: "u_bob", Name: "bob"},
		Targets: []client.Target{{Type: "repo", ID: "r_" + repo, Name: "acme/" + repo}},
		Client:  client.ClientInfo{IP: "2a02:26f0:1:2:3:4:5:6", UserAgent: "trail-test"},
	}
}

// stored is the part of a stored event the tests look at.
type stored struct {
	ID          string        `json:"id"`
	Org         string        `json:"org"`
	Seq         int64         `json:"seq"`
	Type        string        `json:"type"`
	Category    string        `json:"category"`
	Description string        `json:"description"`
	Client      *audit.Client `json:"client"`
	Location    *struct {
		CountryCode string `json:"country_code"`
		City        string `json:"city"`
	} `json:"location"`
	Metadata   map[string]any `json:"metadata"`
	RecordedBy string         `json:"recorded_by"`
}

func decodeStored(t *testing.T, raw []byte) stored {
	t.Helper()
	var s stored
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("decoding event %s: %v", raw, err)
	}
	return s
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

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// orgPath fills the {org} and {id} of a route pattern.
func orgPath(pattern, org, id string) string {
	return strings.NewReplacer("{org}", org, "{id}", id).Replace(pattern)
}
