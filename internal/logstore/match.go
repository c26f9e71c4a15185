// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trailaudit/trail/internal/audit"
)

// matcher is a compiled audit.Filter: it tests docs exactly, and
// summaries conservatively (mayMatch is false only when no event the
// summary describes can match).
type matcher struct {
	terms []term
	empty bool // matches every event
	none  bool // matches no event
	words bool // a term tests the search text's words
	text  bool // a positive term tests them (word sections can skip pages)
	pairs bool // a positive term has pairs of whole words (pair filters can skip blocks)
	// plain: a positive type, category or country term's values are all
	// plain (plainValue), or an actor or target term's all literal
	// (literalValue), so an event's bytes hold one of them (fieldsMay).
	plain bool
	// head: a positive type, type prefix or category term's values are
	// all plain (headMay).
	head bool
	// setsOnly: every term is a type, category or country term, and the
	// block's columns would not skip more than its pages' sets
	// (columnsPay): then a page's sets decide whether it may match, and a
	// walk needs no block header to pick its pages (walker.blockBySum).
	setsOnly bool
}

type term struct {
	audit.Term
	words    []string // text terms: the value's words
	from, to int64    // time terms, Unix microseconds; 0 to is open
	hasFrom  bool
	hasTo    bool
	probes   []uint64 // text terms: keys every matching event has in a version 1 filter
	wprobes  []uint64 // … in a version 2 block filter
	pprobes  []uint64 // … in a version 2 pair filter
	values   []string // other terms: the values OR'ed (audit.Term.Values)
	plain    bool     // a positive set term whose values are all plain (fieldsMay)
	literal  bool     // a positive actor or target term whose values are all literal (fieldsMay)
	alts     []uint64 // their keys: a matching event has one of them in its filter
	// known caches valueMatches of the summaries' interned values
	// (strTable index): 0 not tested yet, 1 matches, 2 does not.
	known []byte
}

// fieldKey is the filter key kind of each field whose values are keys.
var fieldKey = map[audit.Field]byte{
	audit.FieldType:     keyType,
	audit.FieldCategory: keyCategory,
	audit.FieldCountry:  keyCountry,
	audit.FieldActor:    keyActor,
	audit.FieldTarget:   keyTarget,
}

func compile(f audit.Filter) *matcher {
	m := &matcher{empty: f.Empty()}
	for _, t := range f.Terms {
		c := term{Term: t}
		switch t.Field {
		case audit.FieldText:
			m.words = true
			m.text = m.text || !t.Negate
			c.words = words(t.Value)
			if len(c.words) == 0 && !t.Negate {
				m.none = true // a value with no word matches no event
			}
			for i, w := range c.words {
				if i < len(c.words)-1 || t.Phrase {
					h := keyHash(keyWord, w)
					c.probes, c.wprobes = append(c.probes, h), append(c.wprobes, h)
					if i > 0 {
						c.pprobes = append(c.pprobes, keyHash(keyBigram, bigram(c.words[i-1], w)))
						m.pairs = m.pairs || !t.Negate
					}
					continue
				}
				if kind, v, ok := prefixKey(w, 1); ok {
					c.probes = append(c.probes, keyHash(kind, v))
				}
				if kind, v, ok := prefixKey(w, 2); ok {
					c.wprobes = append(c.wprobes, keyHash(kind, v))
				}
			}
		case audit.FieldType, audit.FieldTypePrefix, audit.FieldCategory, audit.FieldCountry, audit.FieldActor, audit.FieldTarget:
			c.values = t.Values()
			c.plain = c.setKind() >= 0 && !t.Negate && len(c.values) > 0 && !slices.ContainsFunc(c.values, func(v string) bool { return !plainValue(v) })
			c.literal = (t.Field == audit.FieldActor || t.Field == audit.FieldTarget) && !t.Negate && len(c.values) > 0 &&
				!slices.ContainsFunc(c.values, func(v string) bool { return !literalValue(v) })
			m.plain = m.plain || c.plain || c.literal
			m.head = m.head || c.plain && t.Field != audit.FieldCountry
			if kind, ok := fieldKey[t.Field]; ok {
				for _, v := range c.values {
					c.alts = append(c.alts, keyHash(kind, v))
				}
			}
		case audit.FieldOccurred, audit.FieldReceived:
			c.hasFrom, c.hasTo = !t.From.IsZero(), !t.To.IsZero()
			if c.hasFrom {
				c.from = t.From.UnixMicro()
			}
			if c.hasTo {
				c.to = t.To.UnixMicro()
			}
		}
		m.terms = append(m.terms, c)
	}
	m.setsOnly = m.onlySets()
	return m
}

