// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/trailaudit/trail/internal/audit"
)

// Erasure rewrites the live rows of the redacted events: their bytes and
// search vector, and their actor and target refs, in one transaction per
// batch. The old row versions are dead tuples until VACUUM reclaims them
// (docs/retention.md): they are gone from every query at once, from the
// table files only after a vacuum.

// Redact implements audit.Eraser.
func (s *Store) Redact(ctx context.Context, org string, rs []audit.Redaction) error {
	num, ok, err := s.orgNum(ctx, org)
	if err != nil || !ok || len(rs) == 0 {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, r := range rs {
			tag, err := tx.Exec(ctx, `UPDATE events SET data = $3, tsv = $4 WHERE org = $1 AND seq = $2`,
				num, r.Seq, r.Data, tsVectorValue(num, r.Event.SearchText()))
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				return errors.New("no row for the event")
			}
			var received int64
			if err := tx.QueryRow(ctx, `SELECT received FROM events WHERE org = $1 AND seq = $2`, num, r.Seq).Scan(&received); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM refs WHERE org = $1 AND seq = $2`, num, r.Seq); err != nil {
				return err
			}
			var rw rows
			rw.add(num, r.Seq, &audit.Pending{Event: *r.Event}, r.Data)
			for i := range rw.refSeq {
				if _, err := tx.Exec(ctx, `INSERT INTO refs (org, kind, value, seq, received) VALUES ($1, $2, $3, $4, $5)`,
					num, rw.refKind[i], rw.refValue[i], r.Seq, received); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return storeErr("erasure: rewriting events", err)
	}
	return nil
}

// ForgetViewer implements audit.Eraser.
func (s *Store) ForgetViewer(ctx context.Context, org, userID string) error {
	for _, q := range []string{
		`DELETE FROM viewer_links WHERE org = $1 AND user_id = $2`,
		`DELETE FROM sessions WHERE org = $1 AND user_id = $2`,
	} {
		if _, err := s.pool.Exec(ctx, q, org, userID); err != nil {
			return storeErr("erasing viewer state", err)
		}
	}
	return nil
}

// SaveErasure implements audit.Eraser.
func (s *Store) SaveErasure(ctx context.Context, e audit.ErasureRecord) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO erasures (org, id, reason, state, events, error, created, done)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (org, id) DO UPDATE SET state = excluded.state, events = excluded.events,
			error = excluded.error, done = excluded.done`,
		e.Org, e.ID, e.Reason, e.State, e.Events, e.Error, micros(e.CreatedAt), micros(e.DoneAt))
	if err != nil {
		return storeErr("saving the erasure", err)
	}
	return nil
}

// Erasure implements audit.Eraser.
func (s *Store) Erasure(ctx context.Context, org, id string) (audit.ErasureRecord, error) {
	e := audit.ErasureRecord{Org: org, ID: id}
	var created, done int64
	err := s.pool.QueryRow(ctx, `SELECT reason, state, events, error, created, done FROM erasures WHERE org = $1 AND id = $2`, org, id).
		Scan(&e.Reason, &e.State, &e.Events, &e.Error, &created, &done)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.ErasureRecord{}, audit.ErrNotFound
	}
	if err != nil {
		return audit.ErasureRecord{}, storeErr("reading the erasure", err)
	}
	e.CreatedAt, e.DoneAt = fromMicros(created), fromMicros(done)
	return e, nil
}
