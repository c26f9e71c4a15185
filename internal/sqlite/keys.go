// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// CreateKey implements audit.KeyStore.
func (s *Meta) CreateKey(ctx context.Context, k audit.Key, hash [sha256.Size]byte) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO keys (id, hash, name, scope, org, created, expires, last_used, revoked)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)`,
		k.ID, hash[:], k.Name, string(k.Scope), k.Org, micros(k.CreatedAt), micros(k.ExpiresAt))
	if isUniqueViolation(err) {
		return &audit.Error{Code: audit.CodeConflict, Message: "a key with this id or secret exists already", Err: err}
	}
	if err != nil {
		return storeErr("creating key", err)
	}
	return nil
}

const keyColumns = `id, name, scope, org, created, expires, last_used, revoked`

// KeyByHash implements audit.KeyStore.
func (s *Meta) KeyByHash(ctx context.Context, hash [sha256.Size]byte) (audit.Key, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM keys WHERE hash = ?`, hash[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Key{}, audit.ErrNotFound
	}
	if err != nil {
		return audit.Key{}, storeErr("reading key", err)
	}
	return k, nil
}

// Keys implements audit.KeyStore.
func (s *Meta) Keys(ctx context.Context) ([]audit.Key, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+keyColumns+` FROM keys ORDER BY created DESC, id`)
	if err != nil {
		return nil, storeErr("listing keys", err)
	}
	defer rows.Close()
	var out []audit.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, storeErr("listing keys", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeKey implements audit.KeyStore.
func (s *Meta) RevokeKey(ctx context.Context, id string, t time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE keys SET revoked = ? WHERE id = ? AND revoked = 0`, micros(t), id)
	if err != nil {
		return storeErr("revoking key", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		err := s.w.QueryRowContext(ctx, `SELECT 1 FROM keys WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return audit.ErrNotFound
		}
		if err != nil {
			return storeErr("revoking key", err)
		}
	}
	return nil
}

// TouchKey implements audit.KeyStore.
func (s *Meta) TouchKey(ctx context.Context, id string, t time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE keys SET last_used = ? WHERE id = ? AND last_used < ?`, micros(t), id, micros(t)); err != nil {
		return storeErr("touching key", err)
	}
	return nil
}

type scanner interface{ Scan(...any) error }

func scanKey(r scanner) (audit.Key, error) {
	var k audit.Key
	var scope string
	var created, expires, used, revoked int64
	if err := r.Scan(&k.ID, &k.Name, &scope, &k.Org, &created, &expires, &used, &revoked); err != nil {
		return audit.Key{}, err
	}
	k.Scope = audit.Scope(scope)
	k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.RevokedAt = fromMicros(created), fromMicros(expires), fromMicros(used), fromMicros(revoked)
	return k, nil
}

// micros stores a time as Unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(m int64) time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMicro(m).UTC()
}

// ImportKey stores a key copied from another store, with its secret's
// hash and its state (last use, revocation). A key with the same id
// already here is left as it is; ImportKey reports whether it stored k.
func (s *Meta) ImportKey(ctx context.Context, k audit.Key, hash [sha256.Size]byte) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO keys (id, hash, name, scope, org, created, expires, last_used, revoked)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		k.ID, hash[:], k.Name, string(k.Scope), k.Org, micros(k.CreatedAt), micros(k.ExpiresAt), micros(k.LastUsedAt), micros(k.RevokedAt))
	if err != nil {
		return false, storeErr("importing key", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
