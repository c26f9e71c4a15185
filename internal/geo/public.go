// SPDX-License-Identifier: Apache-2.0

package geo

import "net/netip"

// IsPublic reports whether addr is a public unicast address that a
// geolocation database can meaningfully locate. An IPv4-mapped IPv6 address
// is judged by its IPv4 form; a zone is ignored.
//
// It is false for the invalid zero Addr and for every private or special-use
// range in the IANA IPv4 and IPv6 special-purpose registries that is not
// globally reachable: unspecified, loopback, private (RFC 1918), shared
// address space (CGNAT, 100.64.0.0/10), link-local, multicast, broadcast,
// documentation and benchmarking ranges, IETF protocol assignments, unique
// local IPv6 (fc00::/7) and reserved space. For IPv6 only the global unicast
// block 2000::/3 is public, so IPv4-compatible, NAT64 (64:ff9b::/96),
// discard-only and deprecated site-local addresses are not.
func IsPublic(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	switch {
	case addr.Is4():
		return !nonPublic4.contains(addr)
	case addr.Is6():
		return global6.Contains(addr) && !nonPublic6.contains(addr)
	}
	return false
}

// nonPublic4 lists the IPv4 ranges that are not publicly routed unicast.
var nonPublic4 = newPrefixSet(
	"0.0.0.0/8",       // "this network", includes unspecified
	"10.0.0.0/8",      // private
	"100.64.0.0/10",   // shared address space (CGNAT)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation (TEST-NET-1)
	"192.88.99.0/24",  // deprecated 6to4 relay anycast
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation (TEST-NET-2)
	"203.0.113.0/24",  // documentation (TEST-NET-3)
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, includes limited broadcast
)

// global6 is the only IPv6 block allocated for global unicast.
var global6 = netip.MustParsePrefix("2000::/3")

// nonPublic6 lists the ranges inside global6 that are not publicly routed.
// Loopback, link-local, ULA, multicast and the rest lie outside global6.
var nonPublic6 = newPrefixSet(
	"2001::/23",     // IETF protocol assignments (incl. Teredo, ORCHID)
	"2001:db8::/32", // documentation
	"3fff::/20",     // documentation (RFC 9637)
)

// prefixSet is a fixed set of prefixes of one address family, indexed by
// the first byte of the addresses they cover so that a lookup tests only
// the one or two prefixes that can match.
type prefixSet [256][]netip.Prefix

// newPrefixSet parses cidrs, panicking on a malformed one.
func newPrefixSet(cidrs ...string) *prefixSet {
	var s prefixSet
	for _, c := range cidrs {
		p := netip.MustParsePrefix(c)
		first, span := int(firstByte(p.Addr())), 1
		if p.Bits() < 8 {
			span = 1 << (8 - p.Bits())
		}
		for b := first; b < first+span; b++ {
			s[b] = append(s[b], p)
		}
	}
	return &s
}

// contains reports whether addr lies in one of the prefixes.
func (s *prefixSet) contains(addr netip.Addr) bool {
	for _, p := range s[firstByte(addr)] {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// firstByte returns the most significant byte of addr.
func firstByte(addr netip.Addr) byte {
	if addr.Is4() {
		return addr.As4()[0]
	}
	return addr.As16()[0]
}
