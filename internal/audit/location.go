// SPDX-License-Identifier: Apache-2.0

package audit

import "net/netip"

// Location is where a client IP address was located at ingestion time.
// Empty fields are unknown.
type Location struct {
	CountryCode string `json:"country_code"` // ISO 3166-1 alpha-2, upper case ("FR")
	Country     string `json:"country"`      // English short name ("France")
	Region      string `json:"region"`       // first-level subdivision ("Île-de-France")
	City        string `json:"city"`
}

// Empty reports whether nothing is known about the location.
func (l Location) Empty() bool { return l == Location{} }

// Locator looks up the location of a full client IP address. It is called
// with the full address before anonymization, and it must not keep, log or
// return the address. ok is false when the address is not in its database,
// or is private or reserved.
type Locator interface {
	Locate(addr netip.Addr) (loc Location, ok bool)
}
