// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/catalog"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/query"
)

// pageSize is the number of rows of one page of the table.
const pageSize = audit.DefaultPageSize

// filterForm is the page's filters: plain GET parameters, so that every
// view is a URL to share or bookmark.
type filterForm struct {
	Q        string // the search string, in the query package's syntax
	Category string // a category slug
	Type     string // an exact event type
	Actor    string // an actor id or name
	Country  string // ISO 3166-1 alpha-2
	From, To string // YYYY-MM-DD, both days included
}

func readForm(v url.Values) filterForm {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return filterForm{Q: get("q"), Category: get("category"), Type: get("type"), Actor: get("actor"),
		Country: strings.ToUpper(get("country")), From: get("from"), To: get("to")}
}

// values returns the form's non-empty fields as URL parameters.
func (f filterForm) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"q", f.Q}, {"category", f.Category}, {"type", f.Type}, {"actor", f.Actor},
		{"country", f.Country}, {"from", f.From}, {"to", f.To}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v
}

// formError is a filter the page cannot apply; the page says why.
type formError struct {
	Field   string // the form field's id
	Message string
}

const maxField = 256

// filter combines the search string and the controls into one Filter: an
// event must match all of them.
func (h *Handler) filter(f filterForm) (audit.Filter, *formError) {
	cat := h.svc.Catalog()
	if len(f.Q) > 1024 {
		return audit.Filter{}, &formError{"q", "The search is longer than 1024 bytes; shorten it."}
	}
	filter, err := query.Parse(f.Q, query.Options{
		KnownType:     func(s string) bool { _, ok := cat.Lookup(s); return ok },
		KnownCategory: func(s string) bool { _, ok := cat.Category(s); return ok },
		Now:           h.now,
	})
	var se *query.SyntaxError
	if errors.As(err, &se) {
		at := utf8.RuneCountInString(f.Q[:se.Pos]) + 1
		return audit.Filter{}, &formError{"q", fmt.Sprintf("The search has a mistake at character %d: %s.", at, se.Msg)}
	}
	if err != nil {
		return audit.Filter{}, &formError{"q", "The search could not be read."}
	}
	for _, s := range []string{f.Category, f.Type, f.Actor, f.Country, f.From, f.To} {
		if len(s) > maxField {
			return audit.Filter{}, &formError{"q", "A filter is longer than 256 bytes; shorten it."}
		}
	}
	add := func(field audit.Field, value string) {
		filter.Terms = append(filter.Terms, audit.Term{Field: field, Value: value})
	}
	if f.Category != "" {
		if _, ok := cat.Category(f.Category); !ok {
			return audit.Filter{}, &formError{"category", "There is no category " + strconv.Quote(f.Category) + "."}
		}
		add(audit.FieldCategory, f.Category)
	}
	if f.Type != "" {
		if _, ok := cat.Lookup(f.Type); !ok {
			return audit.Filter{}, &formError{"type", "There is no event type " + strconv.Quote(f.Type) + "; type names are case-sensitive."}
		}
		add(audit.FieldType, f.Type)
	}
	if f.Actor != "" {
		add(audit.FieldActor, f.Actor)
	}
	if f.Country != "" {
		if _, ok := geo.CountryName(f.Country); !ok {
			return audit.Filter{}, &formError{"country", "There is no country with the code " + strconv.Quote(f.Country) + "."}
		}
		add(audit.FieldCountry, f.Country)
	}
	if f.From != "" || f.To != "" {
		t := audit.Term{Field: audit.FieldOccurred}
		var err error
		if f.From != "" {
			if t.From, err = time.Parse(time.DateOnly, f.From); err != nil {
				return audit.Filter{}, &formError{"from", "The start date must be a date as YYYY-MM-DD."}
			}
		}
		if f.To != "" {
			if t.To, err = time.Parse(time.DateOnly, f.To); err != nil {
				return audit.Filter{}, &formError{"to", "The end date must be a date as YYYY-MM-DD."}
			}
			t.To = t.To.AddDate(0, 0, 1)
		}
		if !t.From.IsZero() && !t.To.IsZero() && !t.From.Before(t.To) {
			return audit.Filter{}, &formError{"from", "The start date is after the end date."}
		}
		filter.Terms = append(filter.Terms, t)
	}
	return filter, nil
}

// cursor is where a page of the table starts: below before (Older) or
// above after (Newer); -1 when unset. The zero page is the newest.
type cursor struct{ before, after int64 }

func readCursor(v url.Values) (cursor, error) {
	c := cursor{before: -1, after: -1}
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"before", &c.before}, {"after", &c.after}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return c, audit.Errorf(audit.CodeInvalid, "%s must be an event's seq: an integer >= 0", p.name)
			}
			*p.dst = n
		}
	}
	return c, nil
}