// mayHold runs the byte tests of an event (headMay, fieldsMay, textMay;
// low is textMay's buffer): false only if it cannot match. at is where
// its seq's digits are (seqPlace) in a version 3 page, or 0. The tests
// hold for the bytes without the seq's digits too: no term tests the
// seq, and removing its digits changes no other field.
func (m *matcher) mayHold(data []byte, at int, low *[]byte) bool {
	head := false
	if m.head && at > 0 {
		may, ok := m.headMay(data[at:])
		if ok && !may {
			return false
		}
		head = ok
	}
	if m.plain && !m.fieldsMaySkip(data, head) {
		return false
	}
	return !m.text || m.textMay(data, low)
}

// headMay tests the plain type, type prefix and category terms on the
// values that follow an event's seq (b, from its digits' place): the
// canonical encoding writes `,"type":"T","category":"C"` there, and a
// value with no escape is its bytes. ok is false when the bytes are not
// so (the other tests decide).
func (m *matcher) headMay(b []byte) (may, ok bool) {
	for len(b) > 0 && isDigit(b[0]) {
		b = b[1:]
	}
	typ, b, ok := fieldAfter(b, `,"type":"`)
	if !ok {
		return false, false
	}
	cat, _, ok := fieldAfter(b, `,"category":"`)
	if !ok {
		return false, false
	}
	for i := range m.terms {
		t := &m.terms[i]
		if !t.plain {
			continue
		}
		v := typ
		switch t.Field {
		case audit.FieldCategory:
			v = cat
		case audit.FieldCountry:
			continue
		}
		if !slices.ContainsFunc(t.values, func(w string) bool {
			return string(v) == w || t.Field == audit.FieldTypePrefix && bytes.HasPrefix(v, []byte(w))
		}) {
			return false, true
		}
	}
	return true, true
}

// fieldAfter reads the JSON string that b starts with after key (which
// ends with its opening quote), and what follows it; ok is false if b
// does not start so or the string has an escape.
func fieldAfter(b []byte, key string) (v, rest []byte, ok bool) {
	if !bytes.HasPrefix(b, []byte(key)) {
		return nil, b, false
	}
	b = b[len(key):]
	end := bytes.IndexByte(b, '"')
	if end < 0 || bytes.IndexByte(b[:end], '\\') >= 0 {
		return nil, b, false
	}
	return b[:end], b[end+1:], true
}

// confirm tests an event's canonical bytes exactly. The fields other than
// the words are read first: an event that fails on them costs no
// tokenizing of its text.
func (m *matcher) confirm(data []byte) (bool, error) {
	d, err := scanFields(data)
	if err != nil || !m.matchFields(d) {
		return false, err
	}
	if !m.words {
		return true, nil
	}
	if d, err = scanDoc(data); err != nil {
		return false, err
	}
	return m.match(d), nil
}

// match reports whether d satisfies every term.
func (m *matcher) match(d *doc) bool {
	for i := range m.terms {
		if m.terms[i].test(d) == m.terms[i].Negate {
			return false
		}
	}
	return true
}

// matchFields reports whether d satisfies every term but the text ones
// (d may lack its words).
func (m *matcher) matchFields(d *doc) bool {
	for i := range m.terms {
		t := &m.terms[i]
		if t.Field != audit.FieldText && t.test(d) == t.Negate {
			return false
		}
	}
	return true
}

