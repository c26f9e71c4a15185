// SPDX-License-Identifier: Apache-2.0

package query

import (
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		opts Options
		pos  int
		msg  string // a part of the message
	}{
		// quotes
		{`"abc`, strictOpts, 0, "unterminated quote"},
		{`foo "abc`, strictOpts, 4, "unterminated quote"},
		{`actor:"bob`, strictOpts, 6, "unterminated quote"},
		{`-"x`, strictOpts, 1, "unterminated quote"},
		{`"abc\`, strictOpts, 0, "unterminated quote"},
		{`"a\"`, strictOpts, 0, "unterminated quote"},
		{`"a\b"`, strictOpts, 2, "backslash"},
		{`"abc"def`, strictOpts, 5, "missing space after the closing quote"},
		{`actor:"a"b`, strictOpts, 9, "missing space after the closing quote"},
		{`a"b c"`, strictOpts, 1, `unexpected '"' inside a word`},
		{`actor:a"b`, strictOpts, 7, `unexpected '"' inside a value`},
		{`""`, strictOpts, 0, "empty phrase"},
		{`"  "`, strictOpts, 0, "empty phrase"},

		// qualifiers
		{"actor:", strictOpts, 6, "missing value after actor:"},
		{"actor: bob", strictOpts, 6, "missing value after actor:"},
		{`actor:""`, strictOpts, 6, "empty value after actor:"},
		{"type:", strictOpts, 5, "missing value after type:"},
		{"autor:x", strictOpts, 0, `unknown qualifier "autor" (known: type, category, actor, target, country, created, received)`},
		{"foo Autor:x", strictOpts, 4, `unknown qualifier "Autor"`},
		{"-autor:x", strictOpts, 1, `unknown qualifier "autor"`},
		{"https://x", strictOpts, 0, `unknown qualifier "https"`},
		{"12:30", strictOpts, 0, `unknown qualifier "12"`},
		{":x", strictOpts, 0, "missing qualifier name"},
		{"\u212Actor:x", strictOpts, 0, "unknown qualifier"}, // Kelvin sign is no k, and no a either

		// lists
		{"actor:alice,", strictOpts, 12, `missing value after "," in actor:`},
		{"actor:alice,,bob", strictOpts, 12, `missing value after "," in actor:`},
		{"actor:,bob", strictOpts, 6, "missing value after actor:"},
		{`actor:alice,""`, strictOpts, 12, `empty value after "," in actor:`},
		{`actor:"a"b,c`, strictOpts, 9, "missing space after the closing quote"},
		{`actor:a,b"c`, strictOpts, 9, `unexpected '"' inside a value`},
		{"type:repo.create,repo.delet", strictOpts, 17, `unknown event type "repo.delet"`},
		{"type:repo.create,org.*", strictOpts, 17, `either exact types or prefixes, not both: "org.*"`},
		{"type:org.*,repo.create", strictOpts, 11, `either exact types or prefixes, not both: "repo.create"`},
		{"category:billing,nope", strictOpts, 17, `unknown category "nope"`},
		{"country:FR,FRA", strictOpts, 11, `invalid country "FRA"`},
		{"actor:" + strings.Repeat("a,", 20) + "a", strictOpts, 46, "too many values for actor:; the limit is 20"},
		{"-country:fr,de,us", Options{MaxValues: 2}, 15, "too many values for country:; the limit is 2"},
		{"created:2026-01-01,2026-02-01", strictOpts, 8, "invalid date"}, // a range, never a list

		// type
		{"type:repo.delet", strictOpts, 5, `unknown event type "repo.delet"`},
		{"type:repo", strictOpts, 5, "use type:repo.*"},
		{"type:Repo.delete", strictOpts, 5, "unknown event type"},
		{"type:repo..delete", strictOpts, 5, "invalid event type"},
		{"type:repo/delete", strictOpts, 5, "invalid event type"},
		{"type:.repo", Options{}, 5, "invalid event type"},
		{"type:re*po", strictOpts, 5, "invalid event type"},
		{"type:*", strictOpts, 5, "type:* would match every event"},
		{"type:.*", strictOpts, 5, "invalid event type prefix"},
		{"type:repo.**", strictOpts, 5, "invalid event type prefix"},
		{`type:"repo.delete "`, strictOpts, 6, "invalid event type"},

		// category, country
		{"category:bilingue", strictOpts, 9, `unknown category "bilingue"`},
		{"category:bill/ing", Options{}, 9, "invalid category"},
		{"country:FRA", strictOpts, 8, "invalid country"},
		{"country:F", strictOpts, 8, "invalid country"},
		{"country:F1", strictOpts, 8, "invalid country"},
		{"country:ÉÉ", strictOpts, 8, "invalid country"},

		// dates
		{"created:2026-13-01", strictOpts, 8, "invalid date"},
		{"created:2026-02-30", strictOpts, 8, "invalid date"},
		{"created:2026-1-1", strictOpts, 8, "invalid date"},
		{"created:yesterday", strictOpts, 8, "invalid date"},
		{"created:2026-01-01..2026-13-01", strictOpts, 20, "invalid date"},
		{"created:2026-01-01...2026-01-02", strictOpts, 20, "invalid date"},
		{"created:>=2026-13-01", strictOpts, 10, "invalid date"},
		{`created:"2026-01-01..2026-13-01"`, strictOpts, 21, "invalid date"},
		{"created:2026-01-01T25:00:00Z", strictOpts, 8, "invalid date"},
		{"created:2026-01-01T10:00:00", strictOpts, 8, "invalid date"},
		{"created:2026-01-01T0:00:00Z", strictOpts, 8, "invalid date"},
		{"created:2026-01-01T10:00:00,5Z", strictOpts, 8, "invalid date"},
		{"created:2026-01-01T10:00:00.Z", strictOpts, 8, "invalid date"},
		{"created:2026-01-01T10:00:00.0123456789Z", strictOpts, 8, "invalid date"},
		{"created:2026-01-01T10:00:00+2:00", strictOpts, 8, "invalid date"},
		{"created:2026-01-01T10:00:00+24:00", strictOpts, 8, "invalid date"},
		{"created:2026-01-01T10:00:00+01:60", strictOpts, 8, "invalid date"},
		{"created:2026-01-01t10:00:00z", strictOpts, 8, "invalid date"},
		{"created:+026-01-01", strictOpts, 8, "invalid date"},
		{"created:-001-01-01", strictOpts, 8, "invalid date"},
		{"created:2026-02-01..2026-01-01", strictOpts, 8, "the range ends before it starts"},
		{"received:2026-01-01T10:00:00Z..2026-01-01T09:59:59Z", strictOpts, 9, "the range ends before it starts"},
		{"created:>=", strictOpts, 10, "missing date"},
		{"created:..2026-01-01", strictOpts, 8, "missing date"},
		{"created:2026-01-01..", strictOpts, 20, "missing date"},
		{"created:*", strictOpts, 8, `"*" may only stand for an open end`},
		{"created:>*", strictOpts, 9, `"*" may only stand for an open end`},
		{"created:>9999-12-31", strictOpts, 8, "date out of range"},
		{"created:9999-12-31", strictOpts, 8, "date out of range"},
		{"created:<0001-01-01", strictOpts, 9, "date out of range"},
		{"created:>=0001-01-01", strictOpts, 10, "date out of range"},
		{"created:0001-01-01", strictOpts, 8, "date out of range"},
		{"created:0001-01-01T00:00:00Z..*", strictOpts, 8, "date out of range"},
		{"created:2026-01-01..0000-12-31", strictOpts, 20, "date out of range"},
		{"created:0000-12-31", strictOpts, 8, "date out of range"},
		{"created:@yesterday", strictOpts, 8, "invalid relative date"},
		{"created:@today-7", strictOpts, 8, "invalid relative date"},
		{"created:@today+7d", strictOpts, 8, "invalid relative date"},
		{"created:@today--7d", strictOpts, 8, "invalid relative date"},
		{"created:@today-1234567d", strictOpts, 8, "invalid relative date"},
		{"created:@today-999999w", strictOpts, 8, "date out of range"},

		// negation and operators
		{"-", strictOpts, 0, `"-" must be directly followed`},
		{"- x", strictOpts, 0, `"-" must be directly followed`},
		{"a -", strictOpts, 2, `"-" must be directly followed`},
		{"--x", strictOpts, 0, `"-" must be directly followed`},
		{"a OR b", strictOpts, 2, "OR is not an operator"},
		{"NOT x", strictOpts, 0, "NOT is not an operator"},
		{"-AND", strictOpts, 1, "AND is not an operator"},

		// bounds
		{strings.Repeat("a", 11), Options{MaxLen: 10}, 10, "the limit is 10"},
		{strings.Repeat("a", 1025), Options{}, 1024, "the limit is 1024"},
		{"a\xff" + strings.Repeat("a", 1024), Options{}, 1024, "the limit is 1024"},
		{"a b c", Options{MaxTerms: 2}, 4, "too many terms; the limit is 2"},
		{strings.Repeat("ab ", 33), Options{}, 96, "too many terms; the limit is 32"},

		// encoding
		{"ab\xffc", strictOpts, 2, "invalid UTF-8"},
		{"type:\xc3", strictOpts, 5, "invalid UTF-8"},
		{"\"\xe2\x82\"", strictOpts, 1, "invalid UTF-8"},
		{"a\tb", strictOpts, 1, "control character U+0009"},
		{"a\nb", strictOpts, 1, "control character U+000A"},
		{"\x00", strictOpts, 0, "control character U+0000"},
		{"é\u0085", strictOpts, 2, "control character U+0085"},
		{"actor:\"a\x7f\"", strictOpts, 8, "control character U+007F"},
	}
	for _, tc := range tests {
		f, err := Parse(tc.in, tc.opts)
		se, ok := err.(*SyntaxError)
		if !ok {
			t.Errorf("Parse(%.40q) = %+v, %v; want a *SyntaxError", tc.in, f, err)
			continue
		}
		if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("Parse(%.40q): got %d %q, want %d %q", tc.in, se.Pos, se.Msg, tc.pos, tc.msg)
		}
		if !f.Empty() {
			t.Errorf("Parse(%.40q): got terms %+v with an error", tc.in, f.Terms)
		}
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	_, err := Parse("type:repo.x autor:bob", Options{})
	want := `search: at position 12: unknown qualifier "autor" (known: type, category, actor, target, country, created, received); to search for text with a colon, put it in quotes`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestErrorMessagesCutLongInput(t *testing.T) {
	_, err := Parse("actor:x "+strings.Repeat("é", 100)+":x", Options{})
	if err == nil || len(err.Error()) > 250 || !strings.Contains(err.Error(), "…") {
		t.Errorf("got %v, want a message with the name cut short", err)
	}
}
