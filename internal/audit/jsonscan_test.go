// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/demo"
)

// checkKnownScanners holds the known scanners to the validating ones: at
// every position of b where skipValue (scanString) accepts a value (a
// string) that ends where a value can end in a JSON text (at the end, a
// delimiter or whitespace), knownValue (knownString) finds the same end
// (and escapes).
func checkKnownScanners(t *testing.T, b []byte) {
	t.Helper()
	for i := range b {
		if end, ok := skipValue(b, i, 1); ok && (end == len(b) || strings.IndexByte(",]} \t\r\n", b[end]) >= 0) {
			if got := knownValue(b, i); got != end {
				t.Fatalf("knownValue(%q, %d) = %d, skipValue %d", b, i, got, end)
			}
		}
		if end, escaped, ok := scanString(b, i); ok {
			if got, gotEsc := knownString(b, i); got != end || gotEsc != escaped {
				t.Fatalf("knownString(%q, %d) = %d %v, scanString %d %v", b, i, got, gotEsc, end, escaped)
			}
		}
	}
}

func TestKnownScanners(t *testing.T) {
	inputs := []string{
		`"a"`, `""`, `"\""`, `"\\"`, `"\\\""`, `"a\\b\"c\u00e9d\n"`, `"12345678\"12345678"`,
		`"1234567\\"`, `"é日本\ud83d\ude80 x"`, `{"a":[1,-2.5e+3,true,false,null,{"b":"}]\"{["}],"c":{}}`,
		`[ 1 , "x" , [ ] , { } ]`, "{\"a\":\t1\n}", `{"k":"` + strings.Repeat(`ab\"`, 40) + `"}`,
	}
	for b := range demo.Batches(demo.Options{Events: 200, Seed: 3}) {
		for _, raw := range b {
			inputs = append(inputs, string(raw))
		}
		break
	}
	for _, in := range inputs {
		checkKnownScanners(t, []byte(in))
	}
}

func FuzzKnownScanners(f *testing.F) {
	f.Add([]byte(`{"a":["x\"y",1.5,{"b":null}],"c":"\u00e9"}`))
	f.Fuzz(func(t *testing.T, b []byte) { checkKnownScanners(t, b) })
}
