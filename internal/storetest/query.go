// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"fmt"
	"slices"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// The query dataset: nine events e0…e8 of org acme, at seqs 0…8. The same
// events (same ids and content but their org) are also stored in org
// "noise" first, so a filter that leaks across orgs shows.
//
//	    type                           cat   actor          targets                    country
//	e0  repo.create                    cont  alice          repo acme/llama            FR
//	e1  repo.delete                    cont  bob            repo acme/llama            US
//	e2  repo.removeDisable             cont  alice          repo acme/mistral          FR
//	e3  repo.removedisable             cont  dave           repo acme/falcon           DE
//	e4  org.change_role                memb  alice          user bob                   DE
//	e5  billing.update_payment_method  bill  carol          org acme                   —
//	e6  repo.update_settings           cont  bob            repo acme/llama            US
//	e7  org.sso_login                  org   carol          —                          US
//	e8  spaces.update_hardware         cont  ci-token       space acme/llama-demo      JP
func dataset(org string) []audit.Event {
	user := func(id, name string) audit.Actor { return audit.Actor{Type: "user", ID: id, Name: name} }
	alice, bob, carol, dave := user("u-alice", "alice"), user("u-bob", "bob"), user("u-carol", "carol"), user("u-dave", "dave")
	tgt := func(typ, id, name string) []audit.Target { return []audit.Target{{Type: typ, ID: id, Name: name}} }
	llama := tgt("repo", "r-llama", "acme/llama")
	loc := func(cc string) *audit.Location { return &audit.Location{CountryCode: cc} }
	evs := []audit.Event{
		{Type: "repo.create", Category: "content", Actor: alice, Targets: llama,
			Description: "alice created the model acme/llama", Location: loc("FR"),
			Metadata: map[string]any{"private": false, "license": "apache-2.0"}},
		{Type: "repo.delete", Category: "content", Actor: bob, Targets: llama,
			Description: "bob deleted the model acme/llama", Location: loc("US")},
		{Type: "repo.removeDisable", Category: "content", Actor: alice, Targets: tgt("repo", "r-mistral", "acme/mistral"),
			Description: "alice re-enabled acme/mistral", Location: loc("FR")},
		{Type: "repo.removedisable", Category: "content", Actor: dave, Targets: tgt("repo", "r-falcon", "acme/falcon"),
			Description: "dave re-enabled acme/falcon", Location: loc("DE")},
		{Type: "org.change_role", Category: "membership", Actor: alice, Targets: tgt("user", "u-bob", "bob"),
			Description: "alice changed bob's role from read to admin", Location: loc("DE"),
			Metadata: map[string]any{"old_role": "read", "new_role": "admin"}},
		{Type: "billing.update_payment_method", Category: "billing", Actor: carol, Targets: tgt("org", "o-acme", "acme"),
			Description: "carol updated the payment method",
			Metadata:    map[string]any{"card_brand": "visa"}},
		{Type: "repo.update_settings", Category: "content", Actor: bob, Targets: llama,
			Description: "bob changed the settings of acme/llama", Location: loc("US"),
			Metadata: map[string]any{"setting": "gated", "new_value": "manual"}},
		{Type: "org.sso_login", Category: "organization", Actor: carol,
			Description: "carol signed in with SSO", Location: loc("US")},
		{Type: "spaces.update_hardware", Category: "content", Actor: audit.Actor{Type: "token", ID: "tok-1", Name: "ci-token"},
			Targets:     tgt("space", "s-demo", "acme/llama-demo"),
			Description: "ci-token changed the hardware of acme/llama-demo", Location: loc("JP"),
			Metadata: map[string]any{"old_flavor": "cpu-basic", "new_flavor": "a10g-small"}},
	}
	for i := range evs {
		evs[i].ID, evs[i].Org = fmt.Sprintf("e%d", i), org
		evs[i].OccurredAt, evs[i].ReceivedAt = occurred(i), received(i)
		if evs[i].Location != nil {
			evs[i].Client = &audit.Client{IP: "198.51.100.0", IPPrefixLen: 24, UserAgent: "Mozilla/5.0"}
		}
	}
	return evs
}