// test is the positive form of the term.
func (t *term) test(d *doc) bool {
	switch t.Field {
	case audit.FieldText:
		return hasWords(d.words, t.words, !t.Phrase)
	case audit.FieldType, audit.FieldTypePrefix, audit.FieldCategory, audit.FieldCountry:
		return t.valueMatches(t.fieldOf(d))
	case audit.FieldActor:
		return slices.ContainsFunc(d.actor, t.valueMatches)
	case audit.FieldTarget:
		return slices.ContainsFunc(d.targets, t.valueMatches)
	case audit.FieldOccurred:
		return t.inRange(d.occurred)
	case audit.FieldReceived:
		return t.inRange(d.received)
	}
	return false
}

// fieldOf returns d's value of the term's single-valued field.
func (t *term) fieldOf(d *doc) string {
	switch t.Field {
	case audit.FieldCategory:
		return d.category
	case audit.FieldCountry:
		return d.country
	}
	return d.typ
}

// valueMatches reports whether v equals one of the term's values (for a
// type prefix, starts with one).
func (t *term) valueMatches(v string) bool {
	for _, w := range t.values {
		if v == w || t.Field == audit.FieldTypePrefix && strings.HasPrefix(v, w) {
			return true
		}
	}
	return false
}

func (t *term) inRange(v int64) bool {
	return (!t.hasFrom || v >= t.from) && (!t.hasTo || v < t.to)
}

