// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/ledger"
)

func TestParseRetention(t *testing.T) {
	for _, c := range []struct {
		in      string
		d       time.Duration
		forever bool
	}{
		{"forever", 0, true}, {"1s", time.Second, false}, {"90m", 90 * time.Minute, false},
		{"12h", 12 * time.Hour, false}, {"400d", 400 * 24 * time.Hour, false}, {"36500d", MaxRetention, false},
	} {
		d, f, err := ParseRetention(c.in)
		if err != nil || d != c.d || f != c.forever {
			t.Errorf("ParseRetention(%q) = %v, %v, %v; want %v, %v", c.in, d, f, err, c.d, c.forever)
		}
	}
	for _, in := range []string{"", "d", "0d", "-1d", "01d", "1.5d", "1w", "400", "36501d", "Forever", "1 d", "99999999999999d", "400D"} {
		if _, _, err := ParseRetention(in); err == nil || ErrorCode(err) != CodeInvalid || !strings.Contains(err.Error(), "retention") {
			t.Errorf("ParseRetention(%q): err = %v, want an invalid_request naming retention", in, err)
		}
	}
}

func TestValidatePolicy(t *testing.T) {
	long := strings.Repeat("é", MaxLegalHoldReason+1)
	for _, c := range []struct {
		p     Policy
		field string // "" valid
	}{
		{Policy{Retention: "400d"}, ""},
		{Policy{Retention: "forever", LegalHold: true, LegalHoldReason: "litigation"}, ""},
		{Policy{Retention: "forever", LegalHold: true, LegalHoldReason: strings.Repeat("é", MaxLegalHoldReason)}, ""},
		{Policy{Retention: ""}, "retention"},
		{Policy{Retention: "400d", LegalHold: true}, "legal_hold_reason"},
		{Policy{Retention: "400d", LegalHold: true, LegalHoldReason: "  "}, "legal_hold_reason"},
		{Policy{Retention: "400d", LegalHoldReason: "why"}, "legal_hold_reason"},
		{Policy{Retention: "400d", LegalHold: true, LegalHoldReason: long}, "legal_hold_reason"},
		{Policy{Retention: "400d", LegalHold: true, LegalHoldReason: "\xff"}, "legal_hold_reason"},
	} {
		err := validatePolicy(c.p)
		if c.field == "" && err != nil || c.field != "" && (err == nil || !strings.Contains(err.Error(), c.field)) {
			t.Errorf("validatePolicy(%+v) = %v, want field %q", c.p, err, c.field)
		}
	}
}

func TestScrubWholeOccurrences(t *testing.T) {
	m := &personMatcher{id: "u_1", names: map[string]bool{"Al": true, "Al Smith": true}}
	for in, want := range map[string]string{
		"u_1":                       Erased,
		"u_10 and u_1.":             "u_10 and " + Erased + ".",
		"Alice met Al Smith and Al": "Alice met " + Erased + " and " + Erased,
		"Al, Al-b, (Al)":            Erased + ", Al-b, (" + Erased + ")",
		"nobody":                    "nobody",
	} {
		if got := m.scrub(in); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactEvent(t *testing.T) {
	ev := Event{ID: "e1", Org: "acme", Seq: 7, Type: "org.change_role", Category: "membership",
		Actor:       Actor{Type: "user", ID: "u_z", Name: "Zelda Q"},
		Targets:     []Target{{Type: "user", ID: "u_b", Name: "bob"}, {Type: "repo", ID: "r_u_z", Name: "acme/Zelda Q"}},
		Description: "Zelda Q changed bob's role",
		OccurredAt:  time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), ReceivedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		Metadata: map[string]any{"note": "asked by Zelda Q", "list": []any{"Zelda Q", "x"}, "n": json.Number("3")},
	}
	orig := ev.AppendCanonical(nil)
	m := &personMatcher{id: "u_z", names: map[string]bool{}}
	m.learn(orig)
	if !m.names["Zelda Q"] || !m.appears(orig) {
		t.Fatalf("learn: %v", m.names)
	}
	r, err := redactEvent(orig, m, "2026-12-06T18:00:00.000000Z", "er_1")
	if err != nil || r == nil {
		t.Fatalf("redactEvent: %v %v", r, err)
	}
	got := string(r.Data)
	for _, want := range []string{
		`"actor":{"type":"user","id":"[erased]","name":"[erased]"}`,
		`{"type":"user","id":"u_b","name":"bob"}`,
		`{"type":"repo","id":"r_u_z","name":"acme/[erased]"}`,
		`"description":"[erased] changed bob's role"`,
		`"list":["[erased]","x"]`, `"n":3`, `"note":"asked by [erased]"`,
		`,"redacted":{"leaf_hash":"` + ledger.EncodeHash(ledger.LeafHash(orig)) + `","at":"2026-12-06T18:00:00.000000Z","erasure":"er_1"}}`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("redacted event lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Zelda") || strings.Contains(got, `"u_z"`) {
		t.Errorf("the person is still there: %s", got)
	}
	if leaf, ok := ledger.EventLeaf(r.Data); !ok || leaf != ledger.LeafHash(orig) {
		t.Error("the redacted event does not stand by its original leaf")
	}
	// Erased again (another name learnt later): the first original leaf stays.
	m.names["bob"] = true
	r2, err := redactEvent(r.Data, m, "2026-12-07T00:00:00.000000Z", "er_2")
	if err != nil || r2 == nil || !strings.Contains(string(r2.Data), `"leaf_hash":"`+ledger.EncodeHash(ledger.LeafHash(orig))) ||
		!strings.Contains(string(r2.Data), `"description":"[erased] changed [erased]'s role"`) || !strings.Contains(string(r2.Data), `"id":"u_b","name":"bob"`) {
		t.Fatalf("second erasure: %v %s", err, r2.Data)
	}
	// Nothing about the person: nil.
	other := Event{ID: "e2", Org: "acme", Type: "repo.create", Category: "content", Actor: Actor{Type: "user", ID: "u_b", Name: "bob"},
		Targets: []Target{}, OccurredAt: ev.OccurredAt, ReceivedAt: ev.ReceivedAt}
	if r, err := redactEvent(other.AppendCanonical(nil), &personMatcher{id: "u_z", names: map[string]bool{}}, "t", "e"); r != nil || err != nil {
		t.Errorf("an event without the person: %v %v", r, err)
	}
}
