// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trailaudit/trail/internal/audit"
)

// Pruning (retention) deletes an org's oldest rows: events, refs and ids
// with seq < P, where P is the first seq received at or after the cutoff,
// and lowers the daily counts, in one transaction that holds the org's
// row (appends to that org wait for it). The tree table keeps every hash,
// so roots and proofs are unchanged. A monthly partition that no org
// keeps a row of any more is then dropped, which gives its space back at
// once; deleted rows of partitions that stay are dead tuples until
// VACUUM (autovacuum) makes their space reusable (docs/retention.md).

// PrunedBefore implements audit.Pruner.
func (s *Store) PrunedBefore(ctx context.Context, org string) (int64, error) {
	num, ok, err := s.orgNum(ctx, org)
	if err != nil || !ok {
		return 0, err
	}
	var p int64
	if err := s.pool.QueryRow(ctx, `SELECT pruned FROM orgs WHERE num = $1`, num).Scan(&p); err != nil {
		return 0, storeErr("reading the pruned range", err)
	}
	return p, nil
}

// Prune implements audit.Pruner.
func (s *Store) Prune(ctx context.Context, org string, cutoff time.Time) (audit.PruneResult, error) {
	num, ok, err := s.orgNum(ctx, org)
	if err != nil || !ok {
		return audit.PruneResult{}, err
	}
	var res audit.PruneResult
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var size int64
		if err := tx.QueryRow(ctx, `SELECT pruned, size FROM orgs WHERE num = $1 FOR UPDATE`, num).Scan(&res.From, &size); err != nil {
			return err
		}
		var first *int64
		if err := tx.QueryRow(ctx, `SELECT min(seq) FROM events WHERE org = $1 AND received >= $2`, num, cutoff.UnixMicro()).Scan(&first); err != nil {
			return err
		}
		res.To = size
		if first != nil {
			res.To = *first
		}
		if res.To <= res.From {
			res.To = res.From
			return nil
		}
		if _, err := tx.Exec(ctx, `WITH gone AS (
				SELECT CASE WHEN occurred >= 0 OR occurred % $3 = 0 THEN occurred / $3 ELSE occurred / $3 - 1 END AS day, category, count(*) AS n
				FROM events WHERE org = $1 AND seq < $2 GROUP BY 1, 2)
			UPDATE daily SET n = daily.n - gone.n FROM gone
			WHERE daily.org = $1 AND daily.day = gone.day AND daily.category = gone.category`, num, res.To, int64(microsPerDay)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM daily WHERE org = $1 AND n <= 0`, num); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM events WHERE org = $1 AND seq < $2`,
			`DELETE FROM refs WHERE org = $1 AND seq < $2`,
			`DELETE FROM ids WHERE org = $1 AND seq < $2`,
			`UPDATE orgs SET pruned = $2 WHERE num = $1`,
		} {
			if _, err := tx.Exec(ctx, q, num, res.To); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return audit.PruneResult{}, storeErr("pruning", err)
	}
	if res.To > res.From {
		if err := s.dropEmptyPartitions(ctx, cutoff); err != nil {
			return res, err
		}
	}
	return res, nil
}

// dropEmptyPartitions drops the monthly partitions of events and refs
// that end before cutoff and hold no row any more.
func (s *Store) dropEmptyPartitions(ctx context.Context, cutoff time.Time) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7326001)`); err != nil { // as createPartition
			return storeErr("dropping partitions", err)
		}
		rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_inherits i
			JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
			WHERE p.relname = 'events' AND p.relnamespace = to_regnamespace(current_schema())::oid`)
		if err != nil {
			return storeErr("listing partitions", err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return storeErr("listing partitions", err)
		}
		for _, name := range names {
			start, err := time.Parse("events_p200601", name)
			if err != nil || !start.AddDate(0, 1, 0).Before(cutoff) && !start.AddDate(0, 1, 0).Equal(cutoff) {
				continue
			}
			suffix := name[len("events"):]
			var used bool
			q := fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %s) OR EXISTS (SELECT 1 FROM %s)`,
				pgx.Identifier{"events" + suffix}.Sanitize(), pgx.Identifier{"refs" + suffix}.Sanitize())
			if err := tx.QueryRow(ctx, q).Scan(&used); err != nil {
				return storeErr("checking partition "+name, err)
			}
			if used {
				continue
			}
			for _, parent := range []string{"events", "refs"} {
				if _, err := tx.Exec(ctx, `DROP TABLE `+pgx.Identifier{parent + suffix}.Sanitize()); err != nil {
					return storeErr("dropping partition "+parent+suffix, err)
				}
			}
			s.mu.Lock()
			delete(s.parts, start.UnixMicro())
			s.mu.Unlock()
		}
		return nil
	})
}
