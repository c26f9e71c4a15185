// SPDX-License-Identifier: Apache-2.0

package query

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// now is the clock of every test: @today is 2026-03-10.
var now = time.Date(2026, 3, 10, 15, 4, 5, 0, time.UTC)

var knownTypes = map[string]bool{
	"repo.create": true, "repo.delete": true, "repo.removeDisable": true,
	"org.sso_login": true, "org.settings.sso.enable": true,
}

var knownCategories = map[string]bool{"billing": true, "content": true, "resource_groups": true}

// strictOpts checks names against a catalog.
var strictOpts = Options{
	KnownType:     func(n string) bool { return knownTypes[n] },
	KnownCategory: func(s string) bool { return knownCategories[s] },
	Now:           func() time.Time { return now },
}

// day parses YYYY-MM-DD; ts parses an RFC 3339 timestamp; both in UTC.
func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func word(v string) audit.Term   { return audit.Term{Field: audit.FieldText, Value: v} }
func phrase(v string) audit.Term { return audit.Term{Field: audit.FieldText, Value: v, Phrase: true} }
func is(f audit.Field, v string) audit.Term {
	return audit.Term{Field: f, Value: v}
}
func created(from, to time.Time) audit.Term {
	return audit.Term{Field: audit.FieldOccurred, From: from, To: to}
}
func received(from, to time.Time) audit.Term {
	return audit.Term{Field: audit.FieldReceived, From: from, To: to}
}
func not(t audit.Term) audit.Term { t.Negate = true; return t }

// anyOf is a term of field f that OR's values.
func anyOf(f audit.Field, values ...string) audit.Term {
	return audit.Term{Field: f, Value: values[0], Or: values[1:]}
}

const ns = time.Nanosecond

var zero time.Time

