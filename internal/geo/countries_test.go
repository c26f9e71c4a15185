// SPDX-License-Identifier: Apache-2.0

package geo

import "testing"

func TestCountryName(t *testing.T) {
	tests := []struct {
		code, want string
		ok         bool
	}{
		{"FR", "France", true},
		{"US", "United States", true},
		{"GB", "United Kingdom", true},
		{"DE", "Germany", true},
		{"JP", "Japan", true},
		{"BR", "Brazil", true},
		{"IN", "India", true},
		{"CI", "Côte d'Ivoire", true},
		{"AX", "Åland Islands", true},
		{"XK", "Kosovo", true},
		{"fr", "France", true},
		{"gB", "United Kingdom", true},
		{"ZZ", "", false},
		{"UK", "", false},
		{"EU", "", false},
		{"", "", false},
		{"F", "", false},
		{"FRA", "", false},
	}
	for _, tc := range tests {
		got, ok := CountryName(tc.code)
		if got != tc.want || ok != tc.ok {
			t.Errorf("CountryName(%q) = %q, %v; want %q, %v", tc.code, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCountryTable(t *testing.T) {
	if n := len(countryNames); n != 249+1 { // ISO 3166-1 plus XK
		t.Errorf("table has %d codes, want 250", n)
	}
	names := map[string][2]byte{}
	for code, name := range countryNames {
		if !isCode(string(code[:])) || code != [2]byte{upper(code[0]), upper(code[1])} || name == "" {
			t.Errorf("bad entry %q: %q", code[:], name)
		}
		if other, dup := names[name]; dup {
			t.Errorf("%q is the name of %s and %s", name, code[:], other[:])
		}
		names[name] = code
	}
}
