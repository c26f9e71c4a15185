// SPDX-License-Identifier: Apache-2.0

package main

import (
	"log/slog"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/geo/dbip"
	"github.com/trailaudit/trail/internal/web"
)

// geoipHelp is the --geoip flag's help.
const geoipHelp = "IP geolocation: empty (default) for the DB-IP Lite country database built into the binary, " +
	"\"off\" to store no location, or MaxMind-format `file`s (.mmdb), several separated by \":\", " +
	"e.g. DB-IP Lite city-ipv4:city-ipv6 for cities (env TRAIL_GEOIP)"

// openLocator opens the geolocation database --geoip names: the embedded
// DB-IP country database for "", none for "off", else the files. The
// returned close releases it (a no-op without one).
func openLocator(geoip string, log *slog.Logger) (audit.Locator, web.Attribution, func(), error) {
	var db *geo.DB
	var err error
	switch geoip {
	case "off":
		log.Info("IP geolocation off (--geoip off): events are stored without location")
		return nil, web.Attribution{}, func() {}, nil
	case "":
		db, err = dbip.Open()
	default:
		db, err = geo.Open(geoip)
	}
	if err != nil {
		return nil, web.Attribution{}, nil, err
	}
	var attr web.Attribution
	attr.Text, attr.URL = db.Attribution()
	log.Info("IP geolocation enabled", "database", db.Description())
	return db, attr, func() { db.Close() }, nil
}
