// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/trailaudit/trail/internal/audit"
)

// ForgetViewer implements part of audit.Eraser: the person's viewer links
// and sessions go, their freed bytes are zeroed (secure_delete) and the
// WAL is checkpointed and truncated, so no file keeps them.
func (s *Meta) ForgetViewer(ctx context.Context, org, userID string) error {
	if _, err := s.w.ExecContext(ctx, `PRAGMA secure_delete = ON`); err != nil {
		return storeErr("erasing viewer state", err)
	}
	for _, q := range []string{
		`DELETE FROM viewer_links WHERE org = ? AND user_id = ?`,
		`DELETE FROM sessions WHERE org = ? AND user_id = ?`,
	} {
		if _, err := s.w.ExecContext(ctx, q, org, userID); err != nil {
			return storeErr("erasing viewer state", err)
		}
	}
	return s.Checkpoint(ctx)
}

// Checkpoint copies the WAL into the database file and truncates it.
func (s *Meta) Checkpoint(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return storeErr("checkpointing", err)
	}
	return nil
}

// SaveErasure implements part of audit.Eraser.
func (s *Meta) SaveErasure(ctx context.Context, e audit.ErasureRecord) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO erasures (org, id, reason, state, events, error, created, done)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org, id) DO UPDATE SET state = excluded.state, events = excluded.events,
			error = excluded.error, done = excluded.done`,
		e.Org, e.ID, e.Reason, e.State, e.Events, e.Error, micros(e.CreatedAt), micros(e.DoneAt))
	if err != nil {
		return storeErr("saving the erasure", err)
	}
	return nil
}

// Erasure implements part of audit.Eraser.
func (s *Meta) Erasure(ctx context.Context, org, id string) (audit.ErasureRecord, error) {
	e := audit.ErasureRecord{Org: org, ID: id}
	var created, done int64
	err := s.r.QueryRowContext(ctx, `SELECT reason, state, events, error, created, done FROM erasures WHERE org = ? AND id = ?`, org, id).
		Scan(&e.Reason, &e.State, &e.Events, &e.Error, &created, &done)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.ErasureRecord{}, audit.ErrNotFound
	}
	if err != nil {
		return audit.ErasureRecord{}, storeErr("reading the erasure", err)
	}
	e.CreatedAt, e.DoneAt = fromMicros(created), fromMicros(done)
	return e, nil
}
