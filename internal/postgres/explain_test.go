// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/postgres/pgtest"
)

// TestPostgresFirstPagePlans loads a log, runs ANALYZE, and checks with
// EXPLAIN that the first page of every kind of query reads an index, never
// a sequential scan of events or refs.
func TestPostgresFirstPagePlans(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 40k events; skipped with -short")
	}
	ctx := t.Context()
	s, err := Open(ctx, pgtest.URL(t), Options{Schema: "explain"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	loadPlanData(t, s)
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	term := func(f audit.Field, v string) audit.Term { return audit.Term{Field: f, Value: v} }
	list := func(f audit.Field, v string, more ...string) audit.Term {
		return audit.Term{Field: f, Value: v, Or: more}
	}
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		terms []audit.Term
		// plan is planAny, or the second step of a text or range query
		// (eachTwoStep): planGIN, planRange.
		plan int
	}{
		{"no filter", nil, planAny},
		{"type", []audit.Term{term(audit.FieldType, "repo.delete")}, planAny},
		{"type prefix", []audit.Term{term(audit.FieldTypePrefix, "org.")}, planAny},
		{"category", []audit.Term{term(audit.FieldCategory, "billing")}, planAny},
		{"country", []audit.Term{term(audit.FieldCountry, "JP")}, planAny},
		{"actor", []audit.Term{term(audit.FieldActor, "carol")}, planAny},
		{"target", []audit.Term{term(audit.FieldTarget, "acme/model-17")}, planAny},
		{"rare word", []audit.Term{term(audit.FieldText, "tenthousand")}, planGIN},
		{"common word", []audit.Term{term(audit.FieldText, "created")}, planAny},
		{"occurred range", []audit.Term{{Field: audit.FieldOccurred, From: at, To: at.Add(24 * time.Hour)}}, planAny},
		{"occurred range, step 2", []audit.Term{{Field: audit.FieldOccurred, From: at, To: at.Add(24 * time.Hour)}}, planRange},
		{"negated type", []audit.Term{{Field: audit.FieldType, Value: "org.sso_login", Negate: true}}, planAny},
		{"type list", []audit.Term{list(audit.FieldType, "repo.delete", "repo.create")}, planAny},
		{"type prefix list", []audit.Term{list(audit.FieldTypePrefix, "org.", "billing.")}, planAny},
		{"category list", []audit.Term{list(audit.FieldCategory, "billing", "security")}, planAny},
		{"country list", []audit.Term{list(audit.FieldCountry, "JP", "FR")}, planAny},
		{"actor list", []audit.Term{list(audit.FieldActor, "carol", "dave")}, planAny},
		{"target list", []audit.Term{list(audit.FieldTarget, "acme/model-17", "acme/model-18")}, planAny},
		{"negated country list", []audit.Term{{Field: audit.FieldCountry, Value: "JP", Or: []string{"FR"}, Negate: true}}, planAny},
	} {
		q := audit.Query{Filter: audit.Filter{Terms: c.terms}, Before: -1, After: -1, Limit: 50}
		plan := explain(t, s, q, c.plan)
		t.Logf("%s: %s", c.name, nodes(plan))
		if os.Getenv("TRAIL_EXPLAIN_ANALYZE") != "" {
			t.Log(explainAnalyze(t, s, q))
		}
		if c.plan == planGIN && !strings.Contains(plan, "events_p202601_tsv_idx") {
			t.Errorf("%s: the GIN step does not use the GIN index:\n%s", c.name, plan)
		}
		if c.plan == planRange && !strings.Contains(plan, "occurred_seq_idx") {
			t.Errorf("%s: the range step does not use the occurred index:\n%s", c.name, plan)
		}
		if strings.Contains(plan, `"Seq Scan"`) {
			t.Errorf("%s: the first page scans a table sequentially:\n%s", c.name, plan)
		}
	}
}

// explain returns the JSON plan of q on org acme.
func explain(t *testing.T, s *Store, q audit.Query, mode int) string {
	t.Helper()
	tx, err := s.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(t.Context())
	if mode == planGIN {
		for _, set := range []string{"SET LOCAL enable_indexscan = off", "SET LOCAL enable_seqscan = off"} {
			if _, err := tx.Exec(t.Context(), set); err != nil {
				t.Fatal(err)
			}
		}
	}
	num, _, err := s.orgNum(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	sqlText, args := buildQueryText(num, q, mode)
	var plan []byte
	if err := tx.QueryRow(t.Context(), "EXPLAIN (FORMAT JSON) "+sqlText, args...).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	var v any
	json.Unmarshal(plan, &v)
	out, _ := json.MarshalIndent(v, "", " ")
	return string(out)
}

// loadPlanData stores 30k events in acme and 10k in two other orgs.
func loadPlanData(t *testing.T, s *Store) {
	t.Helper()
	types := []struct{ typ, cat string }{
		{"repo.create", "content"}, {"repo.delete", "content"}, {"org.change_role", "membership"},
		{"billing.update_payment_method", "billing"}, {"org.sso_login", "organization"}, {"spaces.update_hardware", "content"},
	}
	actors := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace"}
	countries := []string{"FR", "US", "DE", "JP", "BR", "IN"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, o := range []struct {
		org string
		n   int
	}{{"acme", 30000}, {"beta", 5000}, {"gamma", 5000}} {
		for start := 0; start < o.n; start += 2000 {
			b := &audit.Batch{Org: o.org}
			for i := start; i < start+2000; i++ {
				ty := types[i%len(types)]
				actor := actors[i%len(actors)]
				desc := fmt.Sprintf("%s created the model %s/model-%d", actor, o.org, i%100)
				if i == 12345 {
					desc += " tenthousand"
				}
				ev := audit.Event{
					ID: fmt.Sprintf("%s-%d", o.org, i), Org: o.org, Type: ty.typ, Category: ty.cat,
					Actor:       audit.Actor{Type: "user", ID: "u-" + actor, Name: actor},
					Targets:     []audit.Target{{Type: "repo", ID: fmt.Sprintf("r-%d", i%100), Name: fmt.Sprintf("%s/model-%d", o.org, i%100)}},
					Description: desc, Location: &audit.Location{CountryCode: countries[i%len(countries)]},
					OccurredAt: t0.Add(time.Duration(i) * time.Minute), ReceivedAt: t0.Add(time.Duration(i) * 5 * time.Minute),
				}
				b.Events = append(b.Events, &audit.Pending{Event: ev})
			}
			if err := s.Append(context.Background(), []*audit.Batch{b}); err != nil || b.Err != nil {
				t.Fatalf("loading: %v %v", err, b.Err)
			}
		}
	}
}

func explainAnalyze(t *testing.T, s *Store, q audit.Query) string {
	num, _, _ := s.orgNum(t.Context(), "acme")
	sqlText, args := buildQuery(num, q)
	rows, err := s.pool.Query(t.Context(), "EXPLAIN (ANALYZE, BUFFERS) "+sqlText, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return sqlText + "\n" + strings.Join(lines, "\n")
}

// nodes lists a plan's node types and indexes, for the log.
func nodes(plan string) string {
	var out []string
	for _, line := range strings.Split(plan, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, `"Node Type"`) || strings.HasPrefix(line, `"Index Name"`) {
			out = append(out, strings.Trim(strings.SplitN(line, ": ", 2)[1], `",`))
		}
	}
	return strings.Join(out, " ")
}
