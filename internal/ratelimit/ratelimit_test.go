// SPDX-License-Identifier: Apache-2.0

package ratelimit

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestKeyBucketsIngestAndReadApart(t *testing.T) {
	c := newClock()
	g := New(Config{Ingest: Rate{PerMinute: 60, Burst: 3}, Read: Rate{PerMinute: 60, Burst: 2}, Now: c.now})
	for i := range 3 {
		if r := g.Key("k1", true); r != nil {
			t.Fatalf("ingest request %d refused: %+v", i, r)
		}
	}
	r := g.Key("k1", true)
	if r == nil || r.Limit != LimitIngest || r.RetryAfterHeader() != "1" {
		t.Fatalf("4th ingest request: %+v; want refused, retry after 1s", r)
	}
	if r := g.Key("k1", false); r != nil {
		t.Errorf("a read after the ingest bucket emptied was refused: %+v", r)
	}
	if r := g.Key("k2", true); r != nil {
		t.Errorf("another key was refused: %+v", r)
	}
	c.advance(time.Second)
	if r := g.Key("k1", true); r != nil {
		t.Errorf("after a second (one token back): %+v", r)
	}
	if r := g.Key("k1", true); r == nil {
		t.Error("two requests on one refilled token")
	}
}

func TestAuthFailuresWindow(t *testing.T) {
	c := newClock()
	g := New(Config{AuthFailures: 20, Now: c.now})
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "198.51.100.7:4000"
	other := httptest.NewRequest("GET", "/", nil)
	other.RemoteAddr = "198.51.100.8:4000"
	for i := range 20 {
		if r := g.Blocked(req); r != nil {
			t.Fatalf("blocked after %d failures", i)
		}
		g.Failed(req)
		c.advance(time.Second)
	}
	r := g.Blocked(req)
	if r == nil || r.Limit != LimitAuth || r.RetryAfterHeader() != "40" {
		t.Fatalf("after 20 failures in 20s: %+v; want blocked for the 40s left of the minute", r)
	}
	if r := g.Blocked(other); r != nil {
		t.Errorf("another address is blocked: %+v", r)
	}
	c.advance(39 * time.Second)
	if g.Blocked(req) == nil {
		t.Error("unblocked before the minute passed")
	}
	c.advance(time.Second)
	if r := g.Blocked(req); r != nil {
		t.Errorf("still blocked once the minute passed: %+v", r)
	}
	g.Failed(req) // a new window
	if r := g.Blocked(req); r != nil {
		t.Errorf("one failure in a new window blocks: %+v", r)
	}
}

func TestClientAddr(t *testing.T) {
	g := New(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	cases := []struct{ remote, xff, want string }{
		{"203.0.113.5:1234", "", "203.0.113.5"},
		{"203.0.113.5:1234", "198.51.100.1", "203.0.113.5"}, // not from a trusted proxy: ignored
		{"10.1.2.3:1234", "198.51.100.1", "198.51.100.1"},
		{"10.1.2.3:1234", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // the forged left entry is not believed
		{"10.1.2.3:1234", "", "10.1.2.3"},
		{"10.1.2.3:1234", "garbage", "10.1.2.3"},
		{"[::ffff:203.0.113.5]:1234", "", "203.0.113.5"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := g.ClientAddr(r).String(); got != c.want {
			t.Errorf("RemoteAddr %s, X-Forwarded-For %q: got %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
	if a, b := addrKey(netip.MustParseAddr("2001:db8:1:2::1")), addrKey(netip.MustParseAddr("2001:db8:1:2:ffff::9")); a != b {
		t.Errorf("two addresses of one IPv6 /64 count apart: %s, %s", a, b)
	}
}

func TestTablesStayBounded(t *testing.T) {
	c := newClock()
	g := New(Config{Address: Rate{PerMinute: 60, Burst: 1}, AuthFailures: 5, Now: c.now})
	for i := range MaxEntries + 10 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = a.String() + ":1"
		g.Address(r)
		g.Failed(r)
	}
	if n := len(g.address.m); n > MaxEntries {
		t.Errorf("%d address buckets; want at most %d", n, MaxEntries)
	}
	if n := len(g.failures.m); n > MaxEntries {
		t.Errorf("%d failure windows; want at most %d", n, MaxEntries)
	}
}

func TestNilGuardAllows(t *testing.T) {
	var g *Guard
	r := httptest.NewRequest("GET", "/", nil)
	if g.Key("k", true) != nil || g.Address(r) != nil || g.Blocked(r) != nil {
		t.Error("a nil Guard refused")
	}
	g.Failed(r)
}

// BenchmarkKey is the cost a keyed request pays for its bucket.
func BenchmarkKey(b *testing.B) {
	g := New(Defaults())
	keys := []string{"key_a", "key_b", "key_c", "key_d"}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			g.Key(keys[i%len(keys)], true)
			i++
		}
	})
}
