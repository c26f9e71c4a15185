// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/trailaudit/trail/internal/audit"
)

// Policy implements audit.PolicyStore.
func (s *Store) Policy(ctx context.Context, org string) (audit.Policy, error) {
	var p audit.Policy
	var updated int64
	err := s.pool.QueryRow(ctx, `SELECT retention, legal_hold, legal_hold_reason, updated FROM policies WHERE org = $1`, org).
		Scan(&p.Retention, &p.LegalHold, &p.LegalHoldReason, &updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Policy{}, audit.ErrNotFound
	}
	if err != nil {
		return audit.Policy{}, storeErr("reading the retention policy", err)
	}
	p.UpdatedAt = fromMicros(updated)
	return p, nil
}

// SetPolicy implements audit.PolicyStore.
func (s *Store) SetPolicy(ctx context.Context, org string, p audit.Policy) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO policies (org, retention, legal_hold, legal_hold_reason, updated)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (org) DO UPDATE SET retention = excluded.retention, legal_hold = excluded.legal_hold,
			legal_hold_reason = excluded.legal_hold_reason, updated = excluded.updated`,
		org, p.Retention, p.LegalHold, p.LegalHoldReason, micros(p.UpdatedAt))
	if err != nil {
		return storeErr("storing the retention policy", err)
	}
	return nil
}
