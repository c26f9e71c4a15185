// SPDX-License-Identifier: Apache-2.0

package query

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

func TestFormat(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		terms []audit.Term
		want  string
	}{
		{nil, ""},
		{[]audit.Term{word("llama"), phrase("llama"), not(phrase("dry run"))}, `llama "llama" -"dry run"`},
		{[]audit.Term{phrase(`say "hi" \o/`)}, `"say \"hi\" \\o/"`},
		{[]audit.Term{word("a b"), word("-x"), word("a:b"), word("OR")}, `"a b" "-x" "a:b" "OR"`},
		{[]audit.Term{is(audit.FieldType, "repo.delete"), not(is(audit.FieldTypePrefix, "org."))}, "type:repo.delete -type:org.*"},
		{[]audit.Term{is(audit.FieldCategory, "billing"), is(audit.FieldCountry, "FR")}, "category:billing country:FR"},
		{[]audit.Term{is(audit.FieldActor, "Alice Smith"), is(audit.FieldTarget, `a"b`), is(audit.FieldActor, `C:\x`)},
			`actor:"Alice Smith" target:"a\"b" actor:C:\x`},
		{[]audit.Term{is(audit.FieldActor, "a\u3000b")}, "actor:\"a\u3000b\""},
		{[]audit.Term{anyOf(audit.FieldType, "repo.create", "repo.delete"), not(anyOf(audit.FieldTypePrefix, "org.", "billing."))},
			"type:repo.create,repo.delete -type:org.*,billing.*"},
		{[]audit.Term{anyOf(audit.FieldActor, "Alice Smith", "bob", "a,b"), is(audit.FieldTarget, "c,d")},
			`actor:"Alice Smith",bob,"a,b" target:"c,d"`},
		{[]audit.Term{not(anyOf(audit.FieldCountry, "FR", "DE")), anyOf(audit.FieldCategory, "billing", "content")},
			"-country:FR,DE category:billing,content"},

		{[]audit.Term{created(day("2026-01-01"), day("2026-02-02"))}, "created:2026-01-01..2026-02-01"},
		{[]audit.Term{created(day("2026-03-01"), day("2026-03-02"))}, "created:2026-03-01"},
		{[]audit.Term{created(day("2026-03-02"), zero)}, "created:>2026-03-01"},
		{[]audit.Term{created(zero, day("2026-03-01"))}, "created:<2026-03-01"},
		{[]audit.Term{created(zero, zero)}, "created:*..*"},
		{[]audit.Term{received(ts("2026-01-01T10:00:00Z"), zero)}, "received:>=2026-01-01T10:00:00Z"},
		{[]audit.Term{received(ts("2026-01-01T10:00:00Z").Add(ns), zero)}, "received:>2026-01-01T10:00:00Z"},
		{[]audit.Term{received(zero, ts("2026-01-01T10:00:00Z").Add(ns))}, "received:<=2026-01-01T10:00:00Z"},
		{[]audit.Term{received(zero, ts("2026-01-01T10:00:00.5Z"))}, "received:<2026-01-01T10:00:00.5Z"},
		{[]audit.Term{received(ts("2026-01-01T10:00:00Z"), ts("2026-01-01T12:00:00Z").Add(ns))},
			"received:2026-01-01T10:00:00Z..2026-01-01T12:00:00Z"},
		{[]audit.Term{received(ts("2026-01-01T10:00:00Z"), ts("2026-01-01T10:00:00Z").Add(ns))}, "received:2026-01-01T10:00:00Z"},
		{[]audit.Term{received(day("2026-01-01"), day("2026-01-01").Add(ns))}, "received:2026-01-01T00:00:00Z"},
		{[]audit.Term{created(day("2026-01-01"), ts("2026-01-01T12:00:00Z"))}, "created:2026-01-01..2026-01-01T11:59:59.999999999Z"},
		{[]audit.Term{created(time.Date(2026, 1, 1, 1, 0, 0, 0, paris), time.Date(2026, 1, 2, 1, 0, 0, 0, paris))},
			"created:2026-01-01"},
		{[]audit.Term{{Field: audit.Field(42), Value: "x"}}, "field42:x"},
	}
	for _, tc := range tests {
		if got := Format(audit.Filter{Terms: tc.terms}); got != tc.want {
			t.Errorf("Format(%+v)\n got %s\nwant %s", tc.terms, got, tc.want)
		}
	}
}

// TestRoundTripParsed checks Parse → Format → Parse on every accepted search.
func TestRoundTripParsed(t *testing.T) {
	for _, tc := range parseTests {
		checkRoundTrip(t, tc.in, strictOpts)
	}
}

// TestRoundTripRandom checks Parse(Format(f)) == f on random filters of the
// shapes Parse returns.
func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		f := randomFilter(r)
		s := Format(f)
		got, err := Parse(s, Options{})
		if err != nil {
			t.Fatalf("Parse(Format(%+v)) = Parse(%q): %v", f, s, err)
		}
		if !reflect.DeepEqual(got, f) {
			t.Fatalf("Parse(%q)\n got %+v\nwant %+v", s, got, f)
		}
	}
}