// hasWords reports whether want occurs in have as consecutive words; with
// prefix, the last one only needs to begin the word it meets.
func hasWords(have, want []string, prefix bool) bool {
	if len(want) == 0 {
		return false
	}
	last := len(want) - 1
	for i := 0; i+last < len(have); i++ {
		ok := true
		for j, w := range want {
			h := have[i+j]
			if j == last && prefix {
				ok = strings.HasPrefix(h, w)
			} else {
				ok = h == w
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// mayMatch tests a block's header summary; words tells which word keys
// its filter holds (blockHeader.wordKeys).
func (m *matcher) mayMatch(s *summary, words int) bool {
	for i := range m.terms {
		if !m.terms[i].summaryMay(s, words) {
			return false
		}
	}
	return true
}

// columnsPay reports whether a block's columns (columns.go) may skip
// more than its page summaries do: for one type, category or country
// term alone (with times or negations) the page sets are exact, so that
// decoding the columns would skip no page and only spare testing the
// events of pages that are decoded anyway. They pay for two such terms
// (no single event may have both values), an actor, or words (an event
// failing on its fields costs no tokenizing).
func (m *matcher) columnsPay() bool {
	n := 0
	for i := range m.terms {
		switch col := columnOf(m.terms[i].Field); {
		case col == 3:
			return true
		case col >= 0:
			n++
		}
	}
	return n >= 2 || n == 1 && m.words
}

// setKind is the summary set a term's field is tested against (0
// types, 1 categories, 2 countries), or -1.
func (t *term) setKind() int {
	if k := columnOf(t.Field); k < 3 {
		return k // the columns' order
	}
	return -1
}

func (t *term) summaryMay(s *summary, words int) bool {
	switch t.Field {
	case audit.FieldOccurred:
		return t.rangeMay(s.minOcc, s.maxOcc)
	case audit.FieldReceived:
		return t.rangeMay(s.minRec, s.maxRec)
	}
	if kind := t.setKind(); kind >= 0 {
		all, any := true, false
		for _, v := range [3][]string{s.types, s.categories, s.countries}[kind] {
			p := t.valueMatches(v)
			all, any = all && p, any || p
		}
		return t.decide(all, any)
	}
	return t.filterMay(s.filter, words)
}

// pageMasks returns, for each set term (setKind), a bitset over the
// block's sorted set (dict's) of the values that match its positive form,
// in masks (reused): pageMay tests a page's sets with them.
func (m *matcher) pageMasks(dict *summary, masks [][]byte) [][]byte {
	sets := [3][]string{dict.types, dict.categories, dict.countries}
	return m.setMasks(masks, func(kind int) int { return len(sets[kind]) },
		func(t *term, kind, j int) bool { return t.valueMatches(sets[kind][j]) })
}

// sumMasks is pageMasks for a block's in-memory summary (its sets are
// strTable indexes).
func (m *matcher) sumMasks(s *blockSum, tab *strTable, masks [][]byte) [][]byte {
	return m.setMasks(masks, func(kind int) int { return len(s.sets[kind]) },
		func(t *term, kind, j int) bool { return t.idMatches(s.sets[kind][j], tab) })
}

// setMasks makes pageMasks' bitsets: size tells how many values a set
// kind has, matches whether value j of it matches a term.
func (m *matcher) setMasks(masks [][]byte, size func(kind int) int, matches func(t *term, kind, j int) bool) [][]byte {
	masks = slices.Grow(masks[:0], len(m.terms))[:len(m.terms)]
	for i := range m.terms {
		t := &m.terms[i]
		kind := t.setKind()
		if kind < 0 {
			continue
		}
		n := size(kind)
		mask := slices.Grow(masks[i][:0], (n+7)/8)[:(n+7)/8]
		clear(mask)
		for j := range n {
			if matches(t, kind, j) {
				mask[j/8] |= 1 << (j % 8)
			}
		}
		masks[i] = mask
	}
	return masks
}

// onlySets is matcher.setsOnly, worked out once by compile.
func (m *matcher) onlySets() bool {
	if m.empty {
		return false
	}
	for i := range m.terms {
		if m.terms[i].setKind() < 0 {
			return false
		}
	}
	return !(m.useColumns() && m.columnsPay())
}

// pageMay is mayMatch of a page's summary s, with its block's pageMasks.
func (m *matcher) pageMay(s *summary, masks [][]byte, words int) bool {
	for i := range m.terms {
		if t := &m.terms[i]; t.setKind() < 0 && !t.summaryMay(s, words) {
			return false
		}
	}
	return m.setsMay(&s.bits, masks)
}

// setsMay tests a page's type, category and country bitsets against the
// set terms, with its block's masks (pageMasks, sumMasks).
func (m *matcher) setsMay(sets *[3][]byte, masks [][]byte) bool {
	for i := range m.terms {
		t := &m.terms[i]
		kind := t.setKind()
		if kind < 0 {
			continue
		}
		bits, mask := sets[kind], masks[i]
		all, any := true, false
		for b := range bits {
			any = any || bits[b]&mask[b] != 0
			all = all && bits[b]&^mask[b] == 0
		}
		if !t.decide(all, any) {
			return false
		}
	}
	return true
}

// mayMatchBlock tests a block's summary (summary.go) as mayMatch tests
// its header's: no event of a block it is false for matches.
func (m *matcher) mayMatchBlock(s *blockSum, tab *strTable) bool {
	for i := range m.terms {
		t := &m.terms[i]
		var ok bool
		switch t.Field {
		case audit.FieldOccurred:
			ok = t.rangeMay(s.minOcc, s.maxOcc)
		case audit.FieldReceived:
			ok = t.rangeMay(s.minRec, s.maxRec)
		default:
			if kind := t.setKind(); kind >= 0 {
				all, any := true, false
				for _, id := range s.sets[kind] {
					p := t.idMatches(id, tab)
					all, any = all && p, any || p
					if any && !t.Negate {
						break // a positive term needs one
					}
				}
				ok = t.decide(all, any)
			} else {
				ok = t.filterMay(s.filter, s.wordKeys())
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// idMatches is valueMatches of an interned value, tested once per term.
func (t *term) idMatches(id uint32, tab *strTable) bool {
	if int(id) >= len(t.known) {
		t.known = append(t.known, make([]byte, int(id)+1-len(t.known))...)
	}
	if t.known[id] == 0 {
		t.known[id] = 2
		if t.valueMatches(tab.str(id)) {
			t.known[id] = 1
		}
	}
	return t.known[id] == 1
}

// filterMay tests a summary's Bloom filter (words: which word keys it
// holds) against a term that is not a time or set term. A nil filter
// (a format 3 block's header: its filter is in its summary) may match
// anything.
func (t *term) filterMay(f bloom, words int) bool {
	if f == nil || t.Negate || t.Field == audit.FieldText && words == 0 {
		return true
	}
	if t.alts != nil {
		// A value list: skip only if none of the values is in the filter.
		return slices.ContainsFunc(t.alts, f.has)
	}
	probes := t.probes
	if words == keysV2 {
		probes = t.wprobes
	}
	for _, h := range probes {
		if !f.has(h) {
			return false
		}
	}
	return true
}

// decide turns "every event matches the positive term" and "some event
// may" into whether the term (perhaps negated) may match.
func (t *term) decide(all, any bool) bool {
	if t.Negate {
		return !all
	}
	return any
}

// rangeMay tests a [lo, hi] range of times against the term.
func (t *term) rangeMay(lo, hi int64) bool {
	inside := (!t.hasFrom || lo >= t.from) && (!t.hasTo || hi < t.to)
	overlaps := (!t.hasFrom || hi >= t.from) && (!t.hasTo || lo < t.to)
	return t.decide(inside, overlaps)
}

// pairFilterMay tests a block's pair filter (format 2) against the
// positive text terms.
func (m *matcher) pairFilterMay(f bloom) bool {
	for i := range m.terms {
		t := &m.terms[i]
		if t.Field != audit.FieldText || t.Negate {
			continue
		}
		for _, h := range t.pprobes {
			if !f.has(h) {
				return false
			}
		}
	}
	return true
}

// textPages returns the pages of a block (format 2) that may hold events
// matching every positive text term, from its dictionary.
func (m *matcher) textPages(d *wordDict) (pageSet, error) {
	var out pageSet
	for i := range m.terms {
		t := &m.terms[i]
		if t.Field != audit.FieldText || t.Negate {
			continue
		}
		s, err := d.termPages(t)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = s
		} else {
			out.intersect(s)
		}
	}
	return out, nil
}

// plainValue reports whether v is non-empty ASCII letters, digits, '.',
// '_' and '-': bytes no JSON encoder escapes.
func plainValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return v != ""
}

// literalValue reports whether v is non-empty printable ASCII other than
// '"' and '\\': bytes a JSON string holds as they are unless it escapes
// them (with a '\\': "\\/" for '/', "\\u003c" for '<').
func literalValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return v != ""
}

// fieldsMay reports whether an event's bytes may match every positive
// type, category and country term whose values are plain, and every
// positive actor and target term whose values are literal: one of its
// values (for a type prefix, the prefix) occurs in them. A field's value
// is its JSON string decoded, which holds a plain value only as those
// bytes unless it has a \u escape, a literal one unless it has any
// escape: bytes with one may match.
func (m *matcher) fieldsMay(data []byte) bool { return m.fieldsMaySkip(data, false) }

// fieldsMaySkip is fieldsMay, leaving out the terms headMay tested when
// head.
func (m *matcher) fieldsMaySkip(data []byte, head bool) bool {
	esc := bytes.IndexByte(data, '\\') >= 0
	if esc && bytes.Contains(data, []byte(`\u`)) {
		return true
	}
	for i := range m.terms {
		t := &m.terms[i]
		if head && t.plain && t.Field != audit.FieldCountry {
			continue
		}
		if (t.plain || t.literal && !esc) && !slices.ContainsFunc(t.values, func(v string) bool { return bytes.Contains(data, []byte(v)) }) {
			return false
		}
	}
	return true
}

// textMay reports whether an event's canonical bytes may match every
// positive text term: each of its words (whole or as a prefix) occurs in
// the lower-cased bytes. A word of the search text is a run of letters,
// digits and marks of a field, lower-cased rune by rune, and the
// canonical encoding never escapes those runes, so the lower-cased bytes
// hold every word of the event. Bytes with a \u escape (which another
// encoder could use for a letter) may match. buf is reused.
func (m *matcher) textMay(data []byte, buf *[]byte) bool {
	if bytes.Contains(data, []byte(`\u`)) {
		return true
	}
	low := lowerInto((*buf)[:0], data)
	*buf = low
	for i := range m.terms {
		t := &m.terms[i]
		if t.Field != audit.FieldText || t.Negate {
			continue
		}
		for _, w := range t.words {
			if !bytes.Contains(low, []byte(w)) {
				return false
			}
		}
	}
	return true
}

// lowerInto appends b lower-cased rune by rune (unicode.ToLower, as
// strings.ToLower does) to dst.
func lowerInto(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += n
	}
	return dst
}
