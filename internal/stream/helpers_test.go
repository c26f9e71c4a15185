// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger/ledgertest"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/stream"
	"github.com/trailaudit/trail/verify"
)

// env is a Trail service on the log engine with checkpoint signing, and a
// stream Manager delivering for it.
type env struct {
	t     testing.TB
	store audit.Store
	svc   *audit.Service
	m     *stream.Manager
	vkey  string
}

var admin = audit.Actor{Type: "token", ID: "key_admin", Name: "admin key"}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv opens a store in a temporary directory and starts a Manager
// with short timings; cfg's Service is set here.
func newEnv(t testing.TB, cfg stream.Config) *env {
	e := newIdleEnv(t, cfg)
	e.run(e.m)
	return e
}

// newIdleEnv is newEnv with the Manager not running: nothing is delivered.
func newIdleEnv(t testing.TB, cfg stream.Config) *env {
	t.Helper()
	store, err := logstore.Open(t.TempDir(), logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newEnvOn(t, store, cfg)
}

func newEnvOn(t testing.TB, store audit.Store, cfg stream.Config) *env {
	t.Helper()
	signer, vkey := ledgertest.Signer(t)
	svc := audit.NewService(audit.Config{Store: store, Logger: quiet(),
		Integrity: audit.IntegrityConfig{Signer: signer, Every: 20 * time.Millisecond}})
	t.Cleanup(svc.Close)
	cfg.Service = svc
	cfg.Logger = quiet()
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.Poll, 50*time.Millisecond)
	def(&cfg.Linger, 5*time.Millisecond)
	def(&cfg.RetryMin, 5*time.Millisecond)
	def(&cfg.RetryMax, 40*time.Millisecond)
	return &env{t: t, store: store, svc: svc, m: stream.New(cfg), vkey: vkey}
}

// run runs m until the test ends.
func (e *env) run(m *stream.Manager) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
	return cancel
}

// ingest appends n org.change_role events to org.
func (e *env) ingest(org string, n int) {
	e.t.Helper()
	raws := make([]json.RawMessage, n)
	for i := range raws {
		raws[i] = json.RawMessage(fmt.Sprintf(`{"type":"org.change_role","actor":{"type":"user","id":"u1","name":"alice"},`+
			`"targets":[{"type":"user","id":"u%d","name":"bob"}],"metadata":{"old_role":"read","new_role":"admin"}}`, i))
	}
	if _, err := e.svc.Ingest(e.t.Context(), org, raws); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) size(org string) int64 {
	e.t.Helper()
	n, err := e.store.Size(e.t.Context(), org)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// create creates a stream from a JSON body and returns it and what it
// revealed.
func (e *env) create(org, body string) (stream.View, map[string]any) {
	e.t.Helper()
	v, reveal, err := e.m.Create(e.t.Context(), org, admin, []byte(body))
	if err != nil {
		e.t.Fatalf("Create(%s): %v", body, err)
	}
	return v, reveal
}

// eventually waits up to 30 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// types returns the types of org's events, in seq order.
func (e *env) types(org string) []string {
	e.t.Helper()
	var out []string
	err := e.store.Scan(e.t.Context(), org, 0, e.size(org), audit.Filter{}, func(_ int64, data []byte) error {
		var ev struct{ Type string }
		json.Unmarshal(data, &ev)
		out = append(out, ev.Type)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// delivery is one request the receiver accepted.
type delivery struct {
	Header http.Header
	Body   []byte
	Org    string            `json:"org"`
	Stream string            `json:"stream"`
	First  int64             `json:"first_seq"`
	Last   int64             `json:"last_seq"`
	Events []json.RawMessage `json:"events"`
	Check  string            `json:"checkpoint"`
}

// receiver is a webhook endpoint on 127.0.0.1. While fail is set it
// answers 503; check (if set) vets every request before it is accepted.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	got      []delivery
	fail     bool
	failures int
	check    func(body []byte, h http.Header) error
	inFlight int
	overlap  bool // two requests were in flight at once
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.inFlight++
	if r.inFlight > 1 {
		r.overlap = true
	}
	defer func() { r.inFlight--; r.mu.Unlock() }()
	if r.fail {
		r.failures++
		http.Error(w, "receiver down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if r.check != nil {
		if err := r.check(body, req.Header); err != nil {
			r.t.Errorf("delivery %s: %v", req.Header.Get("webhook-id"), err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	d := delivery{Header: req.Header.Clone(), Body: body}
	if err := json.Unmarshal(body, &d); err != nil {
		r.t.Errorf("delivery body is not the documented JSON: %v\n%s", err, body)
	}
	r.got = append(r.got, d)
}

func (r *receiver) setFail(v bool) {
	r.mu.Lock()
	r.fail = v
	r.mu.Unlock()
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// seqs returns the seq of every event received, in arrival order.
func (r *receiver) seqs() []int64 {
	var out []int64
	for _, d := range r.deliveries() {
		for _, ev := range d.Events {
			var x struct{ Seq int64 }
			json.Unmarshal(ev, &x)
			out = append(out, x.Seq)
		}
	}
	return out
}

// covered reports whether the deliveries cover seq 0 … n-1.
func (r *receiver) covered(n int64) bool {
	ds := r.deliveries()
	return len(ds) > 0 && ds[len(ds)-1].Last >= n-1
}

// events returns the distinct events received by seq.
func (r *receiver) events() map[int64][]byte {
	out := map[int64][]byte{}
	for _, d := range r.deliveries() {
		for _, ev := range d.Events {
			var x struct{ Seq int64 }
			json.Unmarshal(ev, &x)
			out[x.Seq] = ev
		}
	}
	return out
}

// checkComplete checks what a receiver can prove: the newest checkpoint
// it got is signed by Trail's key and its root is the root of the events
// it holds, 0 … size-1, recomputed from their exact bytes.
func checkComplete(t *testing.T, r *receiver, vkey string) int64 {
	t.Helper()
	var signed string
	for _, d := range r.deliveries() {
		if d.Check != "" {
			signed = d.Check
		}
	}
	if signed == "" {
		t.Fatal("no delivery carried a checkpoint")
	}
	_, size, root, err := verify.Checkpoint(signed, []string{vkey})
	if err != nil {
		t.Fatalf("checkpoint does not verify: %v", err)
	}
	events := r.events()
	var stored []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i := range size {
		ev, ok := events[i]
		if !ok {
			t.Fatalf("the receiver lacks seq %d of a size-%d checkpoint", i, size)
		}
		hs, err := tlog.StoredHashes(i, ev, hr)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	got, err := tlog.TreeHash(size, hr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:], root[:]) {
		t.Fatalf("root of the received events 0…%d differs from the signed checkpoint's", size-1)
	}
	return size
}

// inOrder checks that seqs only go up, except where a delivery was sent
// again whole (the same webhook-id: a retry after an unacknowledged
// attempt).
func inOrder(t *testing.T, seqs []int64) {
	t.Helper()
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("seqs out of order at %d: …%v…", i, seqs[max(0, i-3):min(len(seqs), i+3)])
		}
	}
}

func has(list []string, s string) bool { return slices.Contains(list, s) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
