// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/ratelimit"
)

// netFlags are serve's settings for facing a network: TLS, timeouts and
// request limits.
type netFlags struct {
	tlsCert, tlsKey string
	readHeader      time.Duration
	read            time.Duration
	idle            time.Duration
	stall           time.Duration
	shutdown        time.Duration
	limits          ratelimit.Config
	ingestPerSec    float64
	readPerSec      float64
	addressPerMin   float64
	trustedProxies  string
}

func (n *netFlags) register(fs *flag.FlagSet) {
	d := ratelimit.Defaults()
	fs.StringVar(&n.tlsCert, "tls-cert", env("TRAIL_TLS_CERT", ""), "serve HTTPS (TLS 1.2+, HTTP/2) with this PEM certificate `file` (chain first); reloaded on SIGHUP and when it changes (env TRAIL_TLS_CERT)")
	fs.StringVar(&n.tlsKey, "tls-key", env("TRAIL_TLS_KEY", ""), "the PEM private key `file` of --tls-cert (env TRAIL_TLS_KEY)")
	fs.DurationVar(&n.readHeader, "read-header-timeout", 10*time.Second, "longest time to read a request's headers (a slow client is cut off)")
	fs.DurationVar(&n.read, "read-timeout", 2*time.Minute, "longest time to read a whole request, body included")
	fs.DurationVar(&n.idle, "idle-timeout", 2*time.Minute, "how long an idle keep-alive connection is kept open")
	fs.DurationVar(&n.stall, "write-stall-timeout", time.Minute, "an export whose client reads nothing for this long is cut")
	fs.DurationVar(&n.shutdown, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long in-flight requests may take to finish (running exports are cut at once)")
	fs.Float64Var(&n.ingestPerSec, "rate-ingest", d.Ingest.PerMinute/60, "ingest `requests` a second per API key (bursts of twice as many); 0: no limit")
	fs.Float64Var(&n.readPerSec, "rate-read", d.Read.PerMinute/60, "read `requests` a second per API key (every route but ingest; bursts of twice as many); 0: no limit")
	fs.Float64Var(&n.addressPerMin, "rate-address", d.Address.PerMinute, "`requests` a minute per client address on routes without a key (viewer links, catalog, OpenAPI, verifier key; not the probes or /metrics); 0: no limit")
	fs.IntVar(&n.limits.AuthFailures, "auth-failures", d.AuthFailures, "failed authentications a minute per client address; past them the address gets 429 until the minute has passed; 0: no limit")
	fs.IntVar(&n.limits.ExportsPerOrg, "max-exports", d.ExportsPerOrg, "exports of one org running at once (API and page); more get 429; 0: no bound")
	fs.StringVar(&n.trustedProxies, "trusted-proxies", env("TRAIL_TRUSTED_PROXIES", ""), "comma-separated `CIDRs` of reverse proxies whose X-Forwarded-For names the client address for rate limits (env TRAIL_TRUSTED_PROXIES); default none: the TCP peer is the client")
}

// check validates the flags and completes the limits.
func (n *netFlags) check() error {
	if (n.tlsCert == "") != (n.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	for _, d := range []time.Duration{n.readHeader, n.read, n.idle, n.stall, n.shutdown} {
		if d <= 0 {
			return usagef("timeouts must be positive durations")
		}
	}
	if n.ingestPerSec < 0 || n.readPerSec < 0 || n.addressPerMin < 0 || n.limits.AuthFailures < 0 || n.limits.ExportsPerOrg < 0 {
		return usagef("rate limits and bounds must not be negative")
	}
	n.limits.Ingest = rate(n.ingestPerSec * 60)
	n.limits.Read = rate(n.readPerSec * 60)
	n.limits.Address = ratelimit.Rate{PerMinute: n.addressPerMin, Burst: max(1, int(n.addressPerMin/2))}
	for _, s := range strings.Split(n.trustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return usagef("--trusted-proxies: %q is not a CIDR or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		n.limits.TrustedProxies = append(n.limits.TrustedProxies, p.Masked())
	}
	return nil
}

// rate is a per-minute rate whose burst is two seconds' worth.
func rate(perMinute float64) ratelimit.Rate {
	return ratelimit.Rate{PerMinute: perMinute, Burst: max(1, int(perMinute/30))}
}

// server returns the HTTP server with the flags' timeouts.
func (n *netFlags) server(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: n.readHeader,
		ReadTimeout:       n.read,
		IdleTimeout:       n.idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
