// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// Stream destinations go through the write connection, whose transactions
// begin IMMEDIATE: counting an org's streams and adding one is atomic, and
// every cursor update is one guarded UPDATE.

const streamColumns = `org, id, name, kind, format, filter, settings, paused, created,
	delivered_seq, checkpoint_size, epoch, failures, last_error, last_error_at, last_success_at`

// CreateStream implements audit.StreamStore.
func (s *Meta) CreateStream(ctx context.Context, st audit.Stream) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return storeErr("creating stream", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM streams WHERE org = ?`, st.Org).Scan(&n); err != nil {
		return storeErr("creating stream", err)
	}
	if n >= audit.MaxStreamsPerOrg {
		return audit.ErrTooManyStreams
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO streams (org, id, name, kind, format, filter, settings, paused, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		st.Org, st.ID, st.Name, st.Kind, st.Format, st.Filter, string(st.Settings), st.Paused, micros(st.CreatedAt))
	if isUniqueViolation(err) {
		return audit.Errorf(audit.CodeConflict, "the org has a stream named %q already", st.Name)
	}
	if err != nil {
		return storeErr("creating stream", err)
	}
	return storeErrIf("creating stream", tx.Commit())
}

// Streams implements audit.StreamStore.
func (s *Meta) Streams(ctx context.Context, org string) ([]audit.Stream, error) {
	return s.queryStreams(ctx, `SELECT `+streamColumns+` FROM streams WHERE org = ? ORDER BY created, id`, org)
}

// AllStreams implements audit.StreamStore.
func (s *Meta) AllStreams(ctx context.Context) ([]audit.Stream, error) {
	return s.queryStreams(ctx, `SELECT `+streamColumns+` FROM streams ORDER BY org, created, id`)
}

// Stream implements audit.StreamStore.
func (s *Meta) Stream(ctx context.Context, org, id string) (audit.Stream, error) {
	list, err := s.queryStreams(ctx, `SELECT `+streamColumns+` FROM streams WHERE org = ? AND id = ?`, org, id)
	if err != nil {
		return audit.Stream{}, err
	}
	if len(list) == 0 {
		return audit.Stream{}, audit.ErrNotFound
	}
	return list[0], nil
}

func (s *Meta) queryStreams(ctx context.Context, q string, args ...any) ([]audit.Stream, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
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
	return out, storeErrIf("reading streams", rows.Err())
}

// SetStreamPaused implements audit.StreamStore.
func (s *Meta) SetStreamPaused(ctx context.Context, org, id string, paused bool) error {
	return s.updateStream(ctx, "pausing stream", `UPDATE streams SET paused = ? WHERE org = ? AND id = ?`, paused, org, id)
}

// DeleteStream implements audit.StreamStore.
func (s *Meta) DeleteStream(ctx context.Context, org, id string) error {
	return s.updateStream(ctx, "deleting stream", `DELETE FROM streams WHERE org = ? AND id = ?`, org, id)
}

// updateStream runs a statement that changes one stream (its last two
// arguments are org and id) and answers ErrNotFound when it changed none.
func (s *Meta) updateStream(ctx context.Context, what, q string, args ...any) error {
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return storeErr(what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return audit.ErrNotFound
	}
	return nil
}

// AdvanceStream implements audit.StreamStore.
func (s *Meta) AdvanceStream(ctx context.Context, org, id string, epoch, seq, checkpoint int64, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE streams SET delivered_seq = max(delivered_seq, ?),
		checkpoint_size = max(checkpoint_size, ?), failures = 0, last_success_at = ?
		WHERE org = ? AND id = ? AND epoch = ?`, seq, checkpoint, micros(at), org, id, epoch)
	if err != nil {
		return storeErr("advancing stream", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return s.streamGone(ctx, org, id)
	}
	return nil
}

// StreamFailed implements audit.StreamStore.
func (s *Meta) StreamFailed(ctx context.Context, org, id string, epoch int64, msg string, at time.Time) (int64, error) {
	var failures int64
	err := s.w.QueryRowContext(ctx, `UPDATE streams SET failures = failures + 1, last_error = ?, last_error_at = ?
		WHERE org = ? AND id = ? AND epoch = ? RETURNING failures`, msg, micros(at), org, id, epoch).Scan(&failures)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, s.streamGone(ctx, org, id)
	}
	if err != nil {
		return 0, storeErr("recording stream failure", err)
	}
	return failures, nil
}

// streamGone says why a guarded update changed nothing: the stream is
// gone, or a replay moved it to another epoch.
func (s *Meta) streamGone(ctx context.Context, org, id string) error {
	if _, err := s.Stream(ctx, org, id); err != nil {
		return err
	}
	return audit.ErrStreamMoved
}

// ReplayStream implements audit.StreamStore.
func (s *Meta) ReplayStream(ctx context.Context, org, id string, delivered int64) (audit.StreamCursor, error) {
	var c audit.StreamCursor
	var errAt, okAt int64
	err := s.w.QueryRowContext(ctx, `UPDATE streams SET delivered_seq = ?, checkpoint_size = 0, epoch = epoch + 1, failures = 0
		WHERE org = ? AND id = ?
		RETURNING delivered_seq, checkpoint_size, epoch, failures, last_error, last_error_at, last_success_at`, delivered, org, id).
		Scan(&c.DeliveredSeq, &c.CheckpointSize, &c.Epoch, &c.Failures, &c.LastError, &errAt, &okAt)
	if errors.Is(err, sql.ErrNoRows) {
		return c, audit.ErrNotFound
	}
	if err != nil {
		return c, storeErr("replaying stream", err)
	}
	c.LastErrorAt, c.LastSuccessAt = fromMicros(errAt), fromMicros(okAt)
	return c, nil
}

// LeaseStream implements audit.StreamStore.
func (s *Meta) LeaseStream(ctx context.Context, org, id, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE streams SET lease_holder = ?, lease_until = ?
		WHERE org = ? AND id = ? AND (lease_holder = ? OR lease_until <= ?)`,
		holder, micros(now.Add(ttl)), org, id, holder, micros(now))
	if err != nil {
		return false, storeErr("leasing stream", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	if _, err := s.Stream(ctx, org, id); err != nil {
		return false, err
	}
	return false, nil
}

// ReleaseStream implements audit.StreamStore.
func (s *Meta) ReleaseStream(ctx context.Context, org, id, holder string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE streams SET lease_holder = '', lease_until = 0
		WHERE org = ? AND id = ? AND lease_holder = ?`, org, id, holder)
	return storeErrIf("releasing stream", err)
}

// storeErrIf is storeErr for an error that may be nil.
func storeErrIf(what string, err error) error {
	if err == nil {
		return nil
	}
	return storeErr(what, err)
}
