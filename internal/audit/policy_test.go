// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"strings"
	"testing"
	"time"
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
