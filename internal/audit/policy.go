// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Retention policy per org (issue 11): how long events are kept, counted
// from received_at (Trail's clock: occurred_at is the producer's and can
// be backdated), and a legal hold under which nothing is pruned.

// RetentionForever keeps every event.
const RetentionForever = "forever"

// MaxRetention is the longest finite retention: 100 years.
const MaxRetention = 36500 * 24 * time.Hour

// MaxLegalHoldReason bounds legal_hold_reason, in characters.
const MaxLegalHoldReason = 500

// Policy is an org's retention policy.
type Policy struct {
	// Retention is "forever" or a duration: a positive integer and a unit
	// s, m, h or d ("400d"). Seconds are for tests.
	Retention       string
	LegalHold       bool
	LegalHoldReason string
	UpdatedAt       time.Time
	// Default is set when the org has no policy of its own: Retention is
	// the server's default (--retention).
	Default bool
}

// PolicyStore keeps each org's retention policy.
type PolicyStore interface {
	// Policy returns org's policy, or ErrNotFound when none was set.
	Policy(ctx context.Context, org string) (Policy, error)
	// SetPolicy stores org's policy, replacing any earlier one.
	SetPolicy(ctx context.Context, org string, p Policy) error
}

// ParseRetention parses "forever" (0, true) or a duration in s, m, h or d
// (1 s … 100 years). The error says what was expected.
func ParseRetention(s string) (d time.Duration, forever bool, err error) {
	if s == RetentionForever {
		return 0, true, nil
	}
	bad := func(why string) error {
		return Errorf(CodeInvalid, "retention %q: %s; expected \"forever\" or a positive whole number with a unit s, m, h or d, e.g. \"400d\"", truncateString(s, 40), why)
	}
	if len(s) < 2 {
		return 0, false, bad("too short")
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 's':
		unit = time.Second
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	default:
		return 0, false, bad("no unit")
	}
	num := s[:len(s)-1]
	if num[0] == '0' || strings.TrimLeft(num, "0123456789") != "" || len(num) > 12 {
		return 0, false, bad("not a positive whole number")
	}
	n, _ := strconv.ParseInt(num, 10, 64)
	if time.Duration(n) > MaxRetention/unit {
		return 0, false, bad("longer than 100 years (36500d): use \"forever\"")
	}
	return time.Duration(n) * unit, false, nil
}

// validatePolicy checks p's fields, naming the field at fault.
func validatePolicy(p Policy) error {
	if _, _, err := ParseRetention(p.Retention); err != nil {
		return err
	}
	switch n := utf8.RuneCountInString(p.LegalHoldReason); {
	case !utf8.ValidString(p.LegalHoldReason):
		return Errorf(CodeInvalid, "legal_hold_reason: not valid UTF-8")
	case n > MaxLegalHoldReason:
		return Errorf(CodeInvalid, "legal_hold_reason: %d characters, at most %d", n, MaxLegalHoldReason)
	case p.LegalHold && strings.TrimSpace(p.LegalHoldReason) == "":
		return Errorf(CodeInvalid, "legal_hold_reason: required while legal_hold is true (say why the events must be kept)")
	case !p.LegalHold && p.LegalHoldReason != "":
		return Errorf(CodeInvalid, "legal_hold_reason: only with legal_hold true")
	}
	return nil
}

// Policy returns org's retention policy: its own, or the server's default
// (Default set).
func (s *Service) Policy(ctx context.Context, org string) (Policy, error) {
	p, err := s.store.Policy(ctx, org)
	if errors.Is(err, ErrNotFound) {
		return Policy{Retention: s.retention, Default: true}, nil
	}
	return p, err
}

// SetPolicy validates and stores org's policy, then records it as an
// org.audit_log.policy_change event by actor. It returns the stored
// policy.
func (s *Service) SetPolicy(ctx context.Context, org string, p Policy, actor Actor) (Policy, error) {
	if err := validatePolicy(p); err != nil {
		return Policy{}, err
	}
	if _, forever, _ := ParseRetention(p.Retention); !forever && !s.CanPrune() {
		return Policy{}, ErrCannotPrune
	}
	old, err := s.Policy(ctx, org)
	if err != nil {
		return Policy{}, err
	}
	p.Default = false
	p.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
	if err := s.store.SetPolicy(ctx, org, p); err != nil {
		return Policy{}, err
	}
	meta := map[string]any{"retention": p.Retention, "legal_hold": p.LegalHold,
		"old_retention": old.Retention, "old_legal_hold": old.LegalHold}
	if p.LegalHoldReason != "" {
		meta["legal_hold_reason"] = p.LegalHoldReason
	}
	if _, err := s.Record(ctx, org, "org.audit_log.policy_change", actor, meta); err != nil {
		return p, err
	}
	return p, nil
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
