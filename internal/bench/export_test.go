// SPDX-License-Identifier: Apache-2.0

package bench

import "testing"

// TestJSONCounter counts the events of JSON exports however the bytes are
// split, with structure characters inside strings and the integrity
// block's arrays, which are not events.
func TestJSONCounter(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want int64
	}{
		{"empty", `{"format":"1","org":"a","events":[],"count":0}`, 0},
		{"two", `{"org":"a","events":[{"seq":0},{"seq":1,"m":{"x":[{"y":1}]}}],"count":2}`, 2},
		{"braces in strings", `{"events":[{"d":"},{\"x\":[{"},{"d":"\\"},{"d":"]}"}],"count":3}`, 3},
		{"backslash runs", `{"events":[{"a":"\\"},{"b":"\\\"]}{"},{"c":"x\\\\"}],"count":3}`, 3},
		{"integrity arrays", `{"events":[{"a":1}],"count":1,"integrity":{"hashes":["x","y"],"c":[{"z":1}]}}`, 1},
		{"filter before events", `{"filter":"{[","events":[{"a":"["}]}`, 1},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 2, 3, 5, len(tt.doc)} {
			c := &jsonCounter{}
			for i := 0; i < len(tt.doc); i += chunk {
				if _, err := c.Write([]byte(tt.doc[i:min(i+chunk, len(tt.doc))])); err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
			}
			if c.events() != tt.want || len(c.stack) != 0 || c.inString {
				t.Errorf("%s in chunks of %d: %d events (stack %q, in string %v), want %d", tt.name, chunk, c.events(), c.stack, c.inString, tt.want)
			}
		}
	}
	if _, err := (&jsonCounter{}).Write([]byte(`]`)); err == nil {
		t.Error("an unbalanced ] was accepted")
	}
}

// TestLineCounter counts NDJSON events across writes.
func TestLineCounter(t *testing.T) {
	c := &lineCounter{}
	for _, s := range []string{`{"a":1}` + "\n" + `{"b"`, `:2}` + "\n", "{}\n"} {
		c.Write([]byte(s))
	}
	if c.events() != 3 {
		t.Errorf("got %d events, want 3", c.events())
	}
}

// TestVocab checks that the queries' values come from the
// events: every kind has something to search for.
func TestVocab(t *testing.T) {
	p := newPool(20000, 500)
	v := newVocab(p.events)
	for name, s := range map[string][]string{"types": v.types, "actors": v.actors, "targets": v.targets,
		"words": v.words, "rare": v.rare, "phrases": v.phrases} {
		if len(s) == 0 {
			t.Errorf("no %s in a 20,000-event pool", name)
		}
	}
	if len(v.combos) == 0 {
		t.Error("no type+actor+word combinations")
	}
	if len(p.bodies) != 40 {
		t.Errorf("%d bodies of 500 from 20,000 events, want 40", len(p.bodies))
	}
}

// BenchmarkJSONCounter: the client must count far faster than the server
// exports.
func BenchmarkJSONCounter(b *testing.B) {
	p := newPool(2000, 500)
	doc := []byte(`{"events":[`)
	for i, e := range p.events {
		if i > 0 {
			doc = append(doc, ',')
		}
		doc = append(doc, e...)
	}
	doc = append(doc, "]}"...)
	b.SetBytes(int64(len(doc)))
	for range b.N {
		c := &jsonCounter{}
		c.Write(doc)
		if c.events() != int64(len(p.events)) {
			b.Fatalf("%d events, want %d", c.events(), len(p.events))
		}
	}
}
