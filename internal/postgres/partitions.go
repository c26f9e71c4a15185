// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// events and refs are partitioned by month of received (Unix micros), one
// partition pair per month, created on demand before the first append that
// needs it, in a short transaction of its own (DDL locks the parent table
// only for that moment). Trail's clock makes nearly every append land in
// the current month; imports (trail migrate-store) create past months.
// Retention can then drop a month with DROP TABLE instead of deleting rows.

// monthOf returns the first instant of t's UTC month, in Unix micros.
func monthOf(micros int64) int64 {
	t := time.UnixMicro(micros).UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMicro()
}

// ensurePartitions creates the partitions of the given months that this
// process has not seen yet.
func (s *Store) ensurePartitions(ctx context.Context, months map[int64]bool) error {
	var missing []int64
	s.mu.Lock()
	for m := range months {
		if !s.parts[m] {
			missing = append(missing, m)
		}
	}
	s.mu.Unlock()
	for _, m := range missing {
		if err := s.createPartition(ctx, m); err != nil {
			return err
		}
		s.mu.Lock()
		s.parts[m] = true
		s.mu.Unlock()
	}
	return nil
}

func (s *Store) createPartition(ctx context.Context, month int64) error {
	start := time.UnixMicro(month).UTC()
	end := start.AddDate(0, 1, 0).UnixMicro()
	suffix := start.Format("_p200601")
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Replicas may race to create the same month: take turns.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7326001)`); err != nil {
			return storeErr("creating partition", err)
		}
		for _, parent := range []string{"events", "refs"} {
			name := pgx.Identifier{parent + suffix}.Sanitize()
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
				return storeErr("creating partition", err)
			}
			if exists {
				continue
			}
			q := fmt.Sprintf(`CREATE TABLE %s PARTITION OF %s FOR VALUES FROM (%d) TO (%d)`, name, parent, month, end)
			if _, err := tx.Exec(ctx, q); err != nil {
				return storeErr("creating partition "+name, err)
			}
		}
		return nil
	})
}
