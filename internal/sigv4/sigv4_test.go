// SPDX-License-Identifier: Apache-2.0

package sigv4

import (
	"net/http"
	"testing"
	"time"
)

// TestAWSExample signs the "GET Object" example of AWS's SigV4 header
// documentation and compares with its published signature.
func TestAWSExample(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	req.Header.Set("Range", "bytes=0-9")
	s := Signer{KeyID: "AKIAIOSFODNN7EXAMPLE", Secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", Region: "us-east-1", Service: "s3"}
	s.Sign(req, PayloadHash(nil), time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization:\n got %s\nwant %s", got, want)
	}
}

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, path, query string }{
		{"a/b c/é~-_.", "a/b%20c/%C3%A9~-_.", "a%2Fb%20c%2F%C3%A9~-_."},
		{"x+y=z&", "x%2By%3Dz%26", "x%2By%3Dz%26"},
	} {
		if got := Escape(c.in, false); got != c.path {
			t.Errorf("Escape(%q, false) = %q, want %q", c.in, got, c.path)
		}
		if got := Escape(c.in, true); got != c.query {
			t.Errorf("Escape(%q, true) = %q, want %q", c.in, got, c.query)
		}
	}
}
