// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/trailaudit/trail/internal/audit"
)

// doc is what filters look at in one event, read from its canonical bytes.
type doc struct {
	typ, category, country string
	actor                  []string // id and name
	targets                []string // ids and names
	occurred, received     int64    // Unix microseconds
	words                  []string // the search text's words, in order
}

// canonicalDoc is the part of the canonical encoding docs are made of.
type canonicalDoc struct {
	Type        string         `json:"type"`
	Category    string         `json:"category"`
	Actor       audit.Actor    `json:"actor"`
	Targets     []audit.Target `json:"targets"`
	Description string         `json:"description"`
	Location    *struct {
		CountryCode string `json:"country_code"`
	} `json:"location"`
	OccurredAt time.Time      `json:"occurred_at"`
	ReceivedAt time.Time      `json:"received_at"`
	Metadata   map[string]any `json:"metadata"`
}

// parseDoc reads a doc from an event's canonical bytes. The words are
// those of audit.Event.SearchText, so a sealed event matches exactly as
// it did when it was ingested.
func parseDoc(data []byte) (*doc, error) {
	var c canonicalDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("logstore: stored event is not canonical JSON: %w", err)
	}
	ev := audit.Event{Type: c.Type, Actor: c.Actor, Targets: c.Targets, Description: c.Description, Metadata: c.Metadata}
	d := &doc{
		typ: c.Type, category: c.Category,
		actor:    []string{c.Actor.ID, c.Actor.Name},
		occurred: c.OccurredAt.UnixMicro(), received: c.ReceivedAt.UnixMicro(),
		words: words(ev.SearchText()),
	}
	if c.Location != nil {
		d.country = c.Location.CountryCode
	}
	for _, t := range c.Targets {
		d.targets = append(d.targets, t.ID, t.Name)
	}
	return d, nil
}

// words splits text into its words: runs of letters, digits and marks,
// lower case (the tokenization of the SQLite and PostgreSQL engines).
func words(s string) []string {
	if w, ok := asciiWords(s); ok {
		return w
	}
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r)
	})
}

// asciiWords is words for ASCII text (most of it), in one lower-cased
// copy and one slice: in ASCII the letters, numbers and marks are
// [A-Za-z0-9]. False for text with other bytes.
func asciiWords(s string) ([]string, bool) {
	n, in, upper := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return nil, false
		}
		w := asciiWord[c]
		if w && !in {
			n++
		}
		in = w
		upper = upper || 'A' <= c && c <= 'Z'
	}
	low := s
	if upper {
		low = strings.ToLower(s)
	}
	out := make([]string, 0, n)
	start := -1
	for i := 0; i <= len(low); i++ {
		if i < len(low) && asciiWord[low[i]] {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			out = append(out, low[start:i])
			start = -1
		}
	}
	return out, true
}

// asciiWord marks the ASCII bytes that are letters or numbers.
var asciiWord = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		r := rune(c)
		t[c] = unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
	}
	return t
}()

// Kinds of filter keys: a key is its kind byte and a value, hashed.
const (
	keyType     = 't'
	keyCategory = 'c'
	keyCountry  = 'k'
	keyActor    = 'a'
	keyTarget   = 'g'
	keyWord     = 'w'
	keyPrefix3  = '3' // the first 3 bytes of a word
	keyPrefix5  = '5' // the first 5 bytes of a word
	keyPrefix8  = '8' // the first 8 bytes of a word (block format 2)
	keyBigram   = 'b' // two consecutive words, space-separated (block format 2)
)

// fieldKeys calls add with the actor and target keys of d (the filters
// of block format 2; its types, categories and countries are sets).
func (d *doc) fieldKeys(add func(kind byte, v string)) {
	for _, a := range d.actor {
		if a != "" {
			add(keyActor, a)
		}
	}
	for _, t := range d.targets {
		if t != "" {
			add(keyTarget, t)
		}
	}
}

// pairKeys calls add with the keys of d's pairs of consecutive words (a
// block's pair filter, format 2).
func (d *doc) pairKeys(add func(kind byte, v string)) {
	for i := 1; i < len(d.words); i++ {
		add(keyBigram, bigram(d.words[i-1], d.words[i]))
	}
}

// wordKeys calls add with the keys of d's words in a block's filter
// (format 2): each word and its first 3, 5 and 8 bytes.
func (d *doc) wordKeys(add func(kind byte, v string)) {
	for _, w := range d.words {
		add(keyWord, w)
		if len(w) >= 3 {
			add(keyPrefix3, w[:3])
		}
		if len(w) >= 5 {
			add(keyPrefix5, w[:5])
		}
		if len(w) >= 8 {
			add(keyPrefix8, w[:8])
		}
	}
}

// bigram is the filter value of two consecutive words.
func bigram(a, b string) string { return a + " " + b }

// prefixKey is the key a word prefix needs in a filter of block format
// version (1 or 2), or false when the prefix is too short to have one.
func prefixKey(p string, version byte) (kind byte, v string, ok bool) {
	switch {
	case len(p) >= 8 && version >= 2:
		return keyPrefix8, p[:8], true
	case len(p) >= 5:
		return keyPrefix5, p[:5], true
	case len(p) >= 3:
		return keyPrefix3, p[:3], true
	}
	return 0, "", false
}
