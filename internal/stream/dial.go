// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// SSRF: a destination is an address an org admin chose, reached from
// inside the operator's network. Trail connects only to public addresses
// unless the operator allows private ones (--stream-allow-private). The
// check runs on the address actually connected to (net.Dialer.Control),
// after DNS resolution, so a name that resolves to a public address when
// the stream is created and to 127.0.0.1 later (DNS rebinding) is refused
// too.

// ErrNotPublic is the error of a refused connection.
var ErrNotPublic = errors.New("the destination's address is not a public internet address")

// nonPublic are the ranges that are not public beyond what netip's
// predicates (loopback, private, link-local, multicast, unspecified) say.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64: reaches IPv4 inside
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: reaches IPv4 inside
	netip.MustParsePrefix("fec0::/10"),       // site-local
}

// Public reports whether ip is a public unicast internet address.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// NewEnv returns the Env sinks get: Dial and HTTP refuse non-public
// addresses unless allowPrivate.
func NewEnv(allowPrivate bool) Env {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !Public(ap.Addr()) {
				return fmt.Errorf("connecting to %s: %w", address, ErrNotPublic)
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:               nil, // a proxy would connect for us, past the check
		DialContext:         d.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return Env{
		Dial: d.DialContext,
		HTTP: &http.Client{
			Transport: tr,
			// A redirect is not an acknowledgement: the receiver must
			// answer 2xx itself.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Addressed is implemented by kinds that can say, from a destination's
// stored settings, which host:port addresses its sink will connect to, so
// that creating a stream to a non-public address is refused at once (422)
// rather than failing at every delivery.
type Addressed interface {
	Addresses(settings json.RawMessage) []string
}

// checkAddresses refuses, unless private addresses are allowed, a
// destination whose host resolves to a non-public address or does not
// resolve.
func (m *Manager) checkAddresses(ctx context.Context, kind string, settings json.RawMessage) error {
	k, _ := LookupKind(kind)
	a, ok := k.(Addressed)
	if !ok || m.cfg.AllowPrivate {
		return nil
	}
	for _, hostport := range a.Addresses(settings) {
		host, _, err := net.SplitHostPort(hostport)
		if err != nil {
			host = hostport
		}
		ips, err := resolve(ctx, host)
		if err != nil {
			return audit.Errorf(audit.CodeUnprocessable, "destination: the host %q does not resolve; give a public host name or address", host)
		}
		for _, ip := range ips {
			if !Public(ip) {
				return audit.Errorf(audit.CodeUnprocessable,
					"destination: %s is %s, not a public internet address; Trail refuses it unless the server runs with --stream-allow-private",
					host, ip)
			}
		}
	}
	return nil
}

func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(ips) == 0 {
		err = errors.New("no address")
	}
	return ips, err
}
