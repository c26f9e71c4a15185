// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"net/netip"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/geo/geotest"
)

// TestClientCache: the cache by anonymized network gives what locating
// each full address gives, for prefixes shorter and longer than the
// database's networks, and answers repeats from memory.
func TestClientCache(t *testing.T) {
	db, err := geo.Open(geotest.WriteDB(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	addrs := []string{
		"81.2.69.160", "81.2.69.7", "81.2.70.1", "2.125.160.216", "8.8.8.8", "8.8.4.4", "10.0.0.1",
		"::ffff:81.2.69.161", "2a02:26f0:1:2::1", "2a02:26f0:1:3::1", "2a02:26f1::1", "240f::1", "2606:4700::1",
	}
	for _, bits := range [][2]int{{24, 48}, {16, 32}, {8, 16}, {32, 128}} {
		s := audit.NewService(audit.Config{Locator: db, IPv4Prefix: bits[0], IPv6Prefix: bits[1]})
		defer s.Close()
		for round := range 2 {
			for _, a := range addrs {
				addr := netip.MustParseAddr(a)
				ip, n, loc, _ := s.ClientOf(addr)
				wantIP, wantBits := audit.Anonymize(addr, bits[0], bits[1])
				want, ok := db.Locate(addr)
				switch {
				case ip != wantIP.String() || n != wantBits:
					t.Errorf("/%d,/%d round %d: %s → %s/%d, want %s/%d", bits[0], bits[1], round, a, ip, n, wantIP, wantBits)
				case ok != (loc != nil) || ok && *loc != want:
					t.Errorf("/%d,/%d round %d: %s located %v, want %v %v", bits[0], bits[1], round, a, loc, want, ok)
				}
			}
		}
	}
	s := audit.NewService(audit.Config{Locator: db})
	defer s.Close()
	_, _, _, before := s.ClientOf(netip.MustParseAddr("81.2.69.160"))
	if _, _, _, hits := s.ClientOf(netip.MustParseAddr("81.2.69.99")); hits != before+1 {
		t.Errorf("a second address of the same /24 was not answered from the cache")
	}
}
