// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trailaudit/trail/internal/audit"
)

// Spending a link locks its row (SELECT … FOR UPDATE): of two racing
// spends, in one replica or several, the second waits, then reads the
// link as used.

// CreateViewerLink implements audit.ViewerStore.
func (s *Store) CreateViewerLink(ctx context.Context, l audit.ViewerLink, hash [sha256.Size]byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO viewer_links (hash, org, user_id, user_name, created, expires, used)
		VALUES ($1, $2, $3, $4, $5, $6, 0)`,
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
func (s *Store) ViewerLinkByHash(ctx context.Context, hash [sha256.Size]byte) (audit.ViewerLink, error) {
	var l audit.ViewerLink
	var created, expires, used int64
	err := s.pool.QueryRow(ctx, `SELECT org, user_id, user_name, created, expires, used FROM viewer_links WHERE hash = $1`, hash[:]).
		Scan(&l.Org, &l.User.ID, &l.User.Name, &created, &expires, &used)
	if errors.Is(err, pgx.ErrNoRows) {
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
func (s *Store) ConsumeViewerLink(ctx context.Context, hash, session [sha256.Size]byte, now, expires time.Time) (audit.Session, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return audit.Session{}, storeErr("spending viewer link", err)
	}
	defer tx.Rollback(context.Background())
	sess := audit.Session{CreatedAt: now, ExpiresAt: expires}
	sess.User.Type = "user"
	var linkExpires, used int64
	err = tx.QueryRow(ctx, `SELECT org, user_id, user_name, expires, used FROM viewer_links WHERE hash = $1 FOR UPDATE`, hash[:]).
		Scan(&sess.Org, &sess.User.ID, &sess.User.Name, &linkExpires, &used)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return audit.Session{}, audit.ErrNotFound
	case err != nil:
		return audit.Session{}, storeErr("spending viewer link", err)
	case used != 0:
		return audit.Session{}, audit.ErrLinkUsed
	case micros(now) >= linkExpires:
		return audit.Session{}, audit.ErrLinkExpired
	}
	if _, err := tx.Exec(ctx, `UPDATE viewer_links SET used = $1 WHERE hash = $2`, micros(now), hash[:]); err != nil {
		return audit.Session{}, storeErr("spending viewer link", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO sessions (hash, org, user_id, user_name, created, expires, viewed)
		VALUES ($1, $2, $3, $4, $5, $6, 0)`,
		session[:], sess.Org, sess.User.ID, sess.User.Name, micros(now), micros(expires)); err != nil {
		return audit.Session{}, storeErr("starting session", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return audit.Session{}, storeErr("spending viewer link", err)
	}
	return sess, nil
}

// SessionByHash implements audit.ViewerStore.
func (s *Store) SessionByHash(ctx context.Context, hash [sha256.Size]byte) (audit.Session, error) {
	var sess audit.Session
	var created, expires, viewed int64
	err := s.pool.QueryRow(ctx, `SELECT org, user_id, user_name, created, expires, viewed FROM sessions WHERE hash = $1`, hash[:]).
		Scan(&sess.Org, &sess.User.ID, &sess.User.Name, &created, &expires, &viewed)
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Session{}, audit.ErrNotFound
	}
	if err != nil {
		return audit.Session{}, storeErr("reading session", err)
	}
	sess.User.Type = "user"
	sess.CreatedAt, sess.ExpiresAt, sess.ViewedAt = fromMicros(created), fromMicros(expires), fromMicros(viewed)
	return sess, nil
}

// MarkSessionViewed implements audit.ViewerStore: one conditional UPDATE,
// which PostgreSQL re-checks after waiting on a racing one.
func (s *Store) MarkSessionViewed(ctx context.Context, hash [sha256.Size]byte, now time.Time, every time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET viewed = $1 WHERE hash = $2 AND (viewed = 0 OR viewed <= $3)`,
		micros(now), hash[:], micros(now.Add(-every)))
	if err != nil {
		return false, storeErr("recording session view", err)
	}
	return tag.RowsAffected() == 1, nil
}

// DeleteSession implements audit.ViewerStore.
func (s *Store) DeleteSession(ctx context.Context, hash [sha256.Size]byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE hash = $1`, hash[:]); err != nil {
		return storeErr("ending session", err)
	}
	return nil
}

// DeleteSessions implements audit.ViewerStore.
func (s *Store) DeleteSessions(ctx context.Context, org, userID string) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE org = $1 AND user_id = $2`, org, userID)
	if err != nil {
		return 0, storeErr("ending sessions", err)
	}
	return tag.RowsAffected(), nil
}

// PruneViewer implements audit.ViewerStore.
func (s *Store) PruneViewer(ctx context.Context, t time.Time) error {
	for _, q := range []string{`DELETE FROM viewer_links WHERE expires < $1`, `DELETE FROM sessions WHERE expires < $1`} {
		if _, err := s.pool.Exec(ctx, q, micros(t)); err != nil {
			return storeErr("pruning viewer links and sessions", err)
		}
	}
	return nil
}

var _ audit.ViewerStore = (*Store)(nil)
