// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestAppendCanonicalGolden(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 4, 5, 123456789, time.UTC)
	e := Event{
		ID: "ev1", Org: "acme", Seq: 7, Type: "org.change_role", Category: "membership",
		Actor:       Actor{Type: "user", ID: "u1", Name: "alice"},
		Targets:     []Target{{Type: "user", ID: "u2", Name: "bob \"the\" <b>"}},
		Description: "alice changed bob's role\nfrom read to admin \u2028",
		Client:      &Client{IP: "81.2.69.0", IPPrefixLen: 24, UserAgent: "curl/8"},
		Location:    &Location{CountryCode: "GB", Country: "United Kingdom", Region: "England", City: "London"},
		OccurredAt:  at, ReceivedAt: at.Add(time.Second),
		Metadata: map[string]any{"z": json.Number("1.50"), "a": []any{"x", true, nil}, "m": map[string]any{"b": "\x01", "a": "é"}},
	}
	got := string(e.AppendCanonical(nil))
	want := `{"id":"ev1","org":"acme","seq":7,"type":"org.change_role","category":"membership",` +
		`"actor":{"type":"user","id":"u1","name":"alice"},"targets":[{"type":"user","id":"u2","name":"bob \"the\" <b>"}],` +
		`"description":"alice changed bob's role\nfrom read to admin \u2028",` +
		`"client":{"ip":"81.2.69.0","ip_prefix_len":24,"user_agent":"curl/8"},` +
		`"location":{"country_code":"GB","country":"United Kingdom","region":"England","city":"London"},` +
		`"occurred_at":"2026-11-22T10:04:05.123456Z","received_at":"2026-11-22T10:04:06.123456Z",` +
		`"metadata":{"a":["x",true,null],"m":{"a":"é","b":"\u0001"},"z":1.50}}`
	if got != want {
		t.Fatalf("canonical encoding:\ngot  %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Fatal("canonical encoding is not valid JSON")
	}
	// Trail's own events are marked; no client, no location.
	e.Client, e.Location, e.Metadata, e.RecordedBy = nil, nil, nil, RecordedByTrail
	got = string(e.AppendCanonical(nil))
	if want := `"client":null,"location":null`; !strings.Contains(got, want) {
		t.Errorf("got %s, want it to contain %s", got, want)
	}
	if want := `"metadata":{},"recorded_by":"trail"}`; !strings.Contains(got, want) {
		t.Errorf("got %s, want it to end with %s", got, want)
	}
}

func TestAnonymize(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		wantBits int
	}{
		{"81.2.69.160", "81.2.69.0", 24},
		{"::ffff:81.2.69.160", "81.2.69.0", 24},
		{"2a02:26f0:1:2:3:4:5:6", "2a02:26f0:1::", 48},
		{"2a02:26f0:ffff:ffff::1", "2a02:26f0:ffff::", 48},
	}
	for _, tt := range tests {
		got, bits := Anonymize(netip.MustParseAddr(tt.in), 24, 48)
		if got.String() != tt.want || bits != tt.wantBits {
			t.Errorf("Anonymize(%s) = %s/%d, want %s/%d", tt.in, got, bits, tt.want, tt.wantBits)
		}
	}
}

// TestAppendTime: the canonical time is AppendFormat's, for times across
// the years it writes itself and beyond them, in any zone.
func TestAppendTime(t *testing.T) {
	zone := time.FixedZone("x", -(5*3600 + 30*60))
	times := []time.Time{
		{}, time.Unix(0, 0), time.Unix(0, 999), time.Unix(1, 999999999),
		time.Date(2026, 11, 22, 10, 4, 5, 123456789, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999999999, zone),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(812, 2, 29, 1, 2, 3, 4000, time.UTC),
	}
	for i := int64(0); i < 20000; i++ {
		times = append(times, time.Unix(0, 0).Add(time.Duration(i*7919*int64(time.Hour)+i*104729*int64(time.Microsecond)+i%1000)).In(zone))
	}
	for _, at := range times {
		want := `"` + at.UTC().Format(TimeFormat) + `"`
		if got := string(appendTime([]byte("x"), at)); got != "x"+want {
			t.Fatalf("appendTime(%v) = %s, want x%s", at, got, want)
		}
	}
}

// TestSkipPlain: the 8-at-a-time test says what the byte-by-byte one says,
// for every byte value at every position among plain bytes and among
// random ones.
func TestSkipPlain(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	check := func(w [8]byte) {
		want := true
		for _, c := range w {
			want = want && plain(c)
		}
		first := 0
		for first < 8 && plain(w[first]) {
			first++
		}
		if got := skipPlain(w[:], 0); got != first {
			t.Fatalf("skipPlain(%q) = %d, want %d", w, got, first)
		}
		if got := skipPlainString(string(w[:]), 0); got != first {
			t.Fatalf("skipPlainString(%q) = %d, want %d", w, got, first)
		}
		if got := notPlain(binary.LittleEndian.Uint64(w[:])) == 0; got != want {
			t.Fatalf("notPlain(%q) == 0 is %v, want %v", w, got, want)
		}
		// The tail, byte by byte.
		if got := skipPlain(w[:7], 0); got != min(first, 7) {
			t.Fatalf("skipPlain(%q) = %d, want %d", w[:7], got, min(first, 7))
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for pos := range 8 {
		for c := range 256 {
			w := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			w[pos] = byte(c)
			check(w)
			for range 20 {
				for j := range w {
					if j != pos {
						w[j] = byte(rnd.IntN(256))
						if rnd.IntN(2) == 0 {
							w[j] = byte(0x20 + rnd.IntN(0x60))
						}
					}
				}
				check(w)
			}
		}
	}
}

// TestArenaFreePoisons: in tests, a pooled arena's chunks are overwritten
// at free, so that what a store kept without copying reads garbage.
func TestArenaFreePoisons(t *testing.T) {
	if !poisonFreed() {
		t.Skip("benchmarks run: chunks are not poisoned")
	}
	a := newPooledArena()
	s := a.string([]byte("kept without a copy"))
	b := a.bytes([]byte("bytes too"))
	a.free()
	if s == "kept without a copy" || string(b) == "bytes too" || strings.Trim(s, "\xa5") != "" {
		t.Fatalf("after free: %q, %q", s, b)
	}
}
