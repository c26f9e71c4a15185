// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trailaudit/trail/internal/audit"
)

// Stream destinations: creating one takes a transaction-scoped advisory
// lock on its org, so that replicas adding streams together cannot pass
// audit.MaxStreamsPerOrg; every cursor update is one guarded UPDATE, and
// the lease row (lease_holder, lease_until) makes one replica at a time
// the sender of a destination.

const streamColumns = `org, id, name, kind, format, filter, settings, paused, created,
	delivered_seq, checkpoint_size, epoch, failures, last_error, last_error_at, last_success_at`

// CreateStream implements audit.StreamStore.
func (s *Store) CreateStream(ctx context.Context, st audit.Stream) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return storeErr("creating stream", err)
	}
	defer tx.Rollback(context.Background())
	var n int
	_, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('trail streams ' || $1, 0))`, st.Org)
	if err == nil {
		err = tx.QueryRow(ctx, `SELECT count(*) FROM streams WHERE org = $1`, st.Org).Scan(&n)
	}
	if err != nil {
		return storeErr("creating stream", err)
	}
	if n >= audit.MaxStreamsPerOrg {
		return audit.ErrTooManyStreams
	}
	_, err = tx.Exec(ctx, `INSERT INTO streams (org, id, name, kind, format, filter, settings, paused, created)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		st.Org, st.ID, st.Name, st.Kind, st.Format, st.Filter, string(st.Settings), st.Paused, micros(st.CreatedAt))
	if isUniqueViolation(err) {
		return audit.Errorf(audit.CodeConflict, "the org has a stream named %q already", st.Name)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		return storeErr("creating stream", err)
	}
	return nil
}

// Streams implements audit.StreamStore.
func (s *Store) Streams(ctx context.Context, org string) ([]audit.Stream, error) {
	return s.queryStreams(ctx, `SELECT `+streamColumns+` FROM streams WHERE org = $1 ORDER BY created, id`, org)
}

// AllStreams implements audit.StreamStore.
func (s *Store) AllStreams(ctx context.Context) ([]audit.Stream, error) {
	return s.queryStreams(ctx, `SELECT `+streamColumns+` FROM streams ORDER BY org, created, id`)
}

// Stream implements audit.StreamStore.
func (s *Store) Stream(ctx context.Context, org, id string) (audit.Stream, error) {
	list, err := s.queryStreams(ctx, `SELECT `+streamColumns+` FROM streams WHERE org = $1 AND id = $2`, org, id)
	if err != nil {
		return audit.Stream{}, err
	}
	if len(list) == 0 {
		return audit.Stream{}, audit.ErrNotFound
	}
	return list[0], nil
}

func (s *Store) queryStreams(ctx context.Context, q string, args ...any) ([]audit.Stream, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, storeErr("reading streams", err)
	}
	defer rows.Close()
	var out []audit.Stream
	for rows.Next() {
		var st audit.Stream
		var settings string
		var created, errAt, okAt int64
		c := &st.Cursor
		if err := rows.Scan(&st.Org, &st.ID, &st.Name, &st.Kind, &st.Format, &st.Filter, &settings, &st.Paused, &created,
			&c.DeliveredSeq, &c.CheckpointSize, &c.Epoch, &c.Failures, &c.LastError, &errAt, &okAt); err != nil {
			return nil, storeErr("reading streams", err)
		}
		st.Settings = []byte(settings)
		st.CreatedAt, c.LastErrorAt, c.LastSuccessAt = fromMicros(created), fromMicros(errAt), fromMicros(okAt)
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("reading streams", err)
	}
	return out, nil
}

// SetStreamPaused implements audit.StreamStore.
func (s *Store) SetStreamPaused(ctx context.Context, org, id string, paused bool) error {
	return s.updateStream(ctx, "pausing stream", `UPDATE streams SET paused = $1 WHERE org = $2 AND id = $3`, paused, org, id)
}