// occurred spreads the dataset over days; received is a later, separate
// clock so the two ranges are told apart.
func occurred(i int) time.Time { return t0.Add(time.Duration(i) * 25 * time.Hour) }
func received(i int) time.Time {
	return time.Date(2026, 3, 1, 0, 0, 0, 123456000, time.UTC).Add(time.Duration(i) * time.Second)
}

// loadDataset stores the dataset in "noise" then "acme".
func (h *harness) loadDataset() {
	h.t.Helper()
	h.appendOK("noise", dataset("noise")...)
	if got := h.appendOK("acme", dataset("acme")...); !slices.Equal(got, seqRange(0, 9)) {
		h.t.Fatalf("dataset seqs = %v, want 0…8", got)
	}
}

// es names dataset events by number, listed newest first as Desc returns
// them.
func es(ns ...int) []string {
	slices.Sort(ns)
	slices.Reverse(ns)
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = fmt.Sprintf("e%d", n)
	}
	return out
}

// complement is every dataset event not in want, newest first.
func complement(want []string) []string {
	var out []string
	for i := 8; i >= 0; i-- {
		if id := fmt.Sprintf("e%d", i); !slices.Contains(want, id) {
			out = append(out, id)
		}
	}
	return out
}

var (
	text    = func(v string) audit.Term { return audit.Term{Field: audit.FieldText, Value: v} }
	phrase  = func(v string) audit.Term { return audit.Term{Field: audit.FieldText, Value: v, Phrase: true} }
	typ     = func(v string) audit.Term { return audit.Term{Field: audit.FieldType, Value: v} }
	prefix  = func(v string) audit.Term { return audit.Term{Field: audit.FieldTypePrefix, Value: v} }
	cat     = func(v string) audit.Term { return audit.Term{Field: audit.FieldCategory, Value: v} }
	actor   = func(v string) audit.Term { return audit.Term{Field: audit.FieldActor, Value: v} }
	target  = func(v string) audit.Term { return audit.Term{Field: audit.FieldTarget, Value: v} }
	country = func(v string) audit.Term { return audit.Term{Field: audit.FieldCountry, Value: v} }
	not     = func(t audit.Term) audit.Term { t.Negate = true; return t }
	// or adds values to a term, OR'ed with its own (type:a,b).
	or = func(t audit.Term, more ...string) audit.Term { t.Or = more; return t }
)

func occurredIn(from, to time.Time) audit.Term {
	return audit.Term{Field: audit.FieldOccurred, From: from, To: to}
}

func receivedIn(from, to time.Time) audit.Term {
	return audit.Term{Field: audit.FieldReceived, From: from, To: to}
}

