// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/trailaudit/trail/internal/audit"
)

// Policy implements audit.PolicyStore.
func (s *Meta) Policy(ctx context.Context, org string) (audit.Policy, error) {
	var p audit.Policy
	var hold, updated int64
	err := s.r.QueryRowContext(ctx, `SELECT retention, legal_hold, legal_hold_reason, updated FROM policies WHERE org = ?`, org).
		Scan(&p.Retention, &hold, &p.LegalHoldReason, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Policy{}, audit.ErrNotFound
	}
	if err != nil {
		return audit.Policy{}, storeErr("reading the retention policy", err)
	}
	p.LegalHold, p.UpdatedAt = hold != 0, fromMicros(updated)
	return p, nil
}

// SetPolicy implements audit.PolicyStore.
func (s *Meta) SetPolicy(ctx context.Context, org string, p audit.Policy) error {
	hold := 0
	if p.LegalHold {
		hold = 1
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO policies (org, retention, legal_hold, legal_hold_reason, updated)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org) DO UPDATE SET retention = excluded.retention, legal_hold = excluded.legal_hold,
			legal_hold_reason = excluded.legal_hold_reason, updated = excluded.updated`,
		org, p.Retention, hold, p.LegalHoldReason, micros(p.UpdatedAt))
	if err != nil {
		return storeErr("storing the retention policy", err)
	}
	return nil
}