// parseTests are the searches Parse accepts; the round-trip tests reuse them.
var parseTests = []struct {
	in   string
	want []audit.Term
}{
	{"", nil},
	{"    ", nil},
	{"\u3000\u00a0 ", nil},

	// type
	{"type:repo.delete", []audit.Term{is(audit.FieldType, "repo.delete")}},
	{"type:repo.removeDisable", []audit.Term{is(audit.FieldType, "repo.removeDisable")}},
	{"Type:repo.delete", []audit.Term{is(audit.FieldType, "repo.delete")}},
	{"TYPE:org.settings.sso.enable", []audit.Term{is(audit.FieldType, "org.settings.sso.enable")}},
	{`type:"repo.create"`, []audit.Term{is(audit.FieldType, "repo.create")}},
	{"type:repo.*", []audit.Term{is(audit.FieldTypePrefix, "repo.")}},
	{"type:repo*", []audit.Term{is(audit.FieldTypePrefix, "repo")}},
	{"type:org.settings.*", []audit.Term{is(audit.FieldTypePrefix, "org.settings.")}},
	{"-type:org.sso_login", []audit.Term{not(is(audit.FieldType, "org.sso_login"))}},

	// category, actor, target, country
	{"category:billing", []audit.Term{is(audit.FieldCategory, "billing")}},
	{"category:Resource_Groups", []audit.Term{is(audit.FieldCategory, "resource_groups")}},
	{"actor:alice", []audit.Term{is(audit.FieldActor, "alice")}},
	{`actor:"Alice Smith"`, []audit.Term{is(audit.FieldActor, "Alice Smith")}},
	{"actor:-bob", []audit.Term{is(audit.FieldActor, "-bob")}},
	{"actor:a:b", []audit.Term{is(audit.FieldActor, "a:b")}},
	{`actor:C:\x`, []audit.Term{is(audit.FieldActor, `C:\x`)}},
	{"-actor:bob", []audit.Term{not(is(audit.FieldActor, "bob"))}},
	{"target:acme/llama", []audit.Term{is(audit.FieldTarget, "acme/llama")}},
	{`target:"acme/my repo"`, []audit.Term{is(audit.FieldTarget, "acme/my repo")}},
	{`target:"say \"hi\" \\o/"`, []audit.Term{is(audit.FieldTarget, `say "hi" \o/`)}},
	{"country:FR", []audit.Term{is(audit.FieldCountry, "FR")}},
	{"country:fr", []audit.Term{is(audit.FieldCountry, "FR")}},
	{`Country:"dE"`, []audit.Term{is(audit.FieldCountry, "DE")}},

	// lists of values, OR'ed
	{"type:repo.create,repo.delete", []audit.Term{anyOf(audit.FieldType, "repo.create", "repo.delete")}},
	{"-type:repo.create,repo.delete", []audit.Term{not(anyOf(audit.FieldType, "repo.create", "repo.delete"))}},
	{"type:repo.*,org.settings.*", []audit.Term{anyOf(audit.FieldTypePrefix, "repo.", "org.settings.")}},
	{`type:"repo.create","repo.delete"`, []audit.Term{anyOf(audit.FieldType, "repo.create", "repo.delete")}},
	{"category:Billing,content", []audit.Term{anyOf(audit.FieldCategory, "billing", "content")}},
	{"actor:alice,bob", []audit.Term{anyOf(audit.FieldActor, "alice", "bob")}},
	{"actor:alice,alice", []audit.Term{anyOf(audit.FieldActor, "alice", "alice")}},
	{`actor:"Alice Smith",bob,"c,d"`, []audit.Term{anyOf(audit.FieldActor, "Alice Smith", "bob", "c,d")}},
	{`actor:"a,b"`, []audit.Term{is(audit.FieldActor, "a,b")}},
	{"actor:a:b,c:d", []audit.Term{anyOf(audit.FieldActor, "a:b", "c:d")}},
	{"target:acme/llama,acme/mistral", []audit.Term{anyOf(audit.FieldTarget, "acme/llama", "acme/mistral")}},
	{"-country:fr,DE,us", []audit.Term{not(anyOf(audit.FieldCountry, "FR", "DE", "US"))}},
	{"actor:" + strings.Repeat("a,", 19) + "a", []audit.Term{anyOf(audit.FieldActor, strings.Split(strings.Repeat("a,", 19)+"a", ",")...)}},
	{"llama,alpaca", []audit.Term{word("llama,alpaca")}},

	// dates
	{"created:2026-03-01", []audit.Term{created(day("2026-03-01"), day("2026-03-02"))}},
	{"created:2024-02-29", []audit.Term{created(day("2024-02-29"), day("2024-03-01"))}},
	{"created:2026-01-01..2026-02-01", []audit.Term{created(day("2026-01-01"), day("2026-02-02"))}},
	{"created:2026-01-31..2026-01-31", []audit.Term{created(day("2026-01-31"), day("2026-02-01"))}},
	{"created:2025-12-31..2026-01-01", []audit.Term{created(day("2025-12-31"), day("2026-01-02"))}},
	{"created:>=2026-03-01", []audit.Term{created(day("2026-03-01"), zero)}},
	{"created:>2026-03-01", []audit.Term{created(day("2026-03-02"), zero)}},
	{"created:<=2026-03-01", []audit.Term{created(zero, day("2026-03-02"))}},
	{"created:<2026-03-01", []audit.Term{created(zero, day("2026-03-01"))}},
	{"created:2026-01-01..*", []audit.Term{created(day("2026-01-01"), zero)}},
	{"created:*..2026-02-01", []audit.Term{created(zero, day("2026-02-02"))}},
	{"created:*..*", []audit.Term{created(zero, zero)}},
	{`created:"2026-01-01..2026-02-01"`, []audit.Term{created(day("2026-01-01"), day("2026-02-02"))}},
	{"-created:2026-01-01", []audit.Term{not(created(day("2026-01-01"), day("2026-01-02")))}},
	{"received:2026-01-01T10:00:00Z..2026-01-01T12:00:00Z",
		[]audit.Term{received(ts("2026-01-01T10:00:00Z"), ts("2026-01-01T12:00:00Z").Add(ns))}},
	{"received:2026-01-01T10:00:00Z", []audit.Term{received(ts("2026-01-01T10:00:00Z"), ts("2026-01-01T10:00:00Z").Add(ns))}},
	{"received:2026-01-01T10:00:00+02:00..*", []audit.Term{received(ts("2026-01-01T08:00:00Z"), zero)}},
	{"received:2026-01-01T10:00:00.25-01:30..*", []audit.Term{received(ts("2026-01-01T11:30:00.25Z"), zero)}},
	{"created:>2026-01-01T10:00:00Z", []audit.Term{created(ts("2026-01-01T10:00:00Z").Add(ns), zero)}},
	{"created:>=2026-01-01T10:00:00Z", []audit.Term{created(ts("2026-01-01T10:00:00Z"), zero)}},
	{"created:<2026-01-01T10:00:00.5Z", []audit.Term{created(zero, ts("2026-01-01T10:00:00.5Z"))}},
	{"created:<=2026-01-01T10:00:00Z", []audit.Term{created(zero, ts("2026-01-01T10:00:00Z").Add(ns))}},
	{"created:2026-01-01..2026-01-01T12:00:00Z", []audit.Term{created(day("2026-01-01"), ts("2026-01-01T12:00:00Z").Add(ns))}},
	{"created:>=0001-01-01T00:00:00.000000001Z", []audit.Term{created(zero.Add(ns), zero)}},
	{"created:>0001-01-01", []audit.Term{created(day("0001-01-02"), zero)}},
	{"created:*..0001-01-01", []audit.Term{created(zero, day("0001-01-02"))}},
	{"created:<=0001-01-01T00:00:00Z", []audit.Term{created(zero, zero.Add(ns))}},
	{"created:<9999-12-31", []audit.Term{created(zero, day("9999-12-31"))}},
	{"created:@today", []audit.Term{created(day("2026-03-10"), day("2026-03-11"))}},
	{"created:>=@today-7d", []audit.Term{created(day("2026-03-03"), zero)}},
	{"received:@today-2w..@today", []audit.Term{received(day("2026-02-24"), day("2026-03-11"))}},

	// free text
	{"llama", []audit.Term{word("llama")}},
	{`"llama"`, []audit.Term{phrase("llama")}},
	{`"dry run"`, []audit.Term{phrase("dry run")}},
	{`-word`, []audit.Term{not(word("word"))}},
	{`-"dry run"`, []audit.Term{not(phrase("dry run"))}},
	{`"a \"b\""`, []audit.Term{phrase(`a "b"`)}},
	{`"C:\\x"`, []audit.Term{phrase(`C:\x`)}},
	{`"12:30"`, []audit.Term{phrase("12:30")}},
	{`"https://x"`, []audit.Term{phrase("https://x")}},
	{`a\b foo-bar @alice * or ORACLE`, []audit.Term{word(`a\b`), word("foo-bar"), word("@alice"), word("*"), word("or"), word("ORACLE")}},
	{"créé 日本", []audit.Term{word("créé"), word("日本")}},
	{"a\u3000b\u00a0c", []audit.Term{word("a"), word("b"), word("c")}},
	{"  a   b  ", []audit.Term{word("a"), word("b")}},

	// together
	{`type:repo.delete actor:alice created:2026-01-01..2026-02-01 country:FR -type:org.sso_login "llama"`, []audit.Term{
		is(audit.FieldType, "repo.delete"),
		is(audit.FieldActor, "alice"),
		created(day("2026-01-01"), day("2026-02-02")),
		is(audit.FieldCountry, "FR"),
		not(is(audit.FieldType, "org.sso_login")),
		phrase("llama"),
	}},
	{"country:FR country:DE", []audit.Term{is(audit.FieldCountry, "FR"), is(audit.FieldCountry, "DE")}},
}

