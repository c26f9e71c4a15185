// SPDX-License-Identifier: Apache-2.0

// Package query parses the search strings that people type into Trail's
// audit-log search (the web page's search box and the API's q parameter)
// into an audit.Filter, and renders a Filter back into its canonical search
// string with Format. It uses only the standard library.
//
// The syntax follows GitHub's audit-log search. A search is a list of terms
// separated by white space (any Unicode space, U+3000 included), and an
// event must match every term: there is no OR between terms, and repeating
// a qualifier narrows the search further. Control characters, tabs and newlines
// included, and invalid UTF-8 are rejected. A term is
//
//	word               free text (audit.FieldText), matched as a word prefix
//	"a phrase"         free text matched as an exact phrase
//	qualifier:value    one of the qualifiers below
//
// and a '-' in front of a term excludes what it matches: -type:org.sso_login,
// -bob, -"dry run". Qualifier names are case-insensitive. A value or phrase
// that holds white space or '"' goes in double quotes, where \" stands for
// '"' and \\ for '\' (any other backslash in quotes is an error); outside
// quotes a backslash is an ordinary character.
//
//	type:repo.delete    the exact event type, case-sensitive
//	type:repo.*         every type that starts with "repo." (type:repo* also works)
//	category:billing    the type's category; case-insensitive, kept in lower case
//	actor:alice         the actor's id or name, exact
//	target:acme/llama   any target's id or name, exact
//	country:FR          the client's ISO 3166-1 alpha-2 country; case-insensitive, kept in upper case
//	created:RANGE       when the event occurred (the producer's clock)
//	received:RANGE      when Trail received the event
//
// Every qualifier but created and received takes a list of values
// separated by commas, OR'ed into one term (audit.Term.Or):
// type:repo.create,repo.delete matches either type, actor:alice,bob either
// actor, type:billing.*,repo.* either prefix (a type: list holds exact
// types or prefixes, not both). A negated list excludes every value:
// -country:FR,DE matches events from neither. A list holds at most
// Options.MaxValues values (20 by default); a value in quotes may hold a
// comma ("a,b" is one value), and each value of a list may be quoted on
// its own: actor:"Alice Smith",bob.
//
// A RANGE is built from dates (YYYY-MM-DD: a whole day in
// Options.Location, UTC by default), RFC 3339 timestamps (one instant,
// converted to UTC) and the relative days @today, @today-7d and @today-2w
// (days of Options.Location counted back from Options.Now):
//
//	2026-03-01                  that day
//	2026-01-01..2026-02-01      from the first day through the last, both included
//	2026-01-01..*   *..2026-02-01   open on one side
//	>=2026-03-01   >2026-03-01   <=2026-03-01   <2026-03-01
//	2026-01-01T10:00:00Z..2026-01-01T12:00:00Z   both instants included
//
// Each end covers what it names, a date its whole day and a timestamp its
// one nanosecond: a range starts at the first instant its start covers and
// ends after the last instant its end covers, '>' starts after what it
// names and '<' ends before it. So 2026-01-01..2026-02-01 gives From
// 2026-01-01T00:00:00Z and To 2026-02-02T00:00:00Z, >2026-03-01 gives From
// 2026-03-02T00:00:00Z, and a timestamp range T1..T2 gives To T2+1ns. From
// is inclusive and To exclusive, as audit.Term documents, and an open side
// is the zero time. Bounds must fall in the years 1 to 9999, and a range
// cannot start at the zero time itself (0001-01-01T00:00:00Z).
//
// Parse is strict so that a mistyped search fails loudly instead of
// matching the wrong events: a word with a colon must start with a known
// qualifier (quote "https://x" to search for it as text), a '"' may only
// open or close a quoted string, and the upper-case words OR, AND and NOT
// are rejected because they are not operators here. Every error is a
// *SyntaxError that says at which byte the problem starts.
package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/trailaudit/trail/internal/audit"
)

