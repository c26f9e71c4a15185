// SPDX-License-Identifier: Apache-2.0

package geo_test

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/trailaudit/trail/internal/audit"
)

// TestLocateOddRecords checks that values of unexpected kinds, over-long
// or invalid text are skipped without failing the lookup.
func TestLocateOddRecords(t *testing.T) {
	fr := audit.Location{CountryCode: "FR", Country: "France"}
	tests := []struct {
		prefix string
		rec    mmdbtype.DataType
		want   audit.Location
	}{
		{"31.0.0.0/16", mmdbtype.Map{"country_code": mmdbtype.Uint32(5), "city": mmdbtype.Uint32(1)}, audit.Location{}},
		{"31.1.0.0/16", mmdbtype.Map{
			"country":      mmdbtype.String("FR"),
			"city":         mmdbtype.Map{"names": mmdbtype.String("Paris")},
			"subdivisions": mmdbtype.Map{"en": mmdbtype.String("x")},
		}, audit.Location{}},
		{"31.2.0.0/16", mmdbtype.Map{
			"country_code": mmdbtype.String("FR"),
			"city":         mmdbtype.Slice{mmdbtype.String("Paris")},
			"state1":       mmdbtype.Map{"en": mmdbtype.String("x")},
		}, fr},
		{"31.3.0.0/16", mmdbtype.Map{"country_code": mmdbtype.String("FR"), "city": mmdbtype.String(strings.Repeat("x", 300))}, fr},
		{"31.4.0.0/16", mmdbtype.Map{"country_code": mmdbtype.String("FR"), "city": mmdbtype.String("\xff\xfe")}, fr},
		{"31.5.0.0/16", mmdbtype.String("FR"), audit.Location{}},
		{"31.6.0.0/16", mmdbtype.Map{
			"country":      mmdbtype.Map{"iso_code": mmdbtype.String("FR"), "names": mmdbtype.Map{"fr": mmdbtype.String("France")}},
			"subdivisions": mmdbtype.Slice{},
			"city":         mmdbtype.Map{"names": mmdbtype.Map{"de": mmdbtype.String("Paris")}},
		}, fr},
		{"31.7.0.0/16", mmdbtype.Map{
			"country_code": mmdbtype.String("FR"),
			"subdivisions": mmdbtype.Slice{mmdbtype.String("x"), mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("y")}}},
		}, fr},
	}
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "odd"})
	if err != nil {
		t.Fatal(err)
	}
	// One sane record, so that Open accepts the database.
	if err := tree.Insert(mustNet("1.2.3.0/24"), mmdbtype.Map{"country_code": mmdbtype.String("FR")}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		if err := tree.Insert(mustNet(tc.prefix), tc.rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "odd.mmdb")
	writeTree(t, path, tree)
	db := open(t, path)
	for _, tc := range tests {
		a := netip.MustParsePrefix(tc.prefix).Addr().Next()
		got, ok := db.Locate(a)
		if got != tc.want || ok != !tc.want.Empty() {
			t.Errorf("Locate(%s) = %+v, %v; want %+v", a, got, ok, tc.want)
		}
	}
	if n := db.LookupErrors(); n != 0 {
		t.Errorf("LookupErrors = %d, want 0", n)
	}
}

func mustNet(cidr string) *net.IPNet {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		panic(err)
	}
	return n
}

// writeASN writes a database shaped like GeoLite2-ASN, which has no location.
func writeASN(t *testing.T, path string) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-ASN"})
	if err != nil {
		t.Fatal(err)
	}
	rec := mmdbtype.Map{
		"autonomous_system_number":       mmdbtype.Uint32(15169),
		"autonomous_system_organization": mmdbtype.String("GOOGLE"),
	}
	if err := tree.Insert(mustNet("8.8.8.0/24"), rec); err != nil {
		t.Fatal(err)
	}
	writeTree(t, path, tree)
}

// writeTree writes tree to path.
func writeTree(t *testing.T, path string, tree *mmdbwriter.Tree) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
