// SPDX-License-Identifier: Apache-2.0

package query

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/trailaudit/trail/internal/audit"
)

// Format renders f as its canonical search string, for export metadata and
// shareable URLs: the terms in f's order one space apart, qualifier names
// in lower case, quotes only where a value needs them, and time bounds in
// UTC, as dates where a bound falls on midnight and as RFC 3339 timestamps
// elsewhere. Of two equal comparisons (>2026-03-01 and >=2026-03-02) it
// writes the shorter, and a range of one day or one instant as that day or
// instant. The empty Filter renders as "".
//
// For every Filter f that Parse returns with some Options, Parse of
// Format(f) with the same Options returns f again, and Format(f) is no
// longer than the string Parse read unless that string used @today (Format
// writes the day it stood for, which can be longer).
//
// A Filter built by hand round-trips when each of its terms is one Parse
// could return: well-formed names, a country in upper case, a category in
// lower case, From before To, bounds in the years 1 to 9999. Other terms
// are rendered as closely as the syntax allows and may fail to parse or
// parse differently: a non-phrase text word that cannot stand bare (white
// space, a quote, a colon, a leading '-', OR/AND/NOT) comes back as a
// phrase, and a term of an unknown Field renders as "fieldN:…", which
// Parse rejects.
func Format(f audit.Filter) string {
	parts := make([]string, len(f.Terms))
	for i, t := range f.Terms {
		parts[i] = formatTerm(t)
	}
	return strings.Join(parts, " ")
}

func formatTerm(t audit.Term) string {
	s := formatPositive(t)
	if t.Negate {
		return "-" + s
	}
	return s
}

func formatPositive(t audit.Term) string {
	switch t.Field {
	case audit.FieldText:
		if t.Phrase || !isBareWord(t.Value) {
			return quoteValue(t.Value)
		}
		return t.Value
	case audit.FieldType:
		return "type:" + formatValues(t, "")
	case audit.FieldTypePrefix:
		return "type:" + formatValues(t, "*")
	case audit.FieldCategory:
		return "category:" + formatValues(t, "")
	case audit.FieldActor:
		return "actor:" + formatValues(t, "")
	case audit.FieldTarget:
		return "target:" + formatValues(t, "")
	case audit.FieldCountry:
		return "country:" + formatValues(t, "")
	case audit.FieldOccurred:
		return "created:" + formatRange(t.From, t.To)
	case audit.FieldReceived:
		return "received:" + formatRange(t.From, t.To)
	}
	return fmt.Sprintf("field%d:%s", int(t.Field), formatValue(t.Value))
}

// isBareWord reports whether Parse reads w, unquoted, as the text word w.
func isBareWord(w string) bool {
	return w != "" && w[0] != '-' && !strings.ContainsAny(w, `":`) &&
		!strings.ContainsFunc(w, unicode.IsSpace) && !isOperator(w)
}

// formatValues writes the term's values, each followed by suffix, as a
// comma-separated list.
func formatValues(t audit.Term, suffix string) string {
	vals := t.Values()
	for i, v := range vals {
		vals[i] = formatValue(v + suffix)
	}
	return strings.Join(vals, ",")
}

// formatValue quotes a qualifier value only when it needs quotes: a comma
// would otherwise separate two values of a list.
func formatValue(v string) string {
	if v == "" || strings.ContainsAny(v, `",`) || strings.ContainsFunc(v, unicode.IsSpace) {
		return quoteValue(v)
	}
	return v
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func quoteValue(v string) string {
	return `"` + quoteEscaper.Replace(v) + `"`
}

// formatRange writes a RANGE that Parse reads back as [from, to).
func formatRange(from, to time.Time) string {
	switch {
	case from.IsZero() && to.IsZero():
		return "*..*"
	case to.IsZero():
		return shorter(">="+formatFirst(from), ">"+formatLast(from))
	case from.IsZero():
		return shorter("<"+formatFirst(to), "<="+formatLast(to))
	}
	if to.Sub(from) == time.Nanosecond { // one instant, even at midnight
		return from.UTC().Format(time.RFC3339Nano)
	}
	first, last := formatFirst(from), formatLast(to)
	if first == last { // one day
		return first
	}
	return first + ".." + last
}

func shorter(a, b string) string {
	if len(b) < len(a) {
		return b
	}
	return a
}

// formatFirst writes the endpoint whose first instant is t.
func formatFirst(t time.Time) string {
	t = t.UTC()
	if isMidnight(t) {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}

// formatLast writes the endpoint whose coverage ends just before end: the
// day before a midnight, or the nanosecond before any other instant.
func formatLast(end time.Time) string {
	end = end.UTC()
	if isMidnight(end) {
		return end.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return end.Add(-time.Nanosecond).Format(time.RFC3339Nano)
}

func isMidnight(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}
