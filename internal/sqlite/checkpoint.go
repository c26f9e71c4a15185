// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// SaveCheckpoint implements audit.Ledger: one row per org, replaced only
// by a larger checkpoint, so old checkpoints do not pile up (the stored
// hashes are what consistency proofs need).
func (s *Store) SaveCheckpoint(ctx context.Context, org string, c audit.SignedCheckpoint) (bool, error) {
	num, ok, err := s.orgNum(ctx, org)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, nil // an empty log: nothing worth keeping
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO checkpoints (org, size, root, note, signed)
		SELECT ?, ?, ?, ?, ? WHERE ? <= (SELECT size FROM orgs WHERE num = ?)
		ON CONFLICT (org) DO UPDATE SET size = excluded.size, root = excluded.root,
			note = excluded.note, signed = excluded.signed
		WHERE excluded.size > checkpoints.size`,
		num, c.Size, c.Root[:], c.Note, c.SignedAt.UnixMicro(), c.Size, num)
	if err != nil {
		return false, storeErr("saving checkpoint", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, storeErr("saving checkpoint", err)
	}
	return n > 0, nil
}

// LatestCheckpoint implements audit.Ledger.
func (s *Store) LatestCheckpoint(ctx context.Context, org string) (audit.SignedCheckpoint, error) {
	var c audit.SignedCheckpoint
	var root []byte
	var signed int64
	err := s.r.QueryRowContext(ctx, `SELECT c.size, c.root, c.note, c.signed FROM checkpoints c
		JOIN orgs o ON o.num = c.org WHERE o.name = ?`, org).Scan(&c.Size, &root, &c.Note, &signed)
	if errors.Is(err, sql.ErrNoRows) {
		return c, audit.ErrNotFound
	}
	if err != nil {
		return c, storeErr("reading checkpoint", err)
	}
	if len(root) != len(c.Root) {
		return c, &audit.Error{Code: audit.CodeInternal, Message: "internal error", Err: fmt.Errorf("sqlite: checkpoint root of %q has %d bytes", org, len(root))}
	}
	c.Root = ledger.Hash(root)
	c.SignedAt = time.UnixMicro(signed).UTC()
	return c, nil
}
