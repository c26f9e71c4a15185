// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// LeavesFromEvents implements audit.LeavesFromEvents: the engine keeps no
// level-0 tree hashes (tiles.go recomputes each from the event's bytes),
// so a complete export hashes the events it streams rather than have
// ReadHashes decode every page a second time.
func (s *Store) LeavesFromEvents() bool { return true }

// scanDoc reads a doc from canonical bytes without encoding/json: the
// canonical encoding (audit.Event.AppendCanonical) has a fixed field
// order and sorted metadata keys, so one pass over the bytes gives the
// fields, and the metadata's keys and strings in audit.Event.SearchText's
// order. Bytes it does not recognise go to parseDoc, which decodes JSON.
func scanDoc(data []byte) (*doc, error) {
	if d, ok := fastDoc(data, true); ok {
		return d, nil
	}
	return parseDoc(data)
}

// scanFields is scanDoc without the words, for filters that test none:
// the metadata is not read.
func scanFields(data []byte) (*doc, error) {
	if d, ok := fastDoc(data, false); ok {
		return d, nil
	}
	return parseDoc(data)
}

// countFields reads what replaying an event into a tail needs — its id,
// and its category and occurred_at day for the daily counts — and fails
// where scanFields fails (the same scan, or the same JSON decoding of
// bytes it does not recognise), without making the other fields.
func countFields(data []byte) (id string, d *doc, err error) {
	s := &cscan{b: data, ok: true, counts: true}
	if d, ok := s.doc(false); ok {
		return s.id, d, nil
	}
	d, err = parseDoc(data)
	return replayedID(data), d, err
}

type cscan struct {
	b  []byte
	i  int
	ok bool
	// counts is set by countFields: the id, category and times are made,
	// every other value is passed (and checked) as it would be read.
	counts bool
	id     string // the event's id, when counts is set
}

func fastDoc(b []byte, withWords bool) (*doc, bool) {
	return (&cscan{b: b, ok: true}).doc(withWords)
}

func (s *cscan) doc(withWords bool) (*doc, bool) {
	d := &doc{}
	s.lit(`{"id":`)
	if s.counts {
		s.id = s.str()
	} else {
		s.skip()
	}
	s.lit(`,"org":`)
	s.skip()
	s.lit(`,"seq":`)
	s.skipValue()
	s.lit(`,"type":`)
	d.typ = s.val()
	s.lit(`,"category":`)
	d.category = s.str()
	s.lit(`,"actor":{"type":`)
	s.skip()
	s.lit(`,"id":`)
	actorID := s.val()
	s.lit(`,"name":`)
	actorName := s.val()
	if !s.counts {
		d.actor = []string{actorID, actorName}
	}
	s.lit(`},"targets":[`)
	for n := 0; s.ok && s.peek() != ']'; n++ {
		if n > 0 {
			s.lit(`,`)
		}
		s.lit(`{"type":`)
		s.skip()
		s.lit(`,"id":`)
		id := s.val()
		s.lit(`,"name":`)
		name := s.val()
		if !s.counts {
			d.targets = append(d.targets, id, name)
		}
		s.lit(`}`)
	}
	s.lit(`],"description":`)
	desc := s.val()
	s.lit(`,"client":`)
	s.skipValue()
	s.lit(`,"location":`)
	if s.peek() == '{' {
		s.lit(`{"country_code":`)
		d.country = s.val()
		for s.ok && s.peek() == ',' {
			s.lit(`,`)
			s.skip()
			s.lit(`:`)
			s.skipValue()
		}
		s.lit(`}`)
	} else {
		s.skipValue()
	}
	s.lit(`,"occurred_at":`)
	d.occurred = s.time()
	s.lit(`,"received_at":`)
	d.received = s.time()
	if !withWords {
		return d, s.ok
	}
	d.words = words(desc)
	for _, v := range d.actor {
		d.words = append(d.words, words(v)...)
	}
	for _, v := range d.targets {
		d.words = append(d.words, words(v)...)
	}
	d.words = append(d.words, words(d.typ)...)
	s.lit(`,"metadata":`)
	s.walk(func(v string) { d.words = append(d.words, words(v)...) })
	if s.ok && s.peek() == ',' {
		s.lit(`,"recorded_by":`)
		s.str()
	}
	s.lit(`}`)
	return d, s.ok && s.i == len(s.b)
}

func (s *cscan) peek() byte {
	if !s.ok || s.i >= len(s.b) {
		s.ok = false
		return 0
	}
	return s.b[s.i]
}

func (s *cscan) lit(l string) {
	if s.ok && len(s.b)-s.i >= len(l) && string(s.b[s.i:s.i+len(l)]) == l {
		s.i += len(l)
		return
	}
	s.ok = false
}

// val is str for a value the doc keeps, passed when only the counts'
// fields are made (countFields).
func (s *cscan) val() string {
	if s.counts {
		s.skip()
		return ""
	}
	return s.str()
}

// skip passes a JSON string as str reads it (and fails where str fails),
// without making it.
func (s *cscan) skip() {
	if s.peek() != '"' {
		s.ok = false
		return
	}
	for j := s.i + 1; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			s.str() // escapes: checked as str checks them
			return
		case '"':
			s.i = j + 1
			return
		}
	}
	s.ok = false
}

// str reads a JSON string (the escapes the canonical encoder writes).
func (s *cscan) str() string {
	if s.peek() != '"' {
		s.ok = false
		return ""
	}
	start := s.i + 1
	plain := true
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			plain = false
			j++
		case '"':
			s.i = j + 1
			if plain {
				return string(s.b[start:j])
			}
			v, ok := unescape(s.b[start:j])
			s.ok = s.ok && ok
			return v
		}
	}
	s.ok = false
	return ""
}

func unescape(b []byte) (string, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			out = append(out, b[i])
			continue
		}
		if i+1 >= len(b) {
			return "", false
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			if i+4 >= len(b) {
				return "", false
			}
			r, err := strconv.ParseUint(string(b[i+1:i+5]), 16, 16)
			if err != nil || r >= 0xd800 && r < 0xe000 {
				return "", false // surrogates: not written by the encoder
			}
			out = utf8.AppendRune(out, rune(r))
			i += 4
		default:
			return "", false
		}
	}
	return string(out), true
}

func (s *cscan) time() int64 {
	t, err := time.Parse(time.RFC3339Nano, s.str())
	if err != nil {
		s.ok = false
	}
	return t.UnixMicro()
}

// walk visits a JSON value, calling fn with each object key and string,
// in order; with fn nil the strings are passed without being made.
func (s *cscan) walk(fn func(string)) {
	switch s.peek() {
	case '"':
		s.visit(fn)
	case '{':
		s.i++
		for s.ok && s.peek() != '}' {
			if s.b[s.i] == ',' {
				s.i++
			}
			s.visit(fn)
			s.lit(`:`)
			s.walk(fn)
		}
		s.lit(`}`)
	case '[':
		s.i++
		for s.ok && s.peek() != ']' {
			if s.b[s.i] == ',' {
				s.i++
			}
			s.walk(fn)
		}
		s.lit(`]`)
	default:
		s.skipScalar()
	}
}

func (s *cscan) skipValue() { s.walk(nil) }

// visit reads a string for walk.
func (s *cscan) visit(fn func(string)) {
	if fn == nil {
		s.skip()
		return
	}
	fn(s.str())
}

// skipScalar passes a number, true, false or null.
func (s *cscan) skipScalar() {
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == ',' || c == '}' || c == ']' {
			break
		}
		s.i++
	}
	if s.i == start {
		s.ok = false
	}
}
