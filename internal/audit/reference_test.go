// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/geo/geotest"
)

// The reference path is the decoder Trail had before the fast path
// (splitReference, Service.prepare): encoding/json into maps, then
// validation, then the canonical encoding at Encode. It stays the one that
// names every problem. These tests hold the fast path to it: the same
// decision, and for an accepted event the same Event, hash, search text
// and canonical bytes.

var refNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// refService is a service whose geolocation database is geotest's, which
// the demo's addresses partly fall in.
func refService(t testing.TB) *audit.Service {
	t.Helper()
	db, err := geo.Open(geotest.WriteDB(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := audit.NewService(audit.Config{Locator: db, Now: func() time.Time { return refNow }})
	t.Cleanup(s.Close)
	return s
}

// fixedIDs makes the ids both paths give events deterministic.
func fixedIDs(t testing.TB) func() {
	n := 0
	t.Cleanup(audit.SetIDSource(func() string { n++; return fmt.Sprintf("gen-%06d", n) }))
	return func() { n = 0 }
}

// compareEvent runs raw through both paths and reports a difference. It
// returns whether the fast path took the event.
func compareEvent(t testing.TB, s *audit.Service, raw []byte, reset func()) bool {
	t.Helper()
	reset()
	fp, fastOK := s.PrepareFast("acme", raw)
	reset()
	rp, details := s.PrepareReference("acme", raw)
	if !fastOK {
		return false
	}
	if details != nil {
		t.Fatalf("the fast path accepts what the reference refuses (%+v):\n%s", details, raw)
	}
	received := refNow.Add(time.Second)
	fp.Event.ReceivedAt, rp.Event.ReceivedAt = received, received
	fb, rb := fp.Encode(42), rp.Encode(42)
	if !bytes.Equal(fb, rb) {
		t.Fatalf("canonical bytes differ for\n%s\nfast      %s\nreference %s", raw, fb, rb)
	}
	if fp.Hash != rp.Hash {
		t.Fatalf("hashes differ for\n%s", raw)
	}
	if f, r := fp.Event.SearchText(), rp.Event.SearchText(); f != r {
		t.Fatalf("search text differs for\n%s\nfast      %q\nreference %q", raw, f, r)
	}
	fe, re := fp.Event.Plain(), rp.Event.Plain()
	if !reflect.DeepEqual(fe, re) || fp.DefaultOccurred() != rp.DefaultOccurred() {
		t.Fatalf("events differ for\n%s\nfast      %+v\nreference %+v", raw, fe, re)
	}
	return true
}

// demoEvents returns n events of the demo's mix.
func demoEvents(n int) []json.RawMessage {
	var out []json.RawMessage
	for b := range demo.Batches(demo.Options{Events: n, Now: refNow, Seed: 7}) {
		out = append(out, b...)
	}
	return out[:min(n, len(out))]
}

// variants returns edits of a valid event that the fast path must read
// as the reference does.
func variants() []string {
	base := `{"type":"org.change_role","actor":{"type":"user","id":"u1","name":"alice"},"targets":[{"type":"user","id":"u2","name":"bob"}],"metadata":{"old_role":"read","new_role":"admin"}`
	return []string{
		base + `}`,
		base + `,"id":"ev-1","occurred_at":"2026-01-02T15:04:05.123456789+01:00"}`,
		base + `,"id":null,"description":null,"client":null,"occurred_at":null}`,
		base + `,"description":"a \"quoted\"\n\ttext \u00e9\u2028 <b>&amp; \ud83d\ude80"}`,
		base + `,"client":{"ip":"81.2.69.160","user_agent":"curl/8 \u00e9"}}`,
		base + `,"client":{"ip":"::ffff:2.125.160.216","ip_prefix_len":8}}`,
		base + `,"client":{"ip":"2a02:26f0:1:2:3:4:5:6","user_agent":""}}`,
		base + `,"client":{"ip":"","user_agent":"x"}}`,
		base + `,"client":{"ip":"10.1.2.3"}}`,
		base + `,"client":{}}`,
		base + `,"org":"x","seq":5,"category":"billing","received_at":"x","location":{"city":"y"},"recorded_by":"trail"}`,
		`{"type":"org.change_role","actor":{"name":"  al  ice ","type":"user"},"targets":[{"type":"user","name":"\u0062ob"}],"metadata":{"new_role":"ad\u006din","x":{"b":[1,2.5e3,-0,null,true],"a":{}},"x":"dup"}}`,
		`{"type":"org.change_role","actor":{"type":"user","id":"u1"},"targets":[{"type":"user","id":"u2"},{"type":"repo","name":"acme/x"}],"metadata":{"new_role":"admin","z":{"k2":1,"k1":2,"k2":3},"n":123456789012345678901234567890}}`,
		`{"type":"repo.add_secrets","actor":{"type":"token","id":"t1"},"targets":[{"type":"repo","name":"acme/x"}],"metadata":{"names":["A","B","C","D","E","F","G"]}}`,
		`{"type":"repo.create","actor":{"type":"user","id":"u1"},"targets":[{"type":"repo","id":"r1","name":"acme/` + strings.Repeat("é", 100) + `"}]}`,
		`{"targets":[{"type":"repo","name":"acme/x"}],"type":"repo.create","actor":{"type":"user","id":"u1"},"metadata":{}}`,
		`  {"type":"repo.create","actor":{"type":"user","id":"u1"},"targets":[{"type":"repo","name":"acme/x"}]}  `,
	}
}

func TestFastPathMatchesReference(t *testing.T) {
	s := refService(t)
	reset := fixedIDs(t)
	events := demoEvents(3000)
	for _, raw := range events {
		if !compareEvent(t, s, raw, reset) {
			t.Errorf("the fast path left a demo event to the reference:\n%s", raw)
		}
	}
	for _, v := range variants() {
		if !compareEvent(t, s, []byte(v), reset) {
			t.Errorf("the fast path left a valid event to the reference:\n%s", v)
		}
	}
	// Invalid events: the seed corpus's, and raw DEL and C1 controls
	// (which JSON lets through unescaped). Both paths refuse them.
	base := `"type":"org.change_role","actor":{"type":"user","id":"u1"},"targets":[{"type":"user","id":"u2"}],"metadata":{"new_role":"admin"}`
	controls := []string{
		`{` + base + `,"description":"a` + "\x7f" + `b"}`,
		`{` + base + `,"client":{"user_agent":"x` + "\u009b" + `"}}`,
		`{"id":"é` + "\u0085" + `",` + base + `}`,
	}
	for _, raw := range controls {
		if _, details := s.PrepareReference("acme", []byte(raw)); details == nil {
			t.Errorf("the reference accepts %q", raw)
		}
		compareEvent(t, s, []byte(raw), reset)
	}
	for _, raw := range seedEvents(t) {
		compareEvent(t, s, raw, reset)
	}
}

// seedEvents returns the events of the FuzzIngest seed corpus.
func seedEvents(t testing.TB) []json.RawMessage {
	files, _ := filepath.Glob("testdata/fuzz/FuzzIngest/*")
	var out []json.RawMessage
	for _, f := range files {
		body := readSeed(t, f)
		raws, err := audit.SplitReference(body, !bytes.HasPrefix(body, []byte(`{"events"`)), audit.Limits{})
		if err == nil {
			out = append(out, raws...)
		}
	}
	return out
}

// readSeed reads the []byte value of a go test fuzz v1 file.
func readSeed(t testing.TB, path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[1])
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "[]byte("), ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}

