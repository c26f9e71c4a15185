// SPDX-License-Identifier: Apache-2.0

package query

import (
	"testing"
	"time"
)

// fuzzOptions are the option sets every fuzz input is parsed with: the
// defaults, and tight bounds with a catalog.
var fuzzOptions = []Options{
	{Now: func() time.Time { return now }},
	{MaxLen: 48, MaxTerms: 3, KnownType: strictOpts.KnownType, KnownCategory: strictOpts.KnownCategory, Now: strictOpts.Now},
}

// FuzzParse checks that Parse never panics, that its errors are
// *SyntaxErrors within the input, and that what it accepts survives Format.
// The seed corpus is in testdata/fuzz/FuzzParse, plus every parseTests input.
func FuzzParse(f *testing.F) {
	for _, tc := range parseTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, opts := range fuzzOptions {
			_, err := Parse(s, opts)
			if err == nil {
				checkRoundTrip(t, s, opts)
				continue
			}
			se, ok := err.(*SyntaxError)
			if !ok {
				t.Fatalf("Parse(%q): error %T %v, want a *SyntaxError", s, err, err)
			}
			if se.Pos < 0 || se.Pos > len(s) || se.Msg == "" {
				t.Fatalf("Parse(%q): error %+v outside the input or without a message", s, se)
			}
		}
	})
}
