// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ratelimit"
)

// fakeClock is a settable clock for the limits, so that no bucket refills
// while a test runs, however slow the machine.
type fakeClock struct{ t atomic.Pointer[time.Time] }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	t := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c.t.Store(&t)
	return c
}

func (c *fakeClock) now() time.Time { return *c.t.Load() }
func (c *fakeClock) advance(d time.Duration) {
	t := c.now().Add(d)
	c.t.Store(&t)
}

// limitedEnv is an env whose API applies cfg on a fake clock.
func limitedEnv(t *testing.T, cfg ratelimit.Config) (*env, *fakeClock) {
	c := newFakeClock()
	cfg.Now = c.now
	return newEnvWith(t, envOptions{limits: ratelimit.New(cfg)}), c
}

// want429 checks a rate-limit refusal: 429, Retry-After in whole seconds,
// the JSON error shape with code rate_limited.
func want429(t *testing.T, what string, r reply) {
	t.Helper()
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if r.Status != 429 || err != nil || ra < 1 || r.apiError().Code != "rate_limited" || r.apiError().Message == "" {
		t.Errorf("%s: got %d, Retry-After %q, %s; want 429, Retry-After seconds, a rate_limited JSON error", what, r.Status, r.Header.Get("Retry-After"), truncate(r.Body))
	}
}

// TestIngestLimitStoresNothing: past its key's ingest bucket a batch gets
// 429 and nothing of it is stored; reads of the same key are counted
// apart, and another key is not affected.
func TestIngestLimitStoresNothing(t *testing.T) {
	e, clock := limitedEnv(t, ratelimit.Config{Ingest: ratelimit.Rate{PerMinute: 60, Burst: 2}, Read: ratelimit.Rate{PerMinute: 60, Burst: 5}})
	key, other := e.key(audit.ScopeAdmin, "acme"), e.key(audit.ScopeAdmin, "acme")
	ct, body := requestBody("POST")
	for i := range 2 {
		if r := e.do("POST", "/api/v1/orgs/acme/events", key, ct, body); r.Status != 200 {
			t.Fatalf("ingest %d within the burst: %d %s", i, r.Status, truncate(r.Body))
		}
	}
	size := e.size("acme")
	fresh := batchJSON(eventJSON(map[string]string{"id": `"never-stored"`}))
	want429(t, "third ingest", e.do("POST", "/api/v1/orgs/acme/events", key, ct, fresh))
	if got := e.size("acme"); got != size {
		t.Errorf("a limited batch was stored: size %d, want %d", got, size)
	}
	if r := e.get("/api/v1/orgs/acme/events/never-stored", key); r.Status != 404 {
		t.Errorf("the limited batch's event: %d, want 404", r.Status)
	}
	if r := e.get("/api/v1/orgs/acme/events", key); r.Status != 200 {
		t.Errorf("a read with the key whose ingest bucket is empty: %d; reads are counted apart", r.Status)
	}
	if r := e.do("POST", "/api/v1/orgs/acme/events", other, ct, fresh); r.Status != 200 {
		t.Errorf("another key: %d %s", r.Status, truncate(r.Body))
	}
	clock.advance(time.Second)
	if r := e.do("POST", "/api/v1/orgs/acme/events", key, ct, body); r.Status != 200 {
		t.Errorf("after a second (one token back): %d", r.Status)
	}
	for range 4 { // with the read above, the burst of 5
		e.get("/api/v1/orgs/acme/events", key)
	}
	want429(t, "read past its bucket", e.get("/api/v1/orgs/acme/events", key))
	m := e.get("/metrics", "")
	for _, s := range []string{`trail_rate_limited_total{limit="ingest"} 1`, `trail_rate_limited_total{limit="read"} 1`} {
		if !bytes.Contains(m.Body, []byte(s)) {
			t.Errorf("/metrics lacks %s", s)
		}
	}
}

// TestFailedAuthLimit: a client address that fails to authenticate 20
// times in a minute gets 429 for every keyed request, even with a good
// key, until the minute has passed.
func TestFailedAuthLimit(t *testing.T) {
	e, clock := limitedEnv(t, ratelimit.Config{AuthFailures: 20})
	good := e.key(audit.ScopeRead, "acme")
	for i := range 20 {
		if r := e.get("/api/v1/orgs/acme/events", "trail_wrongwrongwrongwrongwrongwrongwrong"); r.Status != 401 {
			t.Fatalf("failure %d: %d, want 401", i+1, r.Status)
		}
		clock.advance(time.Second)
	}
	want429(t, "21st attempt, wrong key", e.get("/api/v1/orgs/acme/events", "trail_wrongwrongwrongwrongwrongwrongwrong"))
	r := e.get("/api/v1/orgs/acme/events", good)
	want429(t, "good key from the blocked address", r)
	if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra != 40 {
		t.Errorf("Retry-After %d; want the 40 s left of the minute", ra)
	}
	if r := e.get("/api/v1/catalog", ""); r.Status != 200 {
		t.Errorf("a public route from the blocked address: %d", r.Status)
	}
	clock.advance(40 * time.Second)
	if r := e.get("/api/v1/orgs/acme/events", good); r.Status != 200 {
		t.Errorf("once the minute has passed: %d, want 200", r.Status)
	}
	if m := e.get("/metrics", ""); !bytes.Contains(m.Body, []byte(`trail_rate_limited_total{limit="auth_failures"} 2`)) {
		t.Error(`/metrics lacks trail_rate_limited_total{limit="auth_failures"} 2`)
	}
}

