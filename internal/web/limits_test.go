// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/ratelimit"
)

// TestLinkFailuresLimited: opening unknown viewer links counts as failed
// authentication of the client address; past 20 a minute every link, a
// good one too, gets an HTML 429 page with Retry-After.
func TestLinkFailuresLimited(t *testing.T) {
	e := newEnvWith(t, envOptions{limits: ratelimit.New(ratelimit.Config{AuthFailures: 20})})
	good := e.mint("acme", "u_alice", "alice")
	bad := good[:strings.LastIndex(good, "/")+1] + "trailnotalinktoken0000000000000000000000"
	for i := range 20 {
		if r := e.do(http.DefaultClient, "GET", bad, nil); r.Status != 404 {
			t.Fatalf("unknown link %d: %d, want 404", i+1, r.Status)
		}
	}
	c := e.browser()
	r := e.do(c, "POST", good, nil, "Sec-Fetch-Site: same-origin", "Origin: "+e.URL)
	if r.Status != 429 || r.Header.Get("Retry-After") == "" || !strings.Contains(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(r.Body, "Too many requests") {
		t.Fatalf("a good link after 20 failures: %d %q %q; want an HTML 429 page with Retry-After", r.Status, r.Header.Get("Retry-After"), r.Header.Get("Content-Type"))
	}
	if r := e.do(http.DefaultClient, "GET", good, nil); r.Status != 429 {
		t.Errorf("GET of the good link: %d, want 429", r.Status)
	}
	// One guard serves pages and API: the address is blocked there too.
	if r := e.do(http.DefaultClient, "GET", "/api/v1/orgs/acme/events", nil, "Authorization: Bearer "+e.Admin); r.Status != 429 {
		t.Errorf("a keyed API request from the blocked address: %d, want 429 (one guard for API and pages)", r.Status)
	}
}

// TestLinkAddressLimit: viewer-link routes need no key, so they are
// limited per client address.
func TestLinkAddressLimit(t *testing.T) {
	e := newEnvWith(t, envOptions{limits: ratelimit.New(ratelimit.Config{Address: ratelimit.Rate{PerMinute: 0.001, Burst: 2}})})
	link := e.mint("acme", "u_alice", "alice")
	for i := range 2 {
		if r := e.do(http.DefaultClient, "GET", link, nil); r.Status != 200 {
			t.Fatalf("link confirmation %d: %d", i+1, r.Status)
		}
	}
	if r := e.do(http.DefaultClient, "GET", link, nil); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("third link page: %d %q, want 429 with Retry-After", r.Status, r.Header.Get("Retry-After"))
	}
}