// TestSplitFastMatchesReference: where the fast splitter takes a body, it
// returns what the reference does.
func TestSplitFastMatchesReference(t *testing.T) {
	lim := audit.Limits{}
	bodies := [][]byte{
		envelopeOf(demoEvents(500)),
		[]byte(" \n{ \"events\" : [ {\"a\":1} , [2], \"x\", 3.5e1, null ] } \r\n"),
		[]byte("{\"a\":1}\r\n\n  {\"b\":[1,{\"c\":\"\\u00e9\"}]}\n\u00a0{}\u00a0\n"),
	}
	for i, body := range bodies {
		for _, ndjson := range []bool{false, true} {
			fast, ok := audit.SplitFast(body, ndjson, lim)
			ref, err := audit.SplitReference(body, ndjson, lim)
			if !ok {
				continue
			}
			if err != nil || len(fast) != len(ref) {
				t.Fatalf("body %d (ndjson %v): fast %d events, reference %d, %v", i, ndjson, len(fast), len(ref), err)
			}
			for j := range fast {
				if !bytes.Equal(fast[j], ref[j]) {
					t.Fatalf("body %d event %d: fast %s, reference %s", i, j, fast[j], ref[j])
				}
			}
		}
	}
	if _, ok := audit.SplitFast(bodies[0], false, lim); !ok {
		t.Error("the fast splitter left the demo batch to the reference")
	}
}

