// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"

	"github.com/trailaudit/trail/client"
)

// TestServeGeoIPDefault: without --geoip, serve locates clients with the
// DB-IP country database built into the binary (a country, no city) and
// the page credits DB-IP; --geoip off stores no location.
func TestServeGeoIPDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := trailBinary(t)
	for _, tc := range []struct {
		name    string
		flags   []string
		country string
	}{
		{"default", nil, "GB"},
		{"off", []string{"--geoip", "off"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			key := createKeyCLI(t, bin, data, "--scope", "admin")
			s := serveOn(t, bin, data, tc.flags...)
			c := apiClient(s.Base, key)
			if _, err := c.Ingest(testCtx(t), "acme", []client.Event{repoCreate(0, "acme/m")}); err != nil {
				t.Fatal(err)
			}
			page, err := c.List(testCtx(t), "acme", client.ListOptions{Limit: 1})
			if err != nil || len(page.Events) != 1 {
				t.Fatalf("list: %v, %d events", err, len(page.Events))
			}
			ev := decodeEvent(t, page.Events[0])
			got := ""
			if ev.Location != nil {
				got = ev.Location.CountryCode
				if ev.Location.City != "" {
					t.Errorf("the embedded country database gave a city: %+v", *ev.Location)
				}
			}
			if got != tc.country {
				t.Errorf("81.2.69.160 located in %q; want %q", got, tc.country)
			}
		})
	}
}
