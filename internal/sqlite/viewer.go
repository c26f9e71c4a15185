// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// Viewer links and sessions go through the write connection, whose
// transactions begin IMMEDIATE: spending a link is one UPDATE guarded by
// "used = 0", so of two racing spends (in one process or several) the
// second finds the link used.

// CreateViewerLink implements audit.ViewerStore.
func (s *Meta) CreateViewerLink(ctx context.Context, l audit.ViewerLink, hash [sha256.Size]byte) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO viewer_links (hash, org, user_id, user_name, created, expires, used)
		VALUES (?, ?, ?, ?, ?, ?, 0)`,
		hash[:], l.Org, l.User.ID, l.User.Name, micros(l.CreatedAt), micros(l.ExpiresAt))
	if isUniqueViolation(err) {
		return &audit.Error{Code: audit.CodeConflict, Message: "a viewer link with this token exists already", Err: err}
	}
	if err != nil {
		return storeErr("creating viewer link", err)
	}
	return nil
}

// ViewerLinkByHash implements audit.ViewerStore.
func (s *Meta) ViewerLinkByHash(ctx context.Context, hash [sha256.Size]byte) (audit.ViewerLink, error) {
	var l audit.ViewerLink
	var created, expires, used int64
	err := s.r.QueryRowContext(ctx, `SELECT org, user_id, user_name, created, expires, used FROM viewer_links WHERE hash = ?`, hash[:]).
		Scan(&l.Org, &l.User.ID, &l.User.Name, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.ViewerLink{}, audit.ErrNotFound
	}
	if err != nil {
		return audit.ViewerLink{}, storeErr("reading viewer link", err)
	}
	l.User.Type = "user"
	l.CreatedAt, l.ExpiresAt, l.UsedAt = fromMicros(created), fromMicros(expires), fromMicros(used)
	return l, nil
}

// ConsumeViewerLink implements audit.ViewerStore.
func (s *Meta) ConsumeViewerLink(ctx context.Context, hash, session [sha256.Size]byte, now, expires time.Time) (audit.Session, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return audit.Session{}, storeErr("spending viewer link", err)
	}
	defer tx.Rollback()
	sess := audit.Session{CreatedAt: now, ExpiresAt: expires}
	sess.User.Type = "user"
	var linkExpires, used int64
	err = tx.QueryRowContext(ctx, `SELECT org, user_id, user_name, expires, used FROM viewer_links WHERE hash = ?`, hash[:]).
		Scan(&sess.Org, &sess.User.ID, &sess.User.Name, &linkExpires, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return audit.Session{}, audit.ErrNotFound
	case err != nil:
		return audit.Session{}, storeErr("spending viewer link", err)
	case used != 0:
		return audit.Session{}, audit.ErrLinkUsed
	case micros(now) >= linkExpires:
		return audit.Session{}, audit.ErrLinkExpired
	}
	res, err := tx.ExecContext(ctx, `UPDATE viewer_links SET used = ? WHERE hash = ? AND used = 0`, micros(now), hash[:])
	if err != nil {
		return audit.Session{}, storeErr("spending viewer link", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return audit.Session{}, audit.ErrLinkUsed
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, org, user_id, user_name, created, expires, viewed)
		VALUES (?, ?, ?, ?, ?, ?, 0)`,
		session[:], sess.Org, sess.User.ID, sess.User.Name, micros(now), micros(expires)); err != nil {
		return audit.Session{}, storeErr("starting session", err)
	}
	if err := tx.Commit(); err != nil {
		return audit.Session{}, storeErr("spending viewer link", err)
	}
	return sess, nil
}