const (
	defaultMaxLen    = 1024
	defaultMaxTerms  = 32
	defaultMaxValues = 20
)

// Options bounds and checks what Parse accepts. The zero value gives the
// defaults.
type Options struct {
	// MaxLen is the longest input accepted, in bytes; 0 or less means 1024.
	MaxLen int
	// MaxTerms is the largest number of terms accepted; 0 or less means 32.
	MaxTerms int
	// MaxValues is the largest number of values one qualifier may list
	// (type:a,b,c); 0 or less means 20.
	MaxValues int
	// KnownType reports whether an event type exists; nil accepts any
	// well-formed name. It is not called for type prefixes (type:repo.*).
	KnownType func(name string) bool
	// KnownCategory reports whether a category exists; it gets the slug in
	// lower case. Nil accepts any well-formed slug.
	KnownCategory func(slug string) bool
	// Now gives the current time for @today; nil means time.Now.
	Now func() time.Time
	// Location is the time zone of date-only bounds (created:2026-03-01)
	// and of @today: a day runs from its midnight there to the next. Nil
	// means UTC. Timestamps carry their own offset and are not affected.
	Location *time.Location
}

func (o Options) location() *time.Location {
	if o.Location != nil {
		return o.Location
	}
	return time.UTC
}

func (o Options) maxLen() int {
	if o.MaxLen > 0 {
		return o.MaxLen
	}
	return defaultMaxLen
}

func (o Options) maxTerms() int {
	if o.MaxTerms > 0 {
		return o.MaxTerms
	}
	return defaultMaxTerms
}

func (o Options) maxValues() int {
	if o.MaxValues > 0 {
		return o.MaxValues
	}
	return defaultMaxValues
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// SyntaxError is the error Parse returns. Pos is the 0-based byte offset in
// the input where the problem starts, 0 <= Pos <= len(input); Msg says what
// is wrong in words meant for the person who typed the search. A user
// interface that highlights the spot should count runes in input[:Pos].
type SyntaxError struct {
	Pos int
	Msg string
}

// Error returns the message with its position, for example
// `search: at position 12: unknown qualifier "autor" (known: …)`.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("search: at position %d: %s", e.Pos, e.Msg)
}

func errorf(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses the search string s into a Filter, following the syntax in
// the package documentation. An empty or blank s gives the empty Filter,
// which matches every event. Parse is safe for any input, including input
// from untrusted users; every error it returns is a *SyntaxError.
func Parse(s string, opts Options) (audit.Filter, error) {
	if err := checkInput(s, opts.maxLen()); err != nil {
		return audit.Filter{}, err
	}
	p := parser{s: s, opts: opts}
	terms, err := p.terms()
	if err != nil {
		return audit.Filter{}, err
	}
	return audit.Filter{Terms: terms}, nil
}

// checkInput enforces the length bound and rejects invalid UTF-8 and
// control characters (tabs and newlines included) before any parsing, so
// the parser only ever sees printable text.
func checkInput(s string, maxLen int) *SyntaxError {
	if len(s) > maxLen {
		return errorf(maxLen, "the search is %d bytes long; the limit is %d", len(s), maxLen)
	}
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return errorf(i, "invalid UTF-8")
			}
		}
		if unicode.IsControl(r) {
			return errorf(i, "control character %U is not allowed", r)
		}
	}
	return nil
}

// parser holds the input of one Parse call. Its methods take and return
// byte offsets into s.
type parser struct {
	s    string
	opts Options
}

func (p *parser) terms() ([]audit.Term, *SyntaxError) {
	var terms []audit.Term
	for i := p.skipSpace(0); i < len(p.s); i = p.skipSpace(i) {
		if limit := p.opts.maxTerms(); len(terms) == limit {
			return nil, errorf(i, "too many terms; the limit is %d", limit)
		}
		t, end, err := p.term(i)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
		i = end
	}
	return terms, nil
}

