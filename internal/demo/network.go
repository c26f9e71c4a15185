// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
)

// pool is the address space of a country's big ISPs (real, public
// allocations), from which home, hotel and mobile addresses are drawn.
type pool struct {
	v4, v6 []netip.Prefix
}

// pools holds a few ISPs per country. The first FR, GB and DE entries are
// the ranges of the tiny geolocation database the tests build; the others
// are ranges the embedded DB-IP country database places in their country
// (TestClientsLocateWithEmbeddedDB), so the demo shows the right countries.
var pools = map[string]pool{
	"FR": {
		v4: prefixes("2.125.160.0/24", "86.192.0.0/11", "82.64.0.0/14"), // Orange, Free
		v6: prefixes("2a01:cb00::/24", "2a01:e0a::/32"),                 // Orange, Free
	},
	"GB": {
		v4: prefixes("81.2.69.0/24", "86.128.0.0/10"), // Andrews & Arnold, BT
		v6: prefixes("2a00:23c0::/26"),                // BT
	},
	"DE": {
		v4: prefixes("79.192.0.0/10", "91.64.0.0/14"),  // Telekom, Vodafone
		v6: prefixes("2a02:26f0::/32", "2003:c0::/26"), // Akamai, Telekom
	},
	"US": {
		v4: prefixes("73.0.0.0/8", "99.32.0.0/11"),  // Comcast, AT&T
		v6: prefixes("2601::/20", "2600:1700::/28"), // Comcast, AT&T
	},
	"JP": {
		v4: prefixes("126.64.0.0/10", "153.240.0.0/13"), // SoftBank, NTT OCN
		v6: prefixes("240b:10::/32", "2400:4050::/30"),  // SoftBank, NTT
	},
	"IN": {
		v4: prefixes("49.32.0.0/12", "122.160.0.0/12"), // Jio, Airtel
		v6: prefixes("2409:4000::/22"),                 // Jio
	},
	"BR": {
		v4: prefixes("177.32.0.0/14", "179.208.0.0/12"), // Claro, Vivo
		v6: prefixes("2804:14c::/32"),                   // Claro
	},
}

// Cloud ranges the CI tokens run from: AWS us-east-1 and eu-west-3 (Paris).
var (
	cloud4 = prefixes("3.80.0.0/12", "44.192.0.0/11", "15.236.0.0/15")
	cloud6 = prefixes("2600:1f18::/33")
)

// countryOf returns the country whose pool holds a, or "" for the cloud
// and anything else.
func countryOf(a netip.Addr) string {
	for c, p := range pools {
		if inAny(a, p.v4) || inAny(a, p.v6) {
			return c
		}
	}
	return ""
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// addrIn returns a random host address in one of ps. IPv4 hosts avoid the
// .0 and .255 of their /24.
func addrIn(rng *rand.Rand, ps []netip.Prefix) netip.Addr {
	p := ps[rng.IntN(len(ps))]
	b := p.Addr().AsSlice()
	for i := p.Bits() / 8; i < len(b); i++ {
		keep := 0
		if i == p.Bits()/8 {
			keep = p.Bits() % 8
		}
		mask := byte(0xff >> keep)
		b[i] = b[i]&^mask | byte(rng.IntN(256))&mask
	}
	if len(b) == 4 && p.Bits() <= 24 {
		b[3] = byte(1 + rng.IntN(254))
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// homeAddr draws a member's home address in country: IPv6 when v6 is
// true and the country's ISPs have it.
func homeAddr(rng *rand.Rand, country string, v6 bool) netip.Addr {
	p := pools[country]
	if v6 && len(p.v6) > 0 {
		return addrIn(rng, p.v6)
	}
	return addrIn(rng, p.v4)
}

// User agents seen in the demo.
const (
	uaChromeMac    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaChromeWin    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaChromeLinux  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
	uaEdgeWin      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
	uaFirefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaFirefoxWin   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
	uaSafariMac    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
	uaSafariIOS    = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	uaHub25        = "huggingface_hub/0.25.2; python/3.10.12"
	uaHub26        = "huggingface_hub/0.26.2; python/3.11.10"
	uaHub26T       = "huggingface_hub/0.26.5; python/3.11.10; torch/2.5.1; transformers/4.46.3"
	uaCurl         = "curl/8.5.0"
	uaCI           = "huggingface_hub/0.26.2; python/3.11.10; ci/github-actions"
)

// uaKind says which program a type's events usually come from.
type uaKind int

const (
	uaBrowser uaKind = iota // the web settings pages
	uaMixed                 // the web pages, the Python library or curl
	uaAPI                   // mostly the Python library
)

// userAgent picks m's user agent for an event of kind k.
func userAgent(rng *rand.Rand, m *member, k uaKind) string {
	r := rng.Float64()
	switch {
	case k == uaBrowser, k == uaMixed && r < 0.6, k == uaAPI && r < 0.1:
		if rng.IntN(25) == 0 {
			return uaSafariIOS // now and then from a phone
		}
		return m.browser
	case r < 0.93:
		return m.lib
	}
	return uaCurl
}

// Network is an address range the demo draws client addresses from, with
// its country.
type Network struct {
	Prefix  netip.Prefix
	Country string // ISO 3166-1 alpha-2
}

// Networks returns every range the demo's people connect from, with its
// country (the cloud ranges of CI tokens have none and are left out), so
// that a benchmark can build a geolocation database under which every
// demo event has a location.
func Networks() []Network {
	var out []Network
	for _, c := range slices.Sorted(maps.Keys(pools)) {
		for _, p := range append(slices.Clone(pools[c].v4), pools[c].v6...) {
			out = append(out, Network{p, c})
		}
	}
	return out
}
