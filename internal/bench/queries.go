// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/query"
)

// queryKind is one row of the query table: a name and a maker of search
// strings of that kind.
type queryKind struct {
	name   string
	target string // the p99 target
	make   func(r *rand.Rand) string
}

const (
	filterTarget = "p99 ≤ 5 ms"
	textTarget   = "p99 ≤ 50 ms"
)

// queryKinds are the first-page searches of issue 8, with values taken
// from the event pool (vocab.go) and days from the preloaded history.
func (r *run) queryKinds(cats []string) []queryKind {
	v := r.pool.vocab
	day := func(rng *rand.Rand) time.Time { // a day of the big org's history
		return time.Now().UTC().AddDate(0, 0, -5-rng.IntN(170))
	}
	return []queryKind{
		{"no filter", filterTarget, func(*rand.Rand) string { return "" }},
		{"type", filterTarget, func(g *rand.Rand) string { return "type:" + pick(g, v.types) }},
		{"type prefix", filterTarget, func(*rand.Rand) string { return "type:billing.*" }},
		{"category", filterTarget, func(g *rand.Rand) string { return "category:" + pick(g, cats) }},
		{"actor", filterTarget, func(g *rand.Rand) string { return "actor:" + quoteValue(pick(g, v.actors)) }},
		{"target", filterTarget, func(g *rand.Rand) string { return "target:" + quoteValue(pick(g, v.targets)) }},
		{"country", filterTarget, func(g *rand.Rand) string { return "country:" + pick(g, countries()) }},
		{"created: one day", filterTarget, func(g *rand.Rand) string { return "created:" + ymd(day(g)) }},
		{"created: one month", filterTarget, func(g *rand.Rand) string {
			d := day(g)
			return "created:" + ymd(d) + ".." + ymd(d.AddDate(0, 0, 29))
		}},
		{"received: one day", filterTarget, func(g *rand.Rand) string { return "received:" + ymd(day(g)) }},
		{"negation", filterTarget, func(g *rand.Rand) string { return "-type:" + pick(g, firstN(v.types, 3)) }},
		{"word", textTarget, func(g *rand.Rand) string { return pick(g, v.words) }},
		{"rare word", textTarget, func(g *rand.Rand) string { return pick(g, v.rare) }},
		{"phrase", textTarget, func(g *rand.Rand) string { return phrase(pick(g, v.phrases)) }},
		{"type+actor+word", textTarget, func(g *rand.Rand) string {
			if len(v.combos) == 0 {
				return ""
			}
			c := v.combos[g.IntN(len(v.combos))]
			return "type:" + c[0] + " actor:" + quoteValue(c[1]) + " " + c[2]
		}},
	}
}

// queries measures the first page (50 events, newest first) of each kind,
// in-process, at the preloaded size.
func (r *run) queries(ctx context.Context, svc *audit.Service) error {
	if r.o.Queries == 0 || r.o.Only == OnlyExport {
		return nil
	}
	cat := svc.Catalog()
	var cats []string
	for _, c := range cat.Categories() {
		cats = append(cats, string(c.Slug))
	}
	opts := query.Options{
		KnownType:     func(n string) bool { _, ok := cat.Lookup(n); return ok },
		KnownCategory: func(s string) bool { _, ok := cat.Category(s); return ok },
	}
	r.progress("first-page queries: %d per kind", r.o.Queries)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range r.queryKinds(cats) {
		var lat latencies
		rows, example := 0, ""
		// A kind stops at Duration too: on some stores one search scans
		// the whole log, and 200 of them would take the run hostage.
		deadline := time.Now().Add(r.o.Duration)
		for i := 0; i < r.o.Queries && (i == 0 || time.Now().Before(deadline)); i++ {
			q := k.make(rng)
			if example == "" {
				example = cmp.Or(q, "(none)")
			}
			f, err := query.Parse(q, opts)
			if err != nil {
				return fmt.Errorf("bench query %q: %w", q, err)
			}
			t0 := time.Now()
			res, err := svc.List(ctx, r.o.Org, audit.ListRequest{Filter: f, AfterSeq: -1})
			if err != nil {
				return fmt.Errorf("bench query %q: %w", q, err)
			}
			lat.add(time.Since(t0))
			rows += len(res.Events)
			r.keepIDs(res.Events)
		}
		r.progress("  %s: p50 %s, p99 %s", k.name, ms(lat.pct(50)), ms(lat.pct(99)))
		n, note := lat.len(), ""
		if n < r.o.Queries {
			note = fmt.Sprintf("; only %d searches in --duration", n)
		}
		r.report.add(row{
			name:   fmt.Sprintf("first page (50): %s, e.g. `%s`", k.name, example),
			trail:  fmt.Sprintf("p50 %s, p99 %s (%.1f rows%s)", ms(lat.pct(50)), ms(lat.pct(99)), float64(rows)/float64(n), note),
			target: k.target,
		})
	}
	return nil
}

func pick(r *rand.Rand, s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[r.IntN(len(s))]
}

func ymd(t time.Time) string { return t.Format("2006-01-02") }

// quoteValue quotes a search value that holds white space or a quote, as
// the search syntax wants (\" and \\ inside quotes).
func quoteValue(s string) string {
	if !strings.ContainsAny(s, " \t\"\\") {
		return s
	}
	return phrase(s)
}

// phrase quotes s as an exact-phrase search.
func phrase(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// keepIDs remembers the id of one event of a page, for the proof phase:
// pages of every kind land all over the log.
func (r *run) keepIDs(events [][]byte) {
	if len(events) == 0 || len(r.proofIDs) >= r.o.Queries {
		return
	}
	var e struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(events[len(events)/2], &e) == nil && e.ID != "" {
		r.proofIDs = append(r.proofIDs, e.ID)
	}
}
