// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
)

// ErrOtherSigner is wrapped by AgreeSigner's error when another replica of
// the database signs with another key.
var ErrOtherSigner = errors.New("postgres: replicas sign with different keys")

// AgreeSigner records verifier, the verifier key of this replica's
// signing key, as the database's, or checks that it is the one recorded:
// every replica must sign checkpoints with one key, or an export would
// verify against one replica's key and not another's. A recorded key that
// is among trusted (earlier keys kept after a rotation) is replaced: that
// is a rotation. Any other recorded key is an error naming both.
func (s *Store) AgreeSigner(ctx context.Context, verifier string, trusted []string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO settings (name, value) VALUES ('verifier_key', $1) ON CONFLICT (name) DO NOTHING`, verifier); err != nil {
			return storeErr("recording the verifier key", err)
		}
		var recorded string
		if err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE name = 'verifier_key' FOR UPDATE`).Scan(&recorded); err != nil {
			return storeErr("reading the verifier key", err)
		}
		switch {
		case recorded == verifier:
			return nil
		case slices.Contains(trusted, recorded):
			_, err := tx.Exec(ctx, `UPDATE settings SET value = $1 WHERE name = 'verifier_key'`, verifier)
			if err != nil {
				return storeErr("recording the verifier key", err)
			}
			return nil
		}
		return fmt.Errorf("%w: this replica's signing key has verifier key %s, but the database's replicas sign with %s: give every replica the same key (--signing-key FILE or TRAIL_SIGNING_KEY), or, after a rotation, keep the old verifier key in DATA/verifier-keys.txt",
			ErrOtherSigner, verifier, recorded)
	})
}

// RecordedVerifier returns the verifier key the database's replicas sign
// checkpoints with, as the first replica to start recorded it (and a
// rotation replaced it). ok is false when no replica has started yet.
func (s *Store) RecordedVerifier(ctx context.Context) (key string, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = 'verifier_key'`).Scan(&key)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, storeErr("reading the verifier key", err)
	}
	return key, true, nil
}
