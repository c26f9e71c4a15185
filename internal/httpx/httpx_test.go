// SPDX-License-Identifier: Apache-2.0

package httpx

import (
	"net/http/httptest"
	"testing"
)

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "br, gzip;q=0.5": true, "gzip;q=0": false,
		"gzip; q=0.0": false, "*": true, "identity": false, "deflate, br": false, "x-gzip": false,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", h)
		if got := AcceptsGzip(r); got != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", h, got, want)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	r.Header.Set("Range", "bytes=0-10")
	if AcceptsGzip(r) {
		t.Error("a range request is compressed")
	}
}

func TestSaneRequestID(t *testing.T) {
	for id, want := range map[string]bool{
		"": false, "abc": true, "trace-1:2/3+4=5_6.7": true, "a b": false, "a\nb": false,
		"é": false, string(make([]byte, 129)): false,
	} {
		if got := saneRequestID(id); got != want {
			t.Errorf("%q: %v, want %v", id, got, want)
		}
	}
}

func TestLoadZone(t *testing.T) {
	for name, ok := range map[string]bool{
		"": true, "UTC": true, "Europe/Paris": true, "America/Argentina/Buenos_Aires": true,
		"Local": false, "Mars/Olympus": false, "../etc/passwd": false, "Europe/ Paris": false,
	} {
		if _, err := LoadZone(name); (err == nil) != ok {
			t.Errorf("LoadZone(%q): %v, want ok=%v", name, err, ok)
		}
	}
}