// rows is one page of the table.
type rows struct {
	events       [][]byte
	seqs         []int64 // newest first
	newer, older bool    // whether the Newer and Older links lead anywhere
}

// loadRows reads the page of f at c, newest first. A page above a seq is
// read upwards and turned around; the side the page came from is probed
// with a one-event query.
func (h *Handler) loadRows(ctx context.Context, org string, f audit.Filter, c cursor) (rows, error) {
	st := h.svc.Store()
	var out rows
	if c.after >= 0 {
		p, err := st.Query(ctx, org, audit.Query{Filter: f, Order: audit.Asc, After: c.after, Before: -1, Limit: pageSize})
		if err != nil {
			return rows{}, err
		}
		slices.Reverse(p.Events)
		slices.Reverse(p.Seqs)
		out = rows{events: p.Events, seqs: p.Seqs, newer: p.More}
		below := c.after + 1
		if len(p.Seqs) > 0 {
			below = p.Seqs[len(p.Seqs)-1]
		}
		probe, err := st.Query(ctx, org, audit.Query{Filter: f, Order: audit.Desc, Before: below, After: -1, Limit: 1})
		if err != nil {
			return rows{}, err
		}
		out.older = len(probe.Seqs) > 0
		return out, nil
	}
	p, err := st.Query(ctx, org, audit.Query{Filter: f, Order: audit.Desc, Before: c.before, After: -1, Limit: pageSize})
	if err != nil {
		return rows{}, err
	}
	out = rows{events: p.Events, seqs: p.Seqs, older: p.More}
	if c.before >= 0 {
		above := c.before - 1
		if len(p.Seqs) > 0 {
			above = p.Seqs[0]
		}
		probe, err := st.Query(ctx, org, audit.Query{Filter: f, Order: audit.Asc, After: above, Before: -1, Limit: 1})
		if err != nil {
			return rows{}, err
		}
		out.newer = len(probe.Seqs) > 0
	}
	return out, nil
}

// cheapCount returns the number of events matching f when the per-day
// counts answer it: no filter, or only a category and whole-day date
// ranges. ok is false otherwise; counting would mean reading the events.
func (h *Handler) cheapCount(ctx context.Context, org string, f audit.Filter, size int64) (n int64, ok bool, err error) {
	if f.Empty() {
		return size, true, nil
	}
	from := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	category := ""
	for _, t := range f.Terms {
		switch {
		case t.Negate:
			return 0, false, nil
		case t.Field == audit.FieldCategory && len(t.Or) == 0: // a list would need the sum of several
			if category != "" && category != t.Value {
				return 0, true, nil // two categories: nothing is in both
			}
			category = t.Value
		case t.Field == audit.FieldOccurred && isMidnight(t.From) && isMidnight(t.To):
			if !t.From.IsZero() && t.From.After(from) {
				from = t.From
			}
			if !t.To.IsZero() && t.To.Before(to) {
				to = t.To
			}
		default:
			return 0, false, nil
		}
	}
	if !from.Before(to) {
		return 0, true, nil
	}
	counts, err := h.svc.Store().DailyCounts(ctx, org, from, to)
	if err != nil {
		return 0, false, err
	}
	for _, dc := range counts {
		if category == "" || dc.Category == category {
			n += dc.Count
		}
	}
	return n, true, nil
}

