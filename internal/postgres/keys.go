// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/trailaudit/trail/internal/audit"
)

// CreateKey implements audit.KeyStore.
func (s *Store) CreateKey(ctx context.Context, k audit.Key, hash [sha256.Size]byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO keys (id, hash, name, scope, org, created, expires, last_used, revoked)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0)`,
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
func (s *Store) KeyByHash(ctx context.Context, hash [sha256.Size]byte) (audit.Key, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM keys WHERE hash = $1`, hash[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return audit.Key{}, audit.ErrNotFound
	}
	if err != nil {
		return audit.Key{}, storeErr("reading key", err)
	}
	return k, nil
}

// Keys implements audit.KeyStore.
func (s *Store) Keys(ctx context.Context) ([]audit.Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM keys ORDER BY created DESC, id`)
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
	if err := rows.Err(); err != nil {
		return nil, storeErr("listing keys", err)
	}
	return out, nil
}

// RevokeKey implements audit.KeyStore.
func (s *Store) RevokeKey(ctx context.Context, id string, t time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE keys SET revoked = $1 WHERE id = $2 AND revoked = 0`, micros(t), id)
	if err != nil {
		return storeErr("revoking key", err)
	}
	if tag.RowsAffected() == 0 {
		var one int
		err := s.pool.QueryRow(ctx, `SELECT 1 FROM keys WHERE id = $1`, id).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return audit.ErrNotFound
		}
		if err != nil {
			return storeErr("revoking key", err)
		}
	}
	return nil
}

// TouchKey implements audit.KeyStore.
func (s *Store) TouchKey(ctx context.Context, id string, t time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE keys SET last_used = $1 WHERE id = $2 AND last_used < $1`, micros(t), id); err != nil {
		return storeErr("touching key", err)
	}
	return nil
}

func scanKey(r pgx.Row) (audit.Key, error) {
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

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
