// SPDX-License-Identifier: Apache-2.0

package httpx

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
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

// TestGzipWriterPieces: large writes are compressed in pieces side by
// side; mixed with small writes, flushes and repeats that reach back
// across the pieces' edges, the stream still decompresses (with its CRC
// and size checked) to exactly the bytes written; an empty write makes an
// empty gzip stream.
func TestGzipWriterPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() []byte {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return b
	}
	var words [][]byte
	for range 2000 {
		words = append(words, word())
	}
	text := func(n int) []byte {
		var b []byte
		for len(b) < n {
			if rng.IntN(50) == 0 && len(b) > 1000 { // a copy of earlier bytes
				i := rng.IntN(len(b) - 500)
				b = append(b, b[i:i+1+rng.IntN(400)]...)
				continue
			}
			b = append(append(b, words[rng.IntN(len(words))]...), ' ')
		}
		return b[:n]
	}
	for _, sizes := range [][]int{
		{0},
		{parallelMin},
		{10, parallelMin, 3, 0, 700 << 10, 64 << 10, parallelMin + 1, 1 << 20, 5},
		{histBytes / 2, parallelMin, -1, 2 * parallelMin, 100, -1, parallelMin},
	} {
		rec := httptest.NewRecorder()
		g := NewGzipWriter(rec, nil)
		var all []byte
		for _, n := range sizes {
			if n < 0 {
				g.Flush()
				continue
			}
			b := text(n)
			if len(all) > 40000 && n > 0 {
				copy(b, all[len(all)-40000:]) // reaches back past one window
			}
			all = append(all, b...)
			if k, err := g.Write(b); err != nil || k != len(b) {
				t.Fatalf("write of %d: %d, %v", n, k, err)
			}
			clear(b) // the caller reuses its buffer
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatalf("writes %v: %v", sizes, err)
		}
		zr.Multistream(false)
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, all) {
			t.Errorf("writes %v: %d bytes back (%v), want %d", sizes, len(got), err, len(all))
		}
		if rest, _ := io.ReadAll(rec.Body); len(rest) != 0 {
			t.Errorf("writes %v: %d bytes after the gzip stream", sizes, len(rest))
		}
	}
}
