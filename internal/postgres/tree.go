// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readHashes reads stored hashes of org num at indexes, in order.
func readHashes(ctx context.Context, q querier, num int64, indexes []int64) ([]ledger.Hash, error) {
	if len(indexes) == 0 {
		return []ledger.Hash{}, nil
	}
	rows, err := q.Query(ctx, `SELECT idx, hash FROM tree WHERE org = $1 AND idx = ANY($2)`, num, indexes)
	if err != nil {
		return nil, storeErr("reading tree hashes", err)
	}
	defer rows.Close()
	found := make(map[int64]ledger.Hash, len(indexes))
	for rows.Next() {
		raw := rows.RawValues()
		idx, err := decodeInt8(raw[0])
		if err != nil || len(raw[1]) != len(ledger.Hash{}) {
			return nil, internalErr("tree hash of org %d is malformed", num)
		}
		found[idx] = ledger.Hash(raw[1])
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("reading tree hashes", err)
	}
	out := make([]ledger.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := found[x]
		if !ok {
			return nil, internalErr("tree hash %d of org %d is missing", x, num)
		}
		out[i] = h
	}
	return out, nil
}

// ReadHashes implements audit.Ledger.
func (s *Store) ReadHashes(ctx context.Context, org string, indexes []int64) ([]ledger.Hash, error) {
	if len(indexes) == 0 {
		return []ledger.Hash{}, nil
	}
	num, ok, err := s.orgNum(ctx, org)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, internalErr("org %q has no tree hashes", org)
	}
	return readHashes(ctx, s.pool, num, indexes)
}

// SaveCheckpoint implements audit.Ledger: one row per org, replaced only by
// a larger checkpoint. Replicas signing the same org race harmlessly: the
// conditional upsert keeps the largest.
func (s *Store) SaveCheckpoint(ctx context.Context, org string, c audit.SignedCheckpoint) (bool, error) {
	num, ok, err := s.orgNum(ctx, org)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, nil
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO checkpoints (org, size, root, note, signed)
		SELECT $1, $2, $3, $4, $5 WHERE $2 <= (SELECT size FROM orgs WHERE num = $1)
		ON CONFLICT (org) DO UPDATE SET size = excluded.size, root = excluded.root,
			note = excluded.note, signed = excluded.signed
		WHERE excluded.size > checkpoints.size`,
		num, c.Size, c.Root[:], c.Note, c.SignedAt.UnixMicro())
	if err != nil {
		return false, storeErr("saving checkpoint", err)
	}
	return tag.RowsAffected() > 0, nil
}

// LatestCheckpoint implements audit.Ledger.
func (s *Store) LatestCheckpoint(ctx context.Context, org string) (audit.SignedCheckpoint, error) {
	var c audit.SignedCheckpoint
	var root []byte
	var signed int64
	err := s.pool.QueryRow(ctx, `SELECT c.size, c.root, c.note, c.signed FROM checkpoints c
		JOIN orgs o ON o.num = c.org WHERE o.name = $1`, org).Scan(&c.Size, &root, &c.Note, &signed)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, audit.ErrNotFound
	}
	if err != nil {
		return c, storeErr("reading checkpoint", err)
	}
	if len(root) != len(c.Root) {
		return c, internalErr("checkpoint root of %q has %d bytes", org, len(root))
	}
	c.Root = ledger.Hash(root)
	c.SignedAt = time.UnixMicro(signed).UTC()
	return c, nil
}

var _ audit.Ledger = (*Store)(nil)