// TestAddressLimitOnPublicRoutes: keyless routes are limited per client
// address; the probes and /metrics are not.
func TestAddressLimitOnPublicRoutes(t *testing.T) {
	e, _ := limitedEnv(t, ratelimit.Config{Address: ratelimit.Rate{PerMinute: 1, Burst: 3}})
	for i := range 3 {
		if r := e.get("/api/v1/catalog", ""); r.Status != 200 {
			t.Fatalf("catalog %d: %d", i, r.Status)
		}
	}
	want429(t, "4th keyless request", e.get("/openapi.yaml", ""))
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if r := e.get(p, ""); r.Status != 200 {
			t.Errorf("%s past the address limit: %d; probes are not limited", p, r.Status)
		}
	}
}

// gatedStore holds every export's Scan of org "acme" until gate closes,
// and says on started when one began.
type gatedStore struct {
	audit.Store
	started chan struct{}
	gate    chan struct{}
}

func (s gatedStore) Scan(ctx context.Context, org string, from, to int64, f audit.Filter, fn func(int64, []byte) error) error {
	if org == "acme" {
		s.started <- struct{}{}
		select {
		case <-s.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.Store.Scan(ctx, org, from, to, f, fn)
}

// TestConcurrentExportsBound: an org may run ExportsPerOrg exports at
// once (API and Hub route together); one more gets 429 and records
// nothing; another org is not affected; slots free up as exports end.
func TestConcurrentExportsBound(t *testing.T) {
	gs := gatedStore{started: make(chan struct{}, 8), gate: make(chan struct{})}
	e := newEnvWith(t, envOptions{
		limits: ratelimit.New(ratelimit.Config{ExportsPerOrg: 2}),
		wrap:   func(s audit.Store) audit.Store { gs.Store = s; return gs },
	})
	e.ingest("acme", changeRole("", "bob"))
	e.ingest("other", changeRole("", "bob"))
	key := e.key(audit.ScopeRead, "")
	results := make(chan reply, 2)
	for _, p := range []string{"/api/v1/orgs/acme/export?format=ndjson", "/api/organizations/acme/audit-log/export"} {
		go func() { results <- e.get(p, key) }()
	}
	<-gs.started
	<-gs.started // both running, holding their slots
	size := e.size("acme")
	want429(t, "a third export of acme", e.get("/api/v1/orgs/acme/export", key))
	want429(t, "a third export through the Hub route", e.get("/api/organizations/acme/audit-log/export?format=json", key))
	if got := e.size("acme"); got != size {
		t.Errorf("a refused export was recorded: size %d, want %d", got, size)
	}
	if r := e.get("/api/v1/orgs/other/export", key); r.Status != 200 {
		t.Errorf("an export of another org: %d", r.Status)
	}
	close(gs.gate)
	for range 2 {
		if r := <-results; r.Status != 200 {
			t.Errorf("a running export: %d %s", r.Status, truncate(r.Body))
		}
	}
	if r := e.get("/api/v1/orgs/acme/export", key); r.Status != 200 {
		t.Errorf("after both exports ended: %d, want 200", r.Status)
	}
	if m := e.get("/metrics", ""); !bytes.Contains(m.Body, []byte(`trail_rate_limited_total{limit="exports"} 2`)) {
		t.Error(`/metrics lacks trail_rate_limited_total{limit="exports"} 2`)
	}
}

// TestManyConcurrentExports: 24 exports of two orgs at once, 4 allowed
// per org: each answer is a complete export of the right org with every
// event, or a 429; none hangs, none mixes orgs.
func TestManyConcurrentExports(t *testing.T) {
	e := newEnvWith(t, envOptions{limits: ratelimit.New(ratelimit.Config{ExportsPerOrg: 4})})
	for _, org := range []string{"orgA", "orgB"} {
		var evs []string
		for i := range 500 {
			evs = append(evs, eventJSON(map[string]string{"id": `"` + org + "-" + strconv.Itoa(i) + `"`}))
		}
		if r := e.do("POST", "/api/v1/orgs/"+org+"/events", e.Admin, "application/json", batchJSON(evs...)); r.Status != 200 {
			t.Fatalf("seeding %s: %d", org, r.Status)
		}
	}
	key := e.key(audit.ScopeRead, "")
	type result struct {
		org string
		r   reply
	}
	results := make(chan result)
	for i := range 24 {
		org := []string{"orgA", "orgB"}[i%2]
		go func() { results <- result{org, e.get("/api/v1/orgs/"+org+"/export", key)} }()
	}
	ok := map[string]int{}
	for range 24 {
		res := <-results
		switch res.r.Status {
		case 429:
			want429(t, "an export over the bound", res.r)
		case 200:
			var doc exportDoc
			if err := json.Unmarshal(res.r.Body, &doc); err != nil || doc.Org != res.org || doc.Size < 500 || len(doc.Events) != int(doc.Size) {
				t.Errorf("export of %s: %v, org %q, size %d, %d events", res.org, err, doc.Org, doc.Size, len(doc.Events))
			}
			for _, raw := range doc.Events {
				if ev := decodeStored(t, raw); ev.Org != res.org {
					t.Fatalf("an export of %s holds an event of %s", res.org, ev.Org)
				}
			}
			ok[res.org]++
		default:
			t.Errorf("export of %s: %d %s", res.org, res.r.Status, truncate(res.r.Body))
		}
	}
	if ok["orgA"] == 0 || ok["orgB"] == 0 {
		t.Errorf("complete exports per org: %v; want some of each", ok)
	}
}