// term parses the term that starts at i and returns it with the offset
// just past it.
func (p *parser) term(i int) (audit.Term, int, *SyntaxError) {
	neg := p.s[i] == '-'
	if neg {
		if i+1 == len(p.s) || p.s[i+1] == '-' || p.isSpace(i+1) {
			return audit.Term{}, 0, errorf(i, `"-" must be directly followed by a word, a "phrase" or a qualifier`)
		}
		i++
	}
	t, end, err := p.positive(i)
	t.Negate = neg
	return t, end, err
}

// positive parses a term without its '-'.
func (p *parser) positive(i int) (audit.Term, int, *SyntaxError) {
	if p.s[i] == '"' {
		return p.phrase(i)
	}
	end := p.tokenEnd(i)
	tok := p.s[i:end]
	colon := strings.IndexByte(tok, ':')
	if q := strings.IndexByte(tok, '"'); q >= 0 && (colon < 0 || q < colon) {
		return audit.Term{}, 0, errorf(i+q, `unexpected '"' inside a word; put the whole phrase in quotes`)
	}
	if colon >= 0 {
		return p.qualifier(i, i+colon)
	}
	if isOperator(tok) {
		return audit.Term{}, 0, errorf(i, "%s is not an operator: terms are always combined with AND, and -term excludes; put it in quotes to search for the word", tok)
	}
	return audit.Term{Field: audit.FieldText, Value: tok}, end, nil
}

// isOperator reports whether w is a boolean operator of other search
// syntaxes, which Parse rejects rather than search for silently.
func isOperator(w string) bool {
	return w == "OR" || w == "AND" || w == "NOT"
}

func (p *parser) phrase(q int) (audit.Term, int, *SyntaxError) {
	v, end, err := p.quoted(q)
	if err != nil {
		return audit.Term{}, 0, err
	}
	if strings.TrimFunc(v, unicode.IsSpace) == "" {
		return audit.Term{}, 0, errorf(q, "empty phrase")
	}
	return audit.Term{Field: audit.FieldText, Value: v, Phrase: true}, end, nil
}

// quoted reads the quoted string whose opening quote is at q and returns
// its unescaped content and the offset after the closing quote, which must
// end the term.
func (p *parser) quoted(q int) (string, int, *SyntaxError) {
	v, end, err := p.quotedRaw(q)
	if err != nil {
		return "", 0, err
	}
	return v, end, p.termEnds(end)
}

// quotedRaw is quoted without the check of what follows the closing quote.
func (p *parser) quotedRaw(q int) (string, int, *SyntaxError) {
	var b strings.Builder
	for i := q + 1; i < len(p.s); i++ {
		switch c := p.s[i]; c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 < len(p.s) && p.s[i+1] != '"' && p.s[i+1] != '\\' {
				return "", 0, errorf(i, `a backslash in quotes must be followed by '"' or '\'`)
			}
			i++
			if i < len(p.s) {
				b.WriteByte(p.s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errorf(q, "unterminated quote")
}

// termEnds reports an error unless the input ends or white space follows at i.
func (p *parser) termEnds(i int) *SyntaxError {
	if i < len(p.s) && !p.isSpace(i) {
		return errorf(i, "missing space after the closing quote")
	}
	return nil
}

func (p *parser) isSpace(i int) bool {
	r, _ := utf8.DecodeRuneInString(p.s[i:])
	return unicode.IsSpace(r)
}

// skipSpace returns the offset of the first non-space rune at or after i.
func (p *parser) skipSpace(i int) int {
	for i < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += n
	}
	return i
}

// tokenEnd returns the offset of the first space rune at or after i.
func (p *parser) tokenEnd(i int) int {
	for i < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[i:])
		if unicode.IsSpace(r) {
			break
		}
		i += n
	}
	return i
}

// quote renders user input for an error message: quoted, escaped and cut
// to a readable length.
func quote(s string) string {
	const maxQuoted = 40
	if len(s) > maxQuoted {
		cut := maxQuoted
		for !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strconv.Quote(s)
}
