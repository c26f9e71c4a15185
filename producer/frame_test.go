// SPDX-License-Identifier: Apache-2.0

package producer

import (
	"bytes"
	"fmt"
	"testing"
)

func frames(payloads ...string) []byte {
	var b []byte
	for _, p := range payloads {
		b = appendFrame(b, []byte(p))
	}
	return b
}

func TestScanFrames(t *testing.T) {
	whole := frames("one", "two", "three")
	rec := len(frames("one"))
	tests := []struct {
		name    string
		mutate  func([]byte) []byte
		want    []string // payloads, "!" for a damaged stretch
		damaged int
	}{
		{"intact", func(b []byte) []byte { return b }, []string{"one", "two", "three"}, 0},
		{"torn header", func(b []byte) []byte { return b[:2*rec+5] }, []string{"one", "two", "!"}, 1},
		{"torn payload", func(b []byte) []byte { return b[:len(b)-1] }, []string{"one", "two", "!"}, 1},
		{"flipped payload byte", func(b []byte) []byte { b[rec+frameHeader] ^= 1; return b }, []string{"one", "!", "three"}, 1},
		{"flipped length", func(b []byte) []byte { b[rec+5] ^= 0x10; return b }, []string{"one", "!", "three"}, 1},
		{"flipped magic", func(b []byte) []byte { b[0] = 'X'; return b }, []string{"!", "two", "three"}, 1},
		{"garbage tail", func(b []byte) []byte { return append(b, "TRL1garbage"...) }, []string{"one", "two", "three", "!"}, 1},
		{"zeros between", func(b []byte) []byte {
			return append(append(append([]byte{}, b[:rec]...), make([]byte, 100)...), b[rec:]...)
		}, []string{"one", "!", "two", "three"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := tt.mutate(bytes.Clone(whole))
			var got []string
			for _, s := range scanFrames(buf, 0) {
				if s.payload == nil {
					got = append(got, "!")
				} else {
					got = append(got, string(s.payload))
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzScanFrames: whatever the bytes, scanning covers them exactly, in
// order, and every record it returns is one that was written.
func FuzzScanFrames(f *testing.F) {
	f.Add(frames("a", "bb", "ccc"), 3, byte(1))
	f.Add([]byte("TRL1\x00\x00\x00\x01"), 0, byte(0))
	f.Fuzz(func(t *testing.T, buf []byte, at int, flip byte) {
		if len(buf) > 0 {
			i := (at%len(buf) + len(buf)) % len(buf)
			buf[i] ^= flip
		}
		off := 0
		for _, s := range scanFrames(buf, 0) {
			if s.off != off || s.end <= s.off || s.end > len(buf) {
				t.Fatalf("stretch [%d,%d) after %d in %d bytes", s.off, s.end, off, len(buf))
			}
			if s.payload != nil {
				if _, next, ok := frameAt(buf, s.off); !ok || next != s.end {
					t.Fatalf("record at %d does not decode", s.off)
				}
			}
			off = s.end
		}
		if off != len(buf) {
			t.Fatalf("scan stopped at %d of %d", off, len(buf))
		}
	})
}
