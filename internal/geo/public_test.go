// SPDX-License-Identifier: Apache-2.0

package geo_test

import (
	"net/netip"
	"testing"

	"github.com/trailaudit/trail/internal/geo"
)

func TestIsPublic(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"81.2.69.142", true},
		{"100.63.255.255", true},  // just below CGNAT
		{"100.128.0.0", true},     // just above CGNAT
		{"172.15.255.255", true},  // just below 172.16/12
		{"172.32.0.0", true},      // just above
		{"192.0.1.1", true},       // between 192.0.0/24 and 192.0.2/24
		{"198.20.0.1", true},      // just above 198.18/15
		{"223.255.255.255", true}, // last unicast below multicast
		{"::ffff:8.8.8.8", true},
		{"2a02:26f0::1", true},
		{"2001:4860:4860::8888", true},
		{"2606:4700::1111", true},
		{"2002:c000:204::1", true}, // 6to4
		{"3ffe::1", true},
		{"2620:fe::fe%eth0", true},

		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"10.0.0.1", false},
		{"10.255.255.255", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"169.254.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.0.0.9", false},
		{"192.0.2.1", false},
		{"192.88.99.1", false},
		{"192.168.0.1", false},
		{"198.18.0.1", false},
		{"198.19.255.255", false},
		{"198.51.100.1", false},
		{"203.0.113.1", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:100.64.0.1", false},
		{"::", false},
		{"::1", false},
		{"::8.8.8.8", false}, // IPv4-compatible, deprecated
		{"64:ff9b::808:808", false},
		{"100::1", false},
		{"2001::1", false}, // Teredo
		{"2001:db8::1", false},
		{"2001:db8:ffff::1", false},
		{"3fff::1", false},
		{"5f00::1", false},
		{"fc00::1", false},
		{"fd00::1", false},
		{"fdff:ffff::1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"febf::1", false},
		{"fec0::1", false},
		{"ff02::1", false},
		{"ff0e::1", false},
	}
	for _, tc := range tests {
		if got := geo.IsPublic(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("IsPublic(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	if geo.IsPublic(netip.Addr{}) {
		t.Error("IsPublic(zero Addr) = true")
	}
}

func BenchmarkIsPublic(b *testing.B) {
	v4, v6 := netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("2a02:26f0::1")
	for b.Loop() {
		geo.IsPublic(v4)
		geo.IsPublic(v6)
	}
}

// TestPrefixSetSpans checks prefixes shorter than /8 cover every first byte.
func TestPrefixSetSpans(t *testing.T) {
	for b := 224; b <= 255; b++ {
		a := netip.AddrFrom4([4]byte{byte(b), 1, 2, 3})
		if geo.IsPublic(a) {
			t.Errorf("IsPublic(%s) = true", a)
		}
	}
	for b := 1; b < 224; b++ {
		a := netip.AddrFrom4([4]byte{byte(b), 1, 2, 3})
		want := b != 10 && b != 127
		if got := geo.IsPublic(a); got != want {
			t.Errorf("IsPublic(%s) = %v, want %v", a, got, want)
		}
	}
}
