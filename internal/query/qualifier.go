// SPDX-License-Identifier: Apache-2.0

package query

import (
	"strings"

	"github.com/trailaudit/trail/internal/audit"
)

// parseFunc turns a qualifier's unquoted, non-empty value v into a term;
// pos is the offset of v's first byte, for errors.
type parseFunc func(p *parser, v string, pos int) (audit.Term, *SyntaxError)

type qualifier struct {
	name  string
	parse parseFunc
	list  bool // takes several values, OR'ed: name:a,b
}

// qualifiers lists every qualifier, in the order error messages name them.
var qualifiers = []qualifier{
	{"type", (*parser).typeTerm, true},
	{"category", (*parser).categoryTerm, true},
	{"actor", exactTerm(audit.FieldActor), true},
	{"target", exactTerm(audit.FieldTarget), true},
	{"country", countryTerm, true},
	{"created", dateTerm(audit.FieldOccurred), false},
	{"received", dateTerm(audit.FieldReceived), false},
}

func knownQualifiers() string {
	names := make([]string, len(qualifiers))
	for i, q := range qualifiers {
		names[i] = q.name
	}
	return strings.Join(names, ", ")
}

// qualifier parses the qualifier term that starts at i and whose name ends
// with the colon at colon.
func (p *parser) qualifier(i, colon int) (audit.Term, int, *SyntaxError) {
	name := lowerASCII(p.s[i:colon])
	if name == "" {
		return audit.Term{}, 0, errorf(i, `missing qualifier name before ":"; to search for text with a colon, put it in quotes`)
	}
	q, ok := lookupQualifier(name)
	if !ok {
		return audit.Term{}, 0, errorf(i, "unknown qualifier %s (known: %s); to search for text with a colon, put it in quotes",
			quote(p.s[i:colon]), knownQualifiers())
	}
	if q.list {
		return p.list(q, colon+1)
	}
	v, pos, end, err := p.value(colon+1, name+":", false)
	if err != nil {
		return audit.Term{}, 0, err
	}
	t, err := q.parse(p, v, pos)
	return t, end, err
}

// list parses the comma-separated values of a list qualifier, starting at
// v, into one term whose values are OR'ed (audit.Term.Or).
func (p *parser) list(q qualifier, v int) (audit.Term, int, *SyntaxError) {
	var t audit.Term
	after := q.name + ":"
	for n := 0; ; n++ {
		if limit := p.opts.maxValues(); n == limit {
			return audit.Term{}, 0, errorf(v, "too many values for %s:; the limit is %d", q.name, limit)
		}
		val, pos, end, err := p.value(v, after, true)
		if err != nil {
			return audit.Term{}, 0, err
		}
		u, err := q.parse(p, val, pos)
		if err != nil {
			return audit.Term{}, 0, err
		}
		switch {
		case n == 0:
			t = u
		case u.Field != t.Field:
			return audit.Term{}, 0, errorf(pos, "a type: list holds either exact types or prefixes, not both: %s does not fit", quote(val))
		default:
			t.Or = append(t.Or, u.Value)
		}
		if end == len(p.s) || p.s[end] != ',' {
			return t, end, nil
		}
		v, after = end+1, `"," in `+q.name+":"
	}
}

func lookupQualifier(name string) (qualifier, bool) {
	for _, q := range qualifiers {
		if q.name == name {
			return q, true
		}
	}
	return qualifier{}, false
}