func TestParse(t *testing.T) {
	for _, tc := range parseTests {
		got, err := Parse(tc.in, strictOpts)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if want := (audit.Filter{Terms: tc.want}); !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.in, got, want)
		}
	}
}

func TestParseAcceptsAnyWellFormedNameWithoutCatalog(t *testing.T) {
	got, err := Parse("type:oauth.token-exchange category:storage", Options{})
	want := audit.Filter{Terms: []audit.Term{is(audit.FieldType, "oauth.token-exchange"), is(audit.FieldCategory, "storage")}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v; want %+v", got, err, want)
	}
}

func TestParseLimits(t *testing.T) {
	tests := []struct {
		in   string
		opts Options
	}{
		{strings.Repeat("a", 1024), Options{}},
		{strings.TrimSpace(strings.Repeat("a ", 32)), Options{}},
		{"abcde", Options{MaxLen: 5}},
		{"a b", Options{MaxTerms: 2}},
		{"a b", Options{MaxLen: -1, MaxTerms: -1}},
		{"actor:a,b,c", Options{MaxValues: 3}},
		{"actor:" + strings.Repeat("a,", 19) + "a", Options{MaxValues: -1}},
	}
	for _, tc := range tests {
		if _, err := Parse(tc.in, tc.opts); err != nil {
			t.Errorf("Parse(%.20q, %+v): %v, want no error", tc.in, tc.opts, err)
		}
	}
}

func TestParseUsesTimeNowByDefault(t *testing.T) {
	before := time.Now().UTC().Truncate(24 * time.Hour)
	f, err := Parse("created:@today", Options{})
	after := time.Now().UTC().Truncate(24 * time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if from := f.Terms[0].From; from.Before(before) || from.After(after) {
		t.Errorf("@today starts at %v, want between %v and %v", from, before, after)
	}
}

// TestLocation: date-only bounds and @today are days of Options.Location;
// timestamps are not affected.
func TestLocation(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skipf("no tz database: %v", err)
	}
	now := time.Date(2026, 3, 29, 22, 30, 0, 0, time.UTC) // already 2026-03-30 in Paris (CEST)
	opts := Options{Location: paris, Now: func() time.Time { return now }}
	tests := []struct {
		q        string
		from, to string
	}{
		{"created:2026-01-15", "2026-01-14T23:00:00Z", "2026-01-15T23:00:00Z"},
		{"created:2026-03-29", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"}, // 23 hours: DST starts
		{"created:>=2026-07-01", "2026-06-30T22:00:00Z", ""},
		{"created:@today", "2026-03-29T22:00:00Z", "2026-03-30T22:00:00Z"},
		{"created:2026-01-15T10:00:00Z", "2026-01-15T10:00:00Z", "2026-01-15T10:00:00.000000001Z"},
	}
	for _, tt := range tests {
		f, err := Parse(tt.q, opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.q, err)
		}
		term := f.Terms[0]
		got := [2]string{fmtT(term.From), fmtT(term.To)}
		if got != [2]string{tt.from, tt.to} {
			t.Errorf("%s in Paris: [%s, %s), want [%s, %s)", tt.q, got[0], got[1], tt.from, tt.to)
		}
	}
	utc, _ := Parse("created:2026-01-15", Options{})
	if fmtT(utc.Terms[0].From) != "2026-01-15T00:00:00Z" {
		t.Errorf("without Location: %v, want a UTC day", utc.Terms[0].From)
	}
}

func fmtT(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}