// DeleteStream implements audit.StreamStore.
func (s *Store) DeleteStream(ctx context.Context, org, id string) error {
	return s.updateStream(ctx, "deleting stream", `DELETE FROM streams WHERE org = $1 AND id = $2`, org, id)
}

// updateStream runs a statement that changes one stream and answers
// ErrNotFound when it changed none.
func (s *Store) updateStream(ctx context.Context, what, q string, args ...any) error {
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return storeErr(what, err)
	}
	if tag.RowsAffected() == 0 {
		return audit.ErrNotFound
	}
	return nil
}

// AdvanceStream implements audit.StreamStore.
func (s *Store) AdvanceStream(ctx context.Context, org, id string, epoch, seq, checkpoint int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE streams SET delivered_seq = GREATEST(delivered_seq, $1),
		checkpoint_size = GREATEST(checkpoint_size, $2), failures = 0, last_success_at = $3
		WHERE org = $4 AND id = $5 AND epoch = $6`, seq, checkpoint, micros(at), org, id, epoch)
	if err != nil {
		return storeErr("advancing stream", err)
	}
	if tag.RowsAffected() == 0 {
		return s.streamGone(ctx, org, id)
	}
	return nil
}

// StreamFailed implements audit.StreamStore.
func (s *Store) StreamFailed(ctx context.Context, org, id string, epoch int64, msg string, at time.Time) (int64, error) {
	var failures int64
	err := s.pool.QueryRow(ctx, `UPDATE streams SET failures = failures + 1, last_error = $1, last_error_at = $2
		WHERE org = $3 AND id = $4 AND epoch = $5 RETURNING failures`, msg, micros(at), org, id, epoch).Scan(&failures)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, s.streamGone(ctx, org, id)
	}
	if err != nil {
		return 0, storeErr("recording stream failure", err)
	}
	return failures, nil
}

// streamGone says why a guarded update changed nothing: the stream is
// gone, or a replay moved it to another epoch.
func (s *Store) streamGone(ctx context.Context, org, id string) error {
	if _, err := s.Stream(ctx, org, id); err != nil {
		return err
	}
	return audit.ErrStreamMoved
}

// ReplayStream implements audit.StreamStore.
func (s *Store) ReplayStream(ctx context.Context, org, id string, delivered int64) (audit.StreamCursor, error) {
	var c audit.StreamCursor
	var errAt, okAt int64
	err := s.pool.QueryRow(ctx, `UPDATE streams SET delivered_seq = $1, checkpoint_size = 0, epoch = epoch + 1, failures = 0
		WHERE org = $2 AND id = $3
		RETURNING delivered_seq, checkpoint_size, epoch, failures, last_error, last_error_at, last_success_at`, delivered, org, id).
		Scan(&c.DeliveredSeq, &c.CheckpointSize, &c.Epoch, &c.Failures, &c.LastError, &errAt, &okAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, audit.ErrNotFound
	}
	if err != nil {
		return c, storeErr("replaying stream", err)
	}
	c.LastErrorAt, c.LastSuccessAt = fromMicros(errAt), fromMicros(okAt)
	return c, nil
}

// LeaseStream implements audit.StreamStore.
func (s *Store) LeaseStream(ctx context.Context, org, id, holder string, now time.Time, ttl time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE streams SET lease_holder = $1, lease_until = $2
		WHERE org = $3 AND id = $4 AND (lease_holder = $1 OR lease_until <= $5)`,
		holder, micros(now.Add(ttl)), org, id, micros(now))
	if err != nil {
		return false, storeErr("leasing stream", err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	if _, err := s.Stream(ctx, org, id); err != nil {
		return false, err
	}
	return false, nil
}

// ReleaseStream implements audit.StreamStore.
func (s *Store) ReleaseStream(ctx context.Context, org, id, holder string) error {
	_, err := s.pool.Exec(ctx, `UPDATE streams SET lease_holder = '', lease_until = 0
		WHERE org = $1 AND id = $2 AND lease_holder = $3`, org, id, holder)
	if err != nil {
		return storeErr("releasing stream", err)
	}
	return nil
}