func isMidnight(t time.Time) bool {
	t = t.UTC()
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// chartRange is the days the chart covers: the date range the filters
// set, or the last 30 days; at most maxChartDays, the latest of them.
func chartRange(f audit.Filter, today time.Time) (from, to time.Time, clamped bool) {
	var lo, hi time.Time
	for _, t := range f.Terms {
		if t.Field != audit.FieldOccurred || t.Negate {
			continue
		}
		if !t.From.IsZero() && (lo.IsZero() || t.From.After(lo)) {
			lo = t.From
		}
		if !t.To.IsZero() && (hi.IsZero() || t.To.Before(hi)) {
			hi = t.To
		}
	}
	day := 24 * time.Hour
	to = today
	if !hi.IsZero() {
		to = hi.Add(-time.Nanosecond).UTC().Truncate(day)
	}
	from = to.AddDate(0, 0, 1-defaultChartDays)
	if !lo.IsZero() {
		from = lo.UTC().Truncate(day)
	}
	if from.After(to) {
		from = to
	}
	if days := int(to.Sub(from)/day) + 1; days > maxChartDays {
		from, clamped = to.AddDate(0, 0, 1-maxChartDays), true
	}
	return from, to, clamped
}

// chartCategories are the categories the chart stacks: the ones the
// filter asks for, else all but those it excludes.
func chartCategories(f audit.Filter, cat *catalog.Catalog) []catalog.CategoryInfo {
	want, not := map[string]bool{}, map[string]bool{}
	for _, t := range f.Terms {
		if t.Field != audit.FieldCategory {
			continue
		}
		for _, v := range t.Values() {
			if t.Negate {
				not[v] = true
			} else {
				want[v] = true
			}
		}
	}
	var out []catalog.CategoryInfo
	for _, ci := range cat.Categories() {
		s := string(ci.Slug)
		if (len(want) == 0 || want[s]) && !not[s] {
			out = append(out, ci)
		}
	}
	return out
}

// chartPartial reports whether f has terms the chart cannot follow.
func chartPartial(f audit.Filter) bool {
	for _, t := range f.Terms {
		if t.Field != audit.FieldCategory && t.Field != audit.FieldOccurred {
			return true
		}
	}
	return false
}

// The category, type and country controls list the same options on every
// page: they are rendered once, escaped, and only the selected option
// changes per request (rendering ~400 options through the template engine
// was a quarter of the page's render time).

// optionsHTML marks the option of value selected in pre-rendered options.
func optionsHTML(all, selected string) template.HTML {
	if selected != "" {
		v := `<option value="` + template.HTMLEscapeString(selected) + `">`
		all = strings.Replace(all, v, v[:len(v)-1]+" selected>", 1)
	}
	return template.HTML(all) // built from escaped, Trail-owned names only
}

func option(b *strings.Builder, value, label string) {
	b.WriteString(`<option value="`)
	b.WriteString(template.HTMLEscapeString(value))
	b.WriteString(`">`)
	b.WriteString(template.HTMLEscapeString(label))
	b.WriteString("</option>")
}

// categoryOptions and typeOptions are the catalog's categories and its
// types grouped by category.
func (h *Handler) categoryOptions(selected string) template.HTML {
	h.optionsOnce.Do(h.buildOptions)
	return optionsHTML(h.catOpts, selected)
}

// categoryList is the catalog's category slugs, comma-separated, as the
// search help lists them: a platform catalog (trail serve --catalog) adds
// its own.
func (h *Handler) categoryList() string {
	h.optionsOnce.Do(h.buildOptions)
	return h.catList
}

func (h *Handler) typeOptions(selected string) template.HTML {
	h.optionsOnce.Do(h.buildOptions)
	return optionsHTML(h.typeOpts, selected)
}

func (h *Handler) buildOptions() {
	cat := h.svc.Catalog()
	var cats, types strings.Builder
	var slugs []string
	for _, ci := range cat.Categories() {
		slugs = append(slugs, string(ci.Slug))
		option(&cats, string(ci.Slug), ci.Title)
		types.WriteString(`<optgroup label="` + template.HTMLEscapeString(ci.Title) + `">`)
		for _, t := range cat.TypesIn(ci.Slug) {
			option(&types, t.Name, t.Name)
		}
		types.WriteString("</optgroup>")
	}
	h.catOpts, h.typeOpts = cats.String(), types.String()
	h.catList = strings.Join(slugs, ", ")
}

// countryOptions lists every country code geo knows, by name.
var countryOptionsAll = sync.OnceValue(func() string {
	type country struct{ code, name string }
	var all []country
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			if name, ok := geo.CountryName(code); ok {
				all = append(all, country{code, name})
			}
		}
	}
	slices.SortFunc(all, func(x, y country) int { return strings.Compare(x.name, y.name) })
	var b strings.Builder
	for _, c := range all {
		option(&b, c.code, c.name)
	}
	return b.String()
})

func countryOptions(selected string) template.HTML {
	return optionsHTML(countryOptionsAll(), selected)
}

// preset is a one-click date range.
type preset struct {
	Label, URL string
	Active     bool
}

// formatFilter is the filter as one canonical search string.
func formatFilter(f audit.Filter) string { return query.Format(f) }

// retentionText says how long the org's events are kept and what was
// pruned (docs/retention.md); "" when everything is kept forever.
func (h *Handler) retentionText(ctx context.Context, org string, pruned int64) (string, error) {
	pol, err := h.svc.Policy(ctx, org)
	if err != nil {
		return "", err
	}
	if pol.Retention == audit.RetentionForever && !pol.LegalHold && pruned == 0 {
		return "", nil
	}
	var b strings.Builder
	if pol.Retention == audit.RetentionForever {
		b.WriteString("Events are kept forever.")
	} else {
		fmt.Fprintf(&b, "Events are kept %s after Trail receives them.", pol.Retention)
	}
	if pol.LegalHold {
		fmt.Fprintf(&b, " Legal hold: nothing is removed (%s).", pol.LegalHoldReason)
	}
	if pruned > 0 {
		fmt.Fprintf(&b, " Events 0 to %d were removed by retention; this log starts at event %d, and exports still verify.", pruned-1, pruned)
	}
	return b.String(), nil
}
