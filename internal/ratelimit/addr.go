// SPDX-License-Identifier: Apache-2.0

package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr returns the address a request is counted under: the TCP
// peer, or, when the peer is a trusted proxy, the right-most address of
// X-Forwarded-For that is not a trusted proxy (the left-most entries are
// the client's to forge). The address is kept only in memory, as a map
// key, and never logged.
func (g *Guard) ClientAddr(r *http.Request) netip.Addr {
	peer := remoteAddr(r)
	if g == nil || !g.trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer // a mangled header: count the proxy, not a guess
		}
		if a = a.Unmap(); !g.trusted(a) {
			return a
		}
	}
	return peer
}

func (g *Guard) trusted(a netip.Addr) bool {
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteAddr parses r.RemoteAddr; an unparsable one (not from a TCP
// server) counts as the unspecified address.
func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.IPv6Unspecified()
	}
	return a.Unmap().WithZone("")
}

// addrKey is what an address is counted under: an IPv4 address, or the
// /64 of an IPv6 one (one host's usual allocation, which it can otherwise
// walk through to shed its count).
func addrKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