// singleTerms are checked positive (want) and negated (the complement),
// in both orders.
var singleTerms = []struct {
	name string
	term audit.Term
	want []string
}{
	{"type exact", typ("repo.removeDisable"), es(2)},
	{"type exact is case-sensitive", typ("repo.removedisable"), es(3)},
	{"type exact is not a prefix", typ("repo"), nil},
	{"type exact unknown", typ("nothing.here"), nil},
	{"type prefix repo.", prefix("repo."), es(0, 1, 2, 3, 6)},
	{"type prefix org.", prefix("org."), es(4, 7)},
	{"type prefix is case-sensitive", prefix("Repo."), nil},
	{"category content", cat("content"), es(0, 1, 2, 3, 6, 8)},
	{"category billing", cat("billing"), es(5)},
	{"actor by id", actor("u-alice"), es(0, 2, 4)},
	{"actor by name", actor("alice"), es(0, 2, 4)},
	{"actor is not a target", actor("bob"), es(1, 6)},
	{"actor token", actor("ci-token"), es(8)},
	{"actor is exact", actor("ali"), nil},
	{"target by id", target("r-llama"), es(0, 1, 6)},
	{"target by name", target("acme/llama"), es(0, 1, 6)},
	{"target is not an actor", target("bob"), es(4)},
	{"target is exact", target("acme/llama-demo"), es(8)},
	{"country", country("FR"), es(0, 2)},
	{"country unknown", country("SE"), nil},
	{"occurred range: From inclusive, To exclusive", occurredIn(occurred(2), occurred(5)), es(2, 3, 4)},
	{"occurred range just past From", occurredIn(occurred(2).Add(time.Microsecond), occurred(5).Add(time.Microsecond)), es(3, 4, 5)},
	{"occurred from only", occurredIn(occurred(6), time.Time{}), es(6, 7, 8)},
	{"occurred to only", occurredIn(time.Time{}, occurred(2)), es(0, 1)},
	{"occurred empty range", occurredIn(occurred(3), occurred(3)), nil},
	{"received range", receivedIn(received(3), received(6)), es(3, 4, 5)},
	{"received from only", receivedIn(received(7), time.Time{}), es(7, 8)},
	{"received to only", receivedIn(time.Time{}, received(1)), es(0)},
	{"received is not occurred", receivedIn(occurred(0), occurred(8)), nil},
	{"text word in target", text("mistral"), es(2)},
	{"text word prefix", text("mistr"), es(2)},
	{"text is a word prefix, not a substring", text("istral"), nil},
	{"text word in metadata only", text("visa"), es(5)},
	{"text word in metadata value", text("gated"), es(6)},
	{"text word in actor", text("carol"), es(5, 7)},
	{"text is case-insensitive", text("ALICE"), es(0, 2, 4)},
	{"text word in several fields", text("llama"), es(0, 1, 6, 8)},
	{"text word acme", text("acme"), es(0, 1, 2, 3, 5, 6, 8)},
	{"text phrase", phrase("acme llama"), es(0, 1, 6, 8)},
	{"text phrase in one field", phrase("llama demo"), es(8)},
	{"text phrase keeps word order", phrase("demo llama"), nil},
	{"text phrase across description words", phrase("changed bob"), es(4)},
	{"text no match", text("zebra"), nil},

	// Lists of values, OR'ed; with tiny blocks (3 events) the values of
	// one list sit in different blocks, and some blocks hold none.
	{"type list", or(typ("repo.create"), "spaces.update_hardware"), es(0, 8)},
	{"type list with an unknown type", or(typ("nothing.here"), "repo.delete"), es(1)},
	{"type list is case-sensitive", or(typ("repo.removeDisable"), "org.SSO_login"), es(2)},
	{"type prefix list", or(prefix("billing."), "spaces."), es(5, 8)},
	{"type prefix list, overlapping", or(prefix("repo."), "repo.re"), es(0, 1, 2, 3, 6)},
	{"category list", or(cat("billing"), "organization"), es(5, 7)},
	{"actor list", or(actor("carol"), "dave"), es(3, 5, 7)},
	{"actor list by id and name", or(actor("u-dave"), "ci-token"), es(3, 8)},
	{"actor list, a value twice", or(actor("bob"), "bob"), es(1, 6)},
	{"actor list, one event by both values", or(actor("u-bob"), "bob"), es(1, 6)},
	{"target list", or(target("acme/mistral"), "s-demo"), es(2, 8)},
	{"target list of unknowns", or(target("nothing"), "acme/llama-", "r-ghost"), nil},
	{"country list", or(country("FR"), "JP"), es(0, 2, 8)},
	{"country list of unknowns", or(country("SE"), "NO"), nil},
	{"list of twenty values", or(actor("x0"), "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9",
		"x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "ci-token"), es(8)},
}

// combinations are conjunctions of terms of several kinds.
var combinations = []struct {
	name  string
	terms []audit.Term
	want  []string
}{
	{"type prefix + actor + text", []audit.Term{prefix("repo."), actor("alice"), text("llama")}, es(0)},
	{"actor + negated text", []audit.Term{actor("u-alice"), not(text("llama"))}, es(2, 4)},
	{"negated type + country", []audit.Term{not(typ("org.sso_login")), country("US")}, es(1, 6)},
	{"two words", []audit.Term{text("alice"), text("admin")}, es(4)},
	{"word + phrase", []audit.Term{text("bob"), phrase("acme llama")}, es(1, 6)},
	{"actor + target", []audit.Term{actor("alice"), target("acme/llama")}, es(0)},
	{"two actors", []audit.Term{actor("alice"), actor("bob")}, nil},
	{"negated actor + negated target", []audit.Term{not(actor("alice")), not(target("acme/llama"))}, es(3, 5, 7, 8)},
	{"category + occurred range", []audit.Term{cat("content"), occurredIn(occurred(1), occurred(7))}, es(1, 2, 3, 6)},
	{"word + negated word", []audit.Term{text("acme"), not(text("llama"))}, es(2, 3, 5)},
	{"two negated words", []audit.Term{not(text("llama")), not(text("alice"))}, es(3, 5, 7)},
	{"negated phrase", []audit.Term{not(phrase("acme llama")), cat("content")}, es(2, 3)},
	{"target + actor + text", []audit.Term{target("r-llama"), actor("bob"), text("settings")}, es(6)},
	{"two negated countries", []audit.Term{not(country("FR")), not(country("US"))}, es(3, 4, 5, 8)},
	{"type prefix + negated type", []audit.Term{prefix("repo."), not(typ("repo.removeDisable"))}, es(0, 1, 3, 6)},
	{"negated type prefix + negated category", []audit.Term{not(prefix("repo.")), not(cat("billing"))}, es(4, 7, 8)},
	{"received + actor + negated text", []audit.Term{receivedIn(received(1), time.Time{}), actor("bob"), not(text("settings"))}, es(1)},
	{"type list + actor", []audit.Term{or(typ("repo.create"), "repo.delete", "org.change_role"), actor("alice")}, es(0, 4)},
	{"negated actor list + category", []audit.Term{not(or(actor("alice"), "bob")), cat("content")}, es(3, 8)},
	{"negated country list + negated type prefix list", []audit.Term{not(or(country("FR"), "US")), not(or(prefix("repo."), "org."))}, es(5, 8)},
	{"two lists", []audit.Term{or(actor("alice"), "carol"), or(country("DE"), "US")}, es(4, 7)},
	{"actor list + text", []audit.Term{or(actor("alice"), "bob"), text("llama")}, es(0, 1, 6)},
	{"target list + negated actor list", []audit.Term{or(target("r-llama"), "acme/mistral"), not(or(actor("bob"), "dave"))}, es(0, 2)},
	{"actor + actor list", []audit.Term{actor("bob"), or(actor("alice"), "u-bob")}, es(1, 6)},
	{"category list + occurred range", []audit.Term{or(cat("billing"), "membership"), occurredIn(occurred(5), time.Time{})}, es(5)},
	{"everything at once", []audit.Term{prefix("repo."), cat("content"), actor("alice"), target("r-llama"),
		country("FR"), occurredIn(occurred(0), occurred(1)), receivedIn(received(0), received(1)), text("created"), not(text("mistral"))}, es(0)},
}

var filterTests = []test{
	{"SingleTerms", func(h *harness) {
		h.loadDataset()
		for _, c := range singleTerms {
			h.checkFilter(c.name, terms(c.term), c.want)
			h.checkFilter("negated "+c.name, terms(not(c.term)), complement(c.want))
		}
	}},
	{"Combinations", func(h *harness) {
		h.loadDataset()
		for _, c := range combinations {
			h.checkFilter(c.name, terms(c.terms...), c.want)
		}
	}},
	{"TextNeedsNoEscaping", func(h *harness) {
		odd := newEvent("acme", "odd", 0)
		odd.Description = `say "hello" (world) NOT AND OR near x:y café`
		h.appendOK("acme", odd, newEvent("acme", "plain", 1))
		// Values with a word match it; search syntax in them is no syntax.
		for _, v := range []string{`"hello"`, `(world)`, `NOT`, `and`, `OR`, `near`, `x:y`, `^hello`, `café`, `hello*`} {
			for _, t := range []audit.Term{text(v), phrase(v)} {
				if got := ids(h.t, h.query("acme", all(terms(t)))); !slices.Equal(got, []string{"odd"}) {
					h.t.Errorf("%+v: got %v, want [odd]", t, got)
				}
			}
		}
		// Every value, with or without a word: no error, and the term and
		// its negation split the log.
		for _, v := range []string{`-`, `*`, `"`, `""`, ``, `  `, `NEAR(a b)`, `a"b`, `(`, `hello world`, `:`, `'`, `\`} {
			for _, t := range []audit.Term{text(v), phrase(v)} {
				pos := ids(h.t, h.query("acme", all(terms(t))))
				neg := ids(h.t, h.query("acme", all(terms(not(t)))))
				both := append(slices.Clone(pos), neg...)
				slices.Sort(both)
				if !slices.Equal(both, []string{"odd", "plain"}) {
					h.t.Errorf("%+v matched %v and its negation %v; want each event in exactly one", t, pos, neg)
				}
			}
		}
	}},
	{"EmptyFilterMatchesAll", func(h *harness) {
		h.loadDataset()
		h.checkFilter("empty filter", audit.Filter{}, es(0, 1, 2, 3, 4, 5, 6, 7, 8))
	}},
}

// checkFilter queries acme with f in both orders and compares the ids and
// the org of every event.
func (h *harness) checkFilter(name string, f audit.Filter, want []string) {
	h.t.Helper()
	q := all(f)
	p := h.query("acme", q)
	if got := ids(h.t, p); !slices.Equal(got, want) {
		h.t.Errorf("%s: Desc got %v, want %v", name, got, want)
	}
	for _, data := range p.Events {
		if d := decode(h.t, data); d.Org != "acme" {
			h.t.Errorf("%s: got an event of org %q", name, d.Org)
		}
	}
	if p.More {
		h.t.Errorf("%s: More = true with every match returned", name)
	}
	q.Order = audit.Asc
	got := ids(h.t, h.query("acme", q))
	wantAsc := slices.Clone(want)
	slices.Reverse(wantAsc)
	if !slices.Equal(got, wantAsc) {
		h.t.Errorf("%s: Asc got %v, want %v", name, got, wantAsc)
	}
}

var orderTests = []test{
	{"OrderBoundsAndLimit", func(h *harness) {
		h.loadDataset()
		q := func(o audit.Order, before, after int64, limit int, ts ...audit.Term) audit.Query {
			return audit.Query{Filter: terms(ts...), Order: o, Before: before, After: after, Limit: limit}
		}
		for _, c := range []struct {
			name     string
			q        audit.Query
			want     []int64
			wantMore bool
		}{
			{"desc is the default", audit.Query{Before: -1, After: -1, Limit: 100}, []int64{8, 7, 6, 5, 4, 3, 2, 1, 0}, false},
			{"asc", q(audit.Asc, -1, -1, 100), seqRange(0, 9), false},
			{"desc before 5", q(audit.Desc, 5, -1, 100), []int64{4, 3, 2, 1, 0}, false},
			{"desc before 0", q(audit.Desc, 0, -1, 100), nil, false},
			{"desc before past the end", q(audit.Desc, 100, -1, 100), []int64{8, 7, 6, 5, 4, 3, 2, 1, 0}, false},
			{"asc after 5", q(audit.Asc, -1, 5, 100), []int64{6, 7, 8}, false},
			{"asc after the last", q(audit.Asc, -1, 8, 100), nil, false},
			{"desc limit 3", q(audit.Desc, -1, -1, 3), []int64{8, 7, 6}, true},
			{"asc limit 3", q(audit.Asc, -1, -1, 3), []int64{0, 1, 2}, true},
			{"limit exactly the matches", q(audit.Desc, -1, -1, 9), []int64{8, 7, 6, 5, 4, 3, 2, 1, 0}, false},
			{"limit past the matches", q(audit.Desc, -1, -1, 10), []int64{8, 7, 6, 5, 4, 3, 2, 1, 0}, false},
			{"asc after 5 limit 3: last page", q(audit.Asc, -1, 5, 3), []int64{6, 7, 8}, false},
			{"asc after 4 limit 3", q(audit.Asc, -1, 4, 3), []int64{5, 6, 7}, true},
			{"desc before 4 limit 1", q(audit.Desc, 4, -1, 1), []int64{3}, true},
			{"actor, desc before 4", q(audit.Desc, 4, -1, 100, actor("alice")), []int64{2, 0}, false},
			{"actor, asc after 0 limit 1", q(audit.Asc, -1, 0, 1, actor("alice")), []int64{2}, true},
			{"text, asc after 0", q(audit.Asc, -1, 0, 100, text("llama")), []int64{1, 6, 8}, false},
			{"text, desc limit 2", q(audit.Desc, -1, -1, 2, text("llama")), []int64{8, 6}, true},
			{"text, desc before 6 limit 2", q(audit.Desc, 6, -1, 2, text("llama")), []int64{1, 0}, false},
			{"negated text, desc before 5 limit 2", q(audit.Desc, 5, -1, 2, not(text("llama"))), []int64{4, 3}, true},
			{"type, desc before 1", q(audit.Desc, 1, -1, 100, typ("repo.removeDisable")), nil, false},
		} {
			p := h.query("acme", c.q)
			if !slices.Equal(p.Seqs, c.want) || p.More != c.wantMore {
				h.t.Errorf("%s: got seqs %v more %v, want %v more %v", c.name, p.Seqs, p.More, c.want, c.wantMore)
			}
			ids(h.t, p) // the bytes carry the seqs the page reports
		}
	}},
	{"UnknownOrgIsEmpty", func(h *harness) {
		h.loadDataset()
		p := h.query("nobody", all(audit.Filter{}))
		if len(p.Events) != 0 || p.More {
			h.t.Errorf("Query of an org without events: got %d events, more %v, want none", len(p.Events), p.More)
		}
		p = h.query("nobody", all(terms(text("llama"))))
		if len(p.Events) != 0 || p.More {
			h.t.Errorf("text Query of an org without events: got %d events, more %v, want none", len(p.Events), p.More)
		}
	}},
	{"PagingCoversEveryMatchOnce", func(h *harness) {
		h.loadDataset()
		filters := map[string]audit.Filter{
			"none":         {},
			"actor":        terms(actor("alice")),
			"text":         terms(text("llama")),
			"negated text": terms(not(text("llama"))),
			"type prefix":  terms(prefix("repo.")),
			"category":     terms(cat("content")),
			"target+text":  terms(target("r-llama"), text("bob")),
			"actor list":   terms(or(actor("alice"), "ci-token")),
			"type list":    terms(or(typ("repo.create"), "org.sso_login", "spaces.update_hardware")),
			"not country":  terms(not(or(country("FR"), "US"))),
		}
		for name, f := range filters {
			full := h.query("acme", all(f)).Seqs
			for _, limit := range []int{1, 2, 4} {
				if got := h.walk("acme", f, audit.Desc, limit); !slices.Equal(got, full) {
					h.t.Errorf("%s, limit %d: desc pages gave %v, want %v", name, limit, got, full)
				}
				asc := slices.Clone(full)
				slices.Reverse(asc)
				if got := h.walk("acme", f, audit.Asc, limit); !slices.Equal(got, asc) {
					h.t.Errorf("%s, limit %d: asc pages gave %v, want %v", name, limit, got, asc)
				}
			}
		}
	}},
}

// walk pages through org's matches of f, each page bounded by the last
// seq of the one before, and returns the seqs seen.
func (h *harness) walk(org string, f audit.Filter, o audit.Order, limit int) []int64 {
	h.t.Helper()
	q := audit.Query{Filter: f, Order: o, Before: -1, After: -1, Limit: limit}
	var seqs []int64
	for pages := 0; ; pages++ {
		if pages > 1_000_000 {
			h.t.Fatal("walk: too many pages")
		}
		p := h.query(org, q)
		seqs = append(seqs, p.Seqs...)
		if !p.More {
			return seqs
		}
		if len(p.Seqs) == 0 {
			h.t.Fatalf("walk: More with an empty page")
		}
		last := p.Seqs[len(p.Seqs)-1]
		if o == audit.Desc {
			q.Before = last
		} else {
			q.After = last
		}
	}
}