// SessionByHash implements audit.ViewerStore.
func (s *Meta) SessionByHash(ctx context.Context, hash [sha256.Size]byte) (audit.Session, error) {
	var sess audit.Session
	var created, expires, viewed int64
	err := s.r.QueryRowContext(ctx, `SELECT org, user_id, user_name, created, expires, viewed FROM sessions WHERE hash = ?`, hash[:]).
		Scan(&sess.Org, &sess.User.ID, &sess.User.Name, &created, &expires, &viewed)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Session{}, audit.ErrNotFound
	}
	if err != nil {
		return audit.Session{}, storeErr("reading session", err)
	}
	sess.User.Type = "user"
	sess.CreatedAt, sess.ExpiresAt, sess.ViewedAt = fromMicros(created), fromMicros(expires), fromMicros(viewed)
	return sess, nil
}

// MarkSessionViewed implements audit.ViewerStore.
func (s *Meta) MarkSessionViewed(ctx context.Context, hash [sha256.Size]byte, now time.Time, every time.Duration) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE sessions SET viewed = ? WHERE hash = ? AND (viewed = 0 OR viewed <= ?)`,
		micros(now), hash[:], micros(now.Add(-every)))
	if err != nil {
		return false, storeErr("recording session view", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, storeErr("recording session view", err)
	}
	return n == 1, nil
}

// DeleteSession implements audit.ViewerStore.
func (s *Meta) DeleteSession(ctx context.Context, hash [sha256.Size]byte) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE hash = ?`, hash[:]); err != nil {
		return storeErr("ending session", err)
	}
	return nil
}

// DeleteSessions implements audit.ViewerStore.
func (s *Meta) DeleteSessions(ctx context.Context, org, userID string) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE org = ? AND user_id = ?`, org, userID)
	if err != nil {
		return 0, storeErr("ending sessions", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, storeErr("ending sessions", err)
	}
	return n, nil
}

// PruneViewer implements audit.ViewerStore.
func (s *Meta) PruneViewer(ctx context.Context, t time.Time) error {
	for _, q := range []string{`DELETE FROM viewer_links WHERE expires < ?`, `DELETE FROM sessions WHERE expires < ?`} {
		if _, err := s.w.ExecContext(ctx, q, micros(t)); err != nil {
			return storeErr("pruning viewer links and sessions", err)
		}
	}
	return nil
}

// ImportMeta copies into this database the viewer links and sessions of
// src (a database with the tables of MetaSchema: another engine's, when a
// data directory is converted) that have not expired at now, and its
// stream destinations with their cursors (leases dropped: their holder is
// gone), leaving rows already here as they are. A table src does not have
// (made by a version without it) is skipped. It reports how many rows it
// stored.
func (s *Meta) ImportMeta(ctx context.Context, src *sql.DB, now time.Time) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, storeErr("importing viewer links and streams", err)
	}
	defer tx.Rollback()
	stored := 0
	for _, t := range []struct{ table, where string }{
		{"viewer_links", "WHERE expires >= ?"},
		{"sessions", "WHERE expires >= ?"},
		{"streams", "WHERE ? IS NOT NULL"},
	} {
		n, err := copyRows(ctx, src, tx, t.table, t.where, micros(now))
		if err != nil {
			return 0, storeErr("importing "+t.table, err)
		}
		stored += n
	}
	if _, err := tx.ExecContext(ctx, `UPDATE streams SET lease_holder = '', lease_until = 0`); err != nil {
		return 0, storeErr("importing streams", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, storeErr("importing viewer links and streams", err)
	}
	return stored, nil
}

// copyRows inserts the rows of src's table that match where into the
// same table of tx, keeping rows that conflict with one already there.
func copyRows(ctx context.Context, src *sql.DB, tx *sql.Tx, table, where string, args ...any) (int, error) {
	var found int
	if err := src.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&found); err != nil || found == 0 {
		return 0, err
	}
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+table+` `+where, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	insert := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (?` +
		strings.Repeat(", ?", len(cols)-1) + `) ON CONFLICT DO NOTHING`
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		res, err := tx.ExecContext(ctx, insert, vals...)
		if err != nil {
			return n, err
		}
		if k, _ := res.RowsAffected(); k == 1 {
			n++
		}
	}
	return n, rows.Err()
}

var _ audit.ViewerStore = (*Meta)(nil)
