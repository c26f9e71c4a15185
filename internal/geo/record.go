// SPDX-License-Identifier: Apache-2.0

package geo

import (
	"strings"
	"unicode/utf8"

	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
	"github.com/trailaudit/trail/internal/audit"
)

// maxText bounds every decoded name; longer values are dropped as unknown.
const maxText = 200

// record is the part of a database record Trail uses. It decodes either
// layout, detected per record from the keys present:
//
//   - ip-location-db (DB-IP Lite and others from npm @ip-location-db/*):
//     {"country_code": "FR", "state1": "Île-de-France", "city": "Paris", …}
//   - MaxMind GeoIP2/GeoLite2 City and Country, also DB-IP's own files:
//     {"country": {"iso_code": "FR", "names": {"en": "France"}},
//     "subdivisions": [{"names": {"en": "Île-de-France"}}],
//     "city": {"names": {"en": "Paris"}}, …}
//
// Unknown keys and values of an unexpected kind are skipped.
type record struct {
	code, country, region, city string
}

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler.
func (r *record) UnmarshalMaxMindDBCursor(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	return eachKey(c, r.field)
}

// field decodes the value v of the top-level key.
func (r *record) field(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	switch string(key) {
	case "country_code":
		return readText(v, &r.code)
	case "state1":
		return readText(v, &r.region)
	case "city": // a string, or a map with names
		return readTextOrNames(v, &r.city)
	case "country":
		return r.countryField(v)
	case "subdivisions":
		return readFirstNames(v, &r.region)
	}
	return v.Skip()
}

// countryField decodes GeoIP2's {"iso_code": …, "names": {"en": …}}.
func (r *record) countryField(v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	return eachKey(v, func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		switch string(key) {
		case "iso_code":
			return readText(v, &r.code)
		case "names":
			return readEnglish(v, &r.country)
		}
		return v.Skip()
	})
}

// location turns the record into an audit.Location. A country code that is
// not two ASCII letters is dropped; the country name falls back to the
// built-in table when the record carries none.
func (r *record) location() audit.Location {
	loc := audit.Location{Country: r.country, Region: r.region, City: r.city}
	if isCode(r.code) {
		loc.CountryCode = strings.ToUpper(r.code) // no copy when already upper
		if loc.Country == "" {
			loc.Country, _ = CountryName(loc.CountryCode)
		}
	}
	return loc
}

// eachKey calls fn for every entry of the map at c; fn must consume the
// value and return its successor. Non-map values are skipped.
func eachKey(c mmdbdata.Cursor, fn func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error)) (mmdbdata.Cursor, error) {
	m, err := c.Map()
	if err != nil {
		return c.Skip() // not a map; a corrupt value fails here as well
	}
	var next mmdbdata.Cursor
	for key, v, ok := m.Next(next); ok; key, v, ok = m.Next(next) {
		if next, err = fn(key, v); err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End()
}

// readText stores the string at c in *dst, or leaves *dst alone when the
// value is not a string, too long or not valid UTF-8.
func readText(c mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	s, next, err := c.ReadStringMaxSize(maxText)
	if err != nil {
		return c.Skip() // not a string or too long; a corrupt value fails here as well
	}
	if utf8.ValidString(s) {
		*dst = s
	}
	return next, nil
}

// readTextOrNames reads a plain string or GeoIP2's {"names": {"en": …}}.
func readTextOrNames(c mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	if isString(c) {
		return readText(c, dst)
	}
	return readNames(c, dst)
}

// readNames reads the English name of a GeoIP2 {"names": {"en": …}} map.
func readNames(c mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	return eachKey(c, func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		if string(key) == "names" {
			return readEnglish(v, dst)
		}
		return v.Skip()
	})
}

// readEnglish reads the "en" entry of a names map.
func readEnglish(c mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	return eachKey(c, func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		if string(key) == "en" {
			return readText(v, dst)
		}
		return v.Skip()
	})
}

// readFirstNames reads the English name of the first element of a GeoIP2
// subdivisions array (the first-level subdivision).
func readFirstNames(c mmdbdata.Cursor, dst *string) (mmdbdata.Cursor, error) {
	s, err := c.Slice()
	if err != nil {
		return c.Skip() // not an array; a corrupt value fails here as well
	}
	var next mmdbdata.Cursor
	for i, v, ok := s.Next(next); ok; i, v, ok = s.Next(next) {
		if i == 0 {
			next, err = readNames(v, dst)
		} else {
			next, err = v.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return s.End()
}

// isString reports whether the value at c is a string.
func isString(c mmdbdata.Cursor) bool {
	k, err := c.Kind()
	return err == nil && k == mmdbdata.KindString
}
