// SPDX-License-Identifier: Apache-2.0

package audit

import "time"

// Field names what a search term applies to.
type Field int

const (
	FieldText       Field = iota // free text over description, actor, targets and metadata
	FieldType                    // exact, case-sensitive event type name
	FieldTypePrefix              // type name prefix ("repo." for type:repo.*)
	FieldCategory                // category slug
	FieldActor                   // actor id or name, exact
	FieldTarget                  // any target's id or name, exact
	FieldCountry                 // ISO 3166-1 alpha-2 country code, upper case
	FieldOccurred                // producer's occurred_at, a time range
	FieldReceived                // Trail's received_at, a time range
)

// Term is one condition of a Filter.
//
// For FieldOccurred and FieldReceived, From and To bound the range: From is
// inclusive, To is exclusive, and a zero time leaves that side open. For
// FieldText, Value is a word (matched as a word prefix) or, when Phrase is
// set, an exact phrase of words. For every other field Value is matched
// exactly.
//
// Or lists further values of the same Field, OR'ed with Value: the term
// matches an event that matches any of Values() (type:a,b), and a negated
// one excludes an event that matches any of them (-type:a,b: none of
// them). Or is nil for text and time terms and for a single value.
type Term struct {
	Field  Field
	Negate bool
	Value  string
	Or     []string
	Phrase bool
	From   time.Time
	To     time.Time
}

// Values returns Value followed by Or: every value the term OR's.
func (t Term) Values() []string {
	if len(t.Or) == 0 {
		return []string{t.Value}
	}
	return append([]string{t.Value}, t.Or...)
}

// Filter is a conjunction of terms; the zero Filter matches every event.
type Filter struct {
	Terms []Term
}

// Empty reports whether f matches every event.
func (f Filter) Empty() bool { return len(f.Terms) == 0 }