func envelopeOf(raws []json.RawMessage) []byte {
	b := []byte(`{"events":[`)
	for i, r := range raws {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, "]}"...)
}

// FuzzDecodeDifferential feeds the same event to the fast path and the
// reference: the fast path may leave an event to the reference, but never
// accepts what the reference refuses, and what it accepts it encodes,
// hashes and indexes byte for byte as the reference does.
//
//	go test ./internal/audit -run '^$' -fuzz '^FuzzDecodeDifferential$' -fuzztime 10m
func FuzzDecodeDifferential(f *testing.F) {
	for _, v := range variants() {
		f.Add([]byte(v))
	}
	for _, raw := range demoEvents(200) {
		f.Add([]byte(raw))
	}
	s := refService(f)
	reset := fixedIDs(f)
	lim := s.Limits()
	f.Fuzz(func(t *testing.T, raw []byte) {
		compareEvent(t, s, raw, reset)
		for _, ndjson := range []bool{false, true} {
			fast, ok := audit.SplitFast(raw, ndjson, lim)
			if !ok {
				continue
			}
			ref, err := audit.SplitReference(raw, ndjson, lim)
			if err != nil || len(ref) != len(fast) {
				t.Fatalf("split (ndjson %v): fast %d events, reference %d, %v", ndjson, len(fast), len(ref), err)
			}
			for j := range fast {
				if !bytes.Equal(fast[j], ref[j]) {
					t.Fatalf("split event %d: fast %s, reference %s", j, fast[j], ref[j])
				}
			}
		}
	})
}

// TestSearchTextFromMetadataJSON: an event whose metadata is canonical
// JSON (as the fast path leaves it) has the search text of the same event
// with maps.
func TestSearchTextFromMetadataJSON(t *testing.T) {
	withMap := audit.Event{Type: "x.y", Description: "d", Metadata: map[string]any{"b": []any{"s", json.Number("1")}, "a": map[string]any{"k": "v"}}}
	withJSON := audit.Event{Type: "x.y", Description: "d", MetadataJSON: []byte(`{"a":{"k":"v"},"b":["s",1]}`)}
	if got, want := withJSON.SearchText(), withMap.SearchText(); got != want || !strings.Contains(got, "k v") {
		t.Errorf("SearchText = %q, want %q", got, want)
	}
}

// TestFreshID: both paths mark an id Trail made (the producer sent none,
// or null) as fresh, so that a store skips looking it up, and never an id
// the producer sent or one a test's id source made (those may repeat).
func TestFreshID(t *testing.T) {
	s := refService(t)
	base := `{"type":"org.change_role","actor":{"type":"user","id":"u1","name":"alice"},"targets":[{"type":"user","id":"u2","name":"bob"}],"metadata":{"old_role":"read","new_role":"admin"}`
	for _, c := range []struct {
		raw   string
		fresh bool
	}{
		{base + `}`, true},
		{base + `,"id":null}`, true},
		{base + `,"id":"ev-1"}`, false},
	} {
		fp, ok := s.PrepareFast("acme", []byte(c.raw))
		if !ok {
			t.Fatalf("the fast path left %s", c.raw)
		}
		rp, details := s.PrepareReference("acme", []byte(c.raw))
		if details != nil {
			t.Fatal(details)
		}
		if fp.FreshID != c.fresh || rp.FreshID != c.fresh {
			t.Errorf("%s: FreshID fast %v, reference %v; want %v", c.raw, fp.FreshID, rp.FreshID, c.fresh)
		}
	}
	fixedIDs(t)
	fp, _ := s.PrepareFast("acme", []byte(base+`}`))
	rp, _ := s.PrepareReference("acme", []byte(base+`}`))
	if fp.FreshID || rp.FreshID {
		t.Errorf("an id from a test's source is fresh: fast %v, reference %v", fp.FreshID, rp.FreshID)
	}
}
