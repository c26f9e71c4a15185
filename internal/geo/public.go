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
		return !inAny(addr, nonPublic4)
	case addr.Is6():
		return global6.Contains(addr) && !inAny(addr, nonPublic6)
	}
	return false
}

// inAny reports whether addr is in one of prefixes.
func inAny(addr netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// nonPublic4 lists the IPv4 ranges that are not publicly routed unicast.
var nonPublic4 = prefixes(
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
var nonPublic6 = prefixes(
	"2001::/23",     // IETF protocol assignments (incl. Teredo, ORCHID)
	"2001:db8::/32", // documentation
	"3fff::/20",     // documentation (RFC 9637)
)

// prefixes parses each CIDR string, panicking on a malformed one.
func prefixes(cidrs ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		out[i] = netip.MustParsePrefix(c)
	}
	return out
}
