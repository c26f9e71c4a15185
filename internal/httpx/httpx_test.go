// SPDX-License-Identifier: Apache-2.0

package httpx

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http/httptest"
	"sync"
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

// TestGzipWriterPooled: compressors come from a pool, so responses one
// after another (and side by side) must each be a complete, separate
// gzip stream of their own bytes; a write after Close fails rather than
// reaching the client uncompressed.
func TestGzipWriterPooled(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				body := bytes.Repeat([]byte(fmt.Sprintf(`{"response":%d,"part":%d}`, i, j)), 100*(j+1))
				rec := httptest.NewRecorder()
				g := NewGzipWriter(rec, nil)
				g.Write(body[:len(body)/2])
				g.Flush()
				g.Write(body[len(body)/2:])
				if err := g.Close(); err != nil {
					t.Error(err)
					return
				}
				if _, err := g.Write([]byte("late")); err == nil {
					t.Error("a write after Close succeeded")
				}
				if got := rec.Header().Get("Content-Encoding"); got != "gzip" {
					t.Errorf("Content-Encoding %q", got)
				}
				zr, err := gzip.NewReader(rec.Body)
				if err != nil {
					t.Error(err)
					return
				}
				got, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(got, body) {
					t.Errorf("response %d/%d: %d bytes back (err %v), want %d", i, j, len(got), err, len(body))
				}
			}
		})
	}
	wg.Wait()
}
