// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"unicode"
)

// vocab holds values taken from the event pool for the queries to look
// for, so that every query kind has matches (or, for rare words, few).
type vocab struct {
	types   []string    // every type in the pool
	actors  []string    // the most frequent actor names
	targets []string    // frequent target names
	words   []string    // free-text words in 1–20% of events
	rare    []string    // words in one or two events of the pool
	phrases []string    // multi-word names
	combos  [][3]string // type, actor, word that occur together
}

type poolEvent struct {
	Type  string `json:"type"`
	Actor struct {
		Name string `json:"name"`
	} `json:"actor"`
	Targets []struct {
		Name string `json:"name"`
	} `json:"targets"`
	Metadata map[string]any `json:"metadata"`
}

func newVocab(events []json.RawMessage) vocab {
	var v vocab
	types, actors, targets := counter{}, counter{}, counter{}
	words, phrases := counter{}, counter{}
	for i, raw := range events {
		var e poolEvent
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		types.add(e.Type)
		actors.add(e.Actor.Name)
		seen := map[string]bool{}
		for _, t := range e.Targets {
			targets.add(t.Name)
			if strings.Contains(t.Name, " ") {
				phrases.add(t.Name)
			}
			for _, w := range tokens(t.Name) {
				if !seen[w] {
					seen[w] = true
					words.add(w)
				}
			}
		}
		if i%1000 == 0 && len(e.Targets) > 0 {
			if w := firstWord(e.Targets[0].Name); w != "" && e.Actor.Name != "" {
				v.combos = append(v.combos, [3]string{e.Type, e.Actor.Name, w})
			}
		}
	}
	n := len(events)
	v.types = types.keys(1, n)
	v.actors = firstN(actors.keys(n/200, n), 8)
	v.targets = firstN(targets.keys(n/1000, n/20), 12)
	v.words = firstN(words.keys(n/100, n/5), 12)
	v.rare = firstN(words.keys(1, 2), 24)
	v.phrases = firstN(phrases.keys(n/1000, n), 8)
	return v
}

// tokens splits s into lower-case words of letters and digits that hold
// at least three letters and four characters.
func tokens(s string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		letters := 0
		for _, r := range w {
			if unicode.IsLetter(r) {
				letters++
			}
		}
		if len(w) >= 4 && letters >= 3 {
			out = append(out, w)
		}
	}
	return out
}

func firstWord(s string) string {
	for _, w := range tokens(s) {
		if strings.IndexFunc(w, unicode.IsDigit) < 0 {
			return w
		}
	}
	return ""
}

// counter counts how many events hold each value.
type counter map[string]int

func (c counter) add(s string) {
	if s != "" {
		c[s]++
	}
}

// keys returns the values counted lo..hi times, most frequent first, then
// by value, so the same pool always gives the same vocabulary.
func (c counter) keys(lo, hi int) []string {
	var out []string
	for k, n := range c {
		if n >= lo && n <= hi {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(c[b], c[a]), cmp.Compare(a, b))
	})
	return out
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }
