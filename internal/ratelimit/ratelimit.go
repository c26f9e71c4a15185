// SPDX-License-Identifier: Apache-2.0

// Package ratelimit holds Trail's request limits: token buckets per API
// key (ingest and reads counted apart), per client address for what needs
// no key (viewer links, the public catalog), and a stricter window for
// failed authentication per client address. The JSON API and the web
// pages share one Guard, so a client address is counted once whichever
// it calls.
//
// Memory is bounded: idle entries are swept, and past MaxEntries the
// oldest-idle are dropped (a dropped entry starts full, which only ever
// lets a request through that a larger table would have refused).
package ratelimit

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Rate is a sustained rate with a burst: Burst requests at once, then
// PerMinute a minute. A zero PerMinute means no limit.
type Rate struct {
	PerMinute float64
	Burst     int
}

// Config says what to limit; the zero value of a field turns its limit
// off (Defaults holds the values `trail serve` starts with).
type Config struct {
	Ingest  Rate // per API key, ingest requests
	Read    Rate // per API key, every other keyed request
	Address Rate // per client address, requests that need no key
	// AuthFailures is how many failed authentications a client address
	// may have in AuthWindow; past it every request of that address that
	// needs a credential gets 429 until the window ends. 0: no limit.
	AuthFailures int
	AuthWindow   time.Duration // default one minute
	// ExportsPerOrg is how many exports of one org may run at once (API
	// and page downloads together); 0: no bound.
	ExportsPerOrg int
	// TrustedProxies are the peers whose X-Forwarded-For is believed: the
	// client address is then the right-most address in it that is not a
	// trusted proxy. Empty: the TCP peer is the client.
	TrustedProxies []netip.Prefix
	Now            func() time.Time // default time.Now
}

// Defaults are limits no normal producer or reader meets: 1,000 ingest
// requests a second per key (up to 1,000 events each), 100 reads a
// second per key, 2 keyless requests a second per address, 20 failed
// authentications a minute per address, and 4 exports of one org at once.
func Defaults() Config {
	return Config{
		Ingest:        Rate{PerMinute: 60_000, Burst: 2_000},
		Read:          Rate{PerMinute: 6_000, Burst: 200},
		Address:       Rate{PerMinute: 120, Burst: 60},
		AuthFailures:  20,
		ExportsPerOrg: 4,
	}
}

// Limit names one limit, as the metric's label and in messages.
type Limit string

// The limits a Guard applies.
const (
	LimitIngest  Limit = "ingest"
	LimitRead    Limit = "read"
	LimitAddress Limit = "address"
	LimitAuth    Limit = "auth_failures"
	LimitExports Limit = "exports"
)

var limits = []Limit{LimitIngest, LimitRead, LimitAddress, LimitAuth, LimitExports}

// Guard applies a Config. It is safe for concurrent use; a nil *Guard
// allows everything.
type Guard struct {
	cfg      Config
	ingest   *buckets
	read     *buckets
	address  *buckets
	failures *failures
	exports  *exports
	limited  map[Limit]*atomic.Uint64
}

// New returns a Guard applying cfg.
func New(cfg Config) *Guard {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AuthWindow <= 0 {
		cfg.AuthWindow = time.Minute
	}
	g := &Guard{
		cfg:      cfg,
		ingest:   newBuckets(cfg.Ingest, cfg.Now),
		read:     newBuckets(cfg.Read, cfg.Now),
		address:  newBuckets(cfg.Address, cfg.Now),
		failures: newFailures(cfg.AuthFailures, cfg.AuthWindow, cfg.Now),
		exports:  newExports(cfg.ExportsPerOrg),
		limited:  map[Limit]*atomic.Uint64{},
	}
	for _, l := range limits {
		g.limited[l] = new(atomic.Uint64)
	}
	return g
}

// Refusal is a request over a limit: which one, and when to retry.
type Refusal struct {
	Limit      Limit
	RetryAfter time.Duration
}

func (r *Refusal) Error() string { return "ratelimit: over the " + string(r.Limit) + " limit" }

// RetryAfterHeader is the Retry-After value: whole seconds, at least 1.
func (r *Refusal) RetryAfterHeader() string {
	return strconv.Itoa(max(1, int(math.Ceil(r.RetryAfter.Seconds()))))
}

// Key takes one request of the key with id keyID from its ingest bucket
// (ingest true) or its read bucket, or returns why not.
func (g *Guard) Key(keyID string, ingest bool) *Refusal {
	if g == nil {
		return nil
	}
	if ingest {
		return g.refuse(LimitIngest, g.ingest.take(keyID))
	}
	return g.refuse(LimitRead, g.read.take(keyID))
}

// Address takes one keyless request of the request's client address.
func (g *Guard) Address(r *http.Request) *Refusal {
	if g == nil {
		return nil
	}
	return g.refuse(LimitAddress, g.address.take(addrKey(g.ClientAddr(r))))
}

// Blocked reports whether the request's client address failed to
// authenticate too often in the current window; such a request is refused
// before its credential is even looked at.
func (g *Guard) Blocked(r *http.Request) *Refusal {
	if g == nil {
		return nil
	}
	return g.refuse(LimitAuth, g.failures.blocked(addrKey(g.ClientAddr(r))))
}

// Failed records a failed authentication of the request's client address.
func (g *Guard) Failed(r *http.Request) {
	if g != nil {
		g.failures.fail(addrKey(g.ClientAddr(r)))
	}
}

// refuse counts a refusal, wait > 0, and describes it.
func (g *Guard) refuse(l Limit, wait time.Duration) *Refusal {
	if wait <= 0 {
		return nil
	}
	g.limited[l].Add(1)
	return &Refusal{Limit: l, RetryAfter: wait}
}

var limitedDesc = prometheus.NewDesc("trail_rate_limited_total",
	"Requests refused with 429, by limit: ingest and read (per API key), address (keyless requests per client address), auth_failures (client addresses that failed to authenticate too often), exports (an org's concurrent exports).",
	[]string{"limit"}, nil)

// Describe implements prometheus.Collector.
func (g *Guard) Describe(ch chan<- *prometheus.Desc) { ch <- limitedDesc }

// Collect implements prometheus.Collector.
func (g *Guard) Collect(ch chan<- prometheus.Metric) {
	for _, l := range limits {
		ch <- prometheus.MustNewConstMetric(limitedDesc, prometheus.CounterValue, float64(g.limited[l].Load()), string(l))
	}
}
