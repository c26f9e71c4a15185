// SPDX-License-Identifier: Apache-2.0

package verify_test

import (
	"os"
	"testing"

	"github.com/trailaudit/trail/verify"
)

// FuzzParseExport feeds the export parser (which reads untrusted files)
// arbitrary bytes: it must return an Export or a *MalformedError, never
// panic, and Verify on what it returns must not panic either.
func FuzzParseExport(f *testing.F) {
	if b, err := os.ReadFile("testdata/example.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"format":"trail.export/v1","org":"a","size":0,"events":[],"count":0}`))
	f.Add([]byte("{\"id\":\"x\",\"org\":\"a\",\"seq\":0}\n{\"integrity\":{\"org\":\"a\",\"size\":1,\"checkpoint\":\"a\\n1\\nAAAA\\n\\n— k x\\n\",\"hashes\":[]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := verify.ParseExport(data)
		if err != nil {
			if !verify.IsMalformed(err) {
				t.Fatalf("ParseExport error %T %v, want *MalformedError", err, err)
			}
			return
		}
		for _, e := range x.Events {
			if e.Offset < 0 || int(e.Offset)+len(e.Data) > len(data) {
				t.Fatalf("event at %d+%d outside the input of %d bytes", e.Offset, len(e.Data), len(data))
			}
		}
		verify.Verify(x, verify.Options{Workers: 1})
		verify.Verify(x, verify.Options{Workers: 1, Keys: []string{exampleVerifier}})
	})
}

// FuzzVerifyStream feeds the stream object parser arbitrary bytes, split
// into two objects: it must return objects or a *MalformedError, never
// panic, and VerifyStream on what it returns must not panic either.
func FuzzVerifyStream(f *testing.F) {
	f.Add([]byte("{\"id\":\"x\",\"org\":\"a\",\"seq\":0}\n{\"checkpoint\":\"a/orgs/a\\n1\\nAAAA\\n\\n— k x\\n\"}\n"), 10)
	f.Add([]byte("{\"id\":\"x\",\"org\":\"a\",\"seq\":3}\n{\"id\":\"y\",\"org\":\"a\",\"seq\":1}\n"), 20)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		if cut < 0 || cut > len(data) {
			cut = len(data) / 2
		}
		var objs []*verify.StreamObject
		for _, part := range [][]byte{data[:cut], data[cut:]} {
			o, err := verify.ParseStreamObject("o", part)
			if err != nil {
				if !verify.IsMalformed(err) {
					t.Fatalf("ParseStreamObject error %T %v, want *MalformedError", err, err)
				}
				return
			}
			objs = append(objs, o)
		}
		verify.VerifyStream(objs, verify.Options{Workers: 1, Keys: []string{exampleVerifier}})
	})
}
