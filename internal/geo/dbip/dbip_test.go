// SPDX-License-Identifier: Apache-2.0

package dbip_test

import (
	"net/netip"
	"testing"

	"github.com/trailaudit/trail/internal/geo/dbip"
)

// TestEmbedded: the embedded database opens, credits DB-IP, locates
// public IPv4 and IPv6 addresses by country (no region or city: a country
// database), and never a private one.
func TestEmbedded(t *testing.T) {
	db, err := dbip.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if text, url := db.Attribution(); text != "IP Geolocation by DB-IP" || url != "https://db-ip.com" {
		t.Errorf("Attribution() = %q, %q; want DB-IP's", text, url)
	}
	for _, ip := range []string{"81.2.69.160", "2.125.160.216", "2a01:cb00::1", "8.8.8.8", "2001:4860:4860::8888"} {
		loc, ok := db.Locate(netip.MustParseAddr(ip))
		if !ok || len(loc.CountryCode) != 2 || loc.Country == "" {
			t.Errorf("Locate(%s) = %+v, %v; want a country code and name", ip, loc, ok)
		}
		if loc.Region != "" || loc.City != "" {
			t.Errorf("Locate(%s) = %+v; a country database has no region or city", ip, loc)
		}
	}
	if loc, ok := db.Locate(netip.MustParseAddr("10.1.2.3")); ok {
		t.Errorf("Locate(10.1.2.3) = %+v; want no location for a private address", loc)
	}
}
