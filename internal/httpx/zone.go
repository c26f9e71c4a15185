// SPDX-License-Identifier: Apache-2.0

package httpx

import (
	"errors"
	"strings"
	"time"
	_ "time/tzdata" // zones work on machines without a zone database
)

// errZone is LoadZone's error.
var errZone = errors.New("not an IANA time zone name such as Europe/Paris")

// LoadZone loads an IANA time zone by name, for the tz parameter of the
// API and the page's zone cookie. "" and "UTC" are UTC; "Local" (the
// server's own zone) and anything that is not a zone name are refused.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if len(name) > 64 || name == "Local" || strings.ContainsAny(name, " \\") || strings.Contains(name, "..") {
		return nil, errZone
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errZone
	}
	return loc, nil
}