// checkRoundTrip checks, for a search s that parses, that Format gives a
// search no longer than s (unless s uses @today) that parses back to the
// same Filter, with every time in UTC.
func checkRoundTrip(t *testing.T, s string, opts Options) {
	t.Helper()
	f, err := Parse(s, opts)
	if err != nil {
		return
	}
	for _, term := range f.Terms {
		if term.From.Location() != time.UTC || term.To.Location() != time.UTC {
			t.Fatalf("Parse(%q): times not in UTC: %+v", s, term)
		}
	}
	out := Format(f)
	if len(out) > len(s) && !strings.Contains(s, "@today") {
		t.Fatalf("Format(Parse(%q)) = %q, longer than its input", s, out)
	}
	opts.MaxLen = max(opts.MaxLen, len(out))
	got, err := Parse(out, opts)
	if err != nil {
		t.Fatalf("Parse(%q) = %+v, Format gives %q: %v", s, f, out, err)
	}
	if !reflect.DeepEqual(got, f) {
		t.Fatalf("Parse(%q) = %+v\nFormat gives %q, which parses to %+v", s, f, out, got)
	}
}

func randomFilter(r *rand.Rand) audit.Filter {
	n := r.IntN(6)
	if n == 0 {
		return audit.Filter{}
	}
	terms := make([]audit.Term, n)
	for i := range terms {
		terms[i] = randomTerm(r)
		if terms[i].Field != audit.FieldText && terms[i].Field != audit.FieldOccurred && terms[i].Field != audit.FieldReceived {
			for range r.IntN(3) {
				terms[i].Or = append(terms[i].Or, randomTerm(r, terms[i].Field).Value)
			}
		}
		terms[i].Negate = r.IntN(3) == 0
	}
	return audit.Filter{Terms: terms}
}

const (
	nameBytes  = "abcXYZ09_-"
	valueRunes = "ab:/\\\"- .*@é日\u3000,"
)

// randomTerm returns a term of the first of fields, or of a random field.
func randomTerm(r *rand.Rand, fields ...audit.Field) audit.Term {
	f := audit.Field(r.IntN(9))
	if len(fields) > 0 {
		f = fields[0]
	}
	switch f {
	case audit.FieldText:
		if r.IntN(2) == 0 {
			return phrase("p" + randomString(r, valueRunes, 8))
		}
		return word("w" + randomString(r, "ab\\*@é-日.", 8))
	case audit.FieldType:
		return is(f, randomTypeName(r))
	case audit.FieldTypePrefix:
		if r.IntN(2) == 0 {
			return is(f, randomTypeName(r)+".")
		}
		return is(f, randomTypeName(r))
	case audit.FieldCategory:
		return is(f, "c"+randomString(r, "abz09_-", 6))
	case audit.FieldCountry:
		return is(f, randomString(r, "ABCDEFXYZ", 1)+randomString(r, "ABCDEFXYZ", 1))
	case audit.FieldOccurred, audit.FieldReceived:
		from, to := randomRange(r)
		return audit.Term{Field: f, From: from, To: to}
	default:
		return is(f, "v"+randomString(r, valueRunes, 10))
	}
}

// randomString returns up to n runes of alphabet, at least one when n is 1.
func randomString(r *rand.Rand, alphabet string, n int) string {
	runes := []rune(alphabet)
	var b strings.Builder
	for range max(1, r.IntN(n+1)) {
		b.WriteRune(runes[r.IntN(len(runes))])
	}
	return b.String()
}

func randomTypeName(r *rand.Rand) string {
	segs := make([]string, 1+r.IntN(3))
	for i := range segs {
		segs[i] = randomString(r, nameBytes, 6)
	}
	return strings.Join(segs, ".")
}

// randomRange returns From < To, either side possibly open, in the years
// 1 to 9999, on midnights or on any nanosecond.
func randomRange(r *rand.Rand) (from, to time.Time) {
	for {
		a, b := randomInstant(r), randomInstant(r)
		if b.Before(a) {
			a, b = b, a
		}
		if r.IntN(4) == 0 {
			a = time.Time{}
		}
		if r.IntN(4) == 0 {
			b = time.Time{}
		}
		if a.IsZero() || b.IsZero() || a.Before(b) {
			return a, b
		}
	}
}

func randomInstant(r *rand.Rand) time.Time {
	lo, hi := day("0001-01-01").Unix(), day("9999-12-31").Unix()
	if r.IntN(2) == 0 {
		lo, hi = day("2025-01-01").Unix(), day("2027-01-01").Unix()
	}
	t := time.Unix(lo+r.Int64N(hi-lo), r.Int64N(1e9)).UTC()
	if r.IntN(2) == 0 {
		t = t.Truncate(24 * time.Hour)
	}
	return t
}