// value reads the value that starts at v, quoted or not, and returns it
// unquoted with the offset of its content and the offset after it. after
// names what the value follows, for errors. In a list an unquoted value
// also ends at a ',', and a quoted one may be followed by one; a ',' in
// quotes is part of the value.
func (p *parser) value(v int, after string, list bool) (val string, pos, end int, err *SyntaxError) {
	if v < len(p.s) && p.s[v] == '"' {
		val, end, err = p.quotedRaw(v)
		if err == nil && val == "" {
			err = errorf(v, "empty value after %s", after)
		}
		if err == nil && !(list && end < len(p.s) && p.s[end] == ',') {
			err = p.termEnds(end)
		}
		return val, v + 1, end, err
	}
	end = p.tokenEnd(v)
	if c := strings.IndexByte(p.s[v:end], ','); list && c >= 0 {
		end = v + c
	}
	val = p.s[v:end]
	if val == "" {
		return "", v, end, errorf(v, "missing value after %s", after)
	}
	if q := strings.IndexByte(val, '"'); q >= 0 {
		return "", v, end, errorf(v+q, `unexpected '"' inside a value; put the whole value in quotes`)
	}
	return val, v, end, nil
}

// typeTerm parses type:NAME and type:PREFIX*.
func (p *parser) typeTerm(v string, pos int) (audit.Term, *SyntaxError) {
	if prefix, ok := strings.CutSuffix(v, "*"); ok {
		return typePrefixTerm(prefix, pos)
	}
	if !validTypeName(v) {
		return audit.Term{}, errorf(pos, "invalid event type %s: want a name such as repo.delete", quote(v))
	}
	if p.opts.KnownType != nil && !p.opts.KnownType(v) {
		hint := ""
		if !strings.Contains(v, ".") {
			hint = "; for every type that starts with " + quote(v+".") + ", use type:" + v + ".*"
		}
		return audit.Term{}, errorf(pos, "unknown event type %s%s", quote(v), hint)
	}
	return audit.Term{Field: audit.FieldType, Value: v}, nil
}

func typePrefixTerm(prefix string, pos int) (audit.Term, *SyntaxError) {
	if prefix == "" {
		return audit.Term{}, errorf(pos, "type:* would match every event; name a prefix, as in type:repo.*")
	}
	if !validTypeName(strings.TrimSuffix(prefix, ".")) {
		return audit.Term{}, errorf(pos, `invalid event type prefix %s: "*" may only end a prefix, as in type:repo.*`, quote(prefix+"*"))
	}
	return audit.Term{Field: audit.FieldTypePrefix, Value: prefix}, nil
}

// validTypeName reports whether s is one or more dot-separated segments of
// ASCII letters, digits, '_' and '-'. It keeps the case: the Hub has
// repo.removeDisable.
func validTypeName(s string) bool {
	for seg := range strings.SplitSeq(s, ".") {
		if seg == "" || !allBytes(seg, isNameByte) {
			return false
		}
	}
	return true
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

func (p *parser) categoryTerm(v string, pos int) (audit.Term, *SyntaxError) {
	slug := lowerASCII(v)
	if !allBytes(slug, isSlugByte) {
		return audit.Term{}, errorf(pos, "invalid category %s: want a slug such as billing", quote(v))
	}
	if p.opts.KnownCategory != nil && !p.opts.KnownCategory(slug) {
		return audit.Term{}, errorf(pos, "unknown category %s", quote(v))
	}
	return audit.Term{Field: audit.FieldCategory, Value: slug}, nil
}

func isSlugByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

func exactTerm(f audit.Field) parseFunc {
	return func(_ *parser, v string, _ int) (audit.Term, *SyntaxError) {
		return audit.Term{Field: f, Value: v}, nil
	}
}

// countryTerm accepts any two ASCII letters; whether the code is assigned
// is left to the data, where an unassigned code simply matches nothing.
func countryTerm(_ *parser, v string, pos int) (audit.Term, *SyntaxError) {
	if len(v) != 2 || !allBytes(lowerASCII(v), isLowerLetter) {
		return audit.Term{}, errorf(pos, "invalid country %s: want a two-letter ISO 3166-1 code such as FR", quote(v))
	}
	return audit.Term{Field: audit.FieldCountry, Value: strings.ToUpper(v)}, nil
}

func isLowerLetter(c byte) bool { return 'a' <= c && c <= 'z' }

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// lowerASCII lowers only ASCII letters, so that no Unicode case folding
// (the Kelvin sign folds to k) can turn a foreign name into a known one.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
