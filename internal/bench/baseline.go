// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // the baseline's driver
)

// baselineRowsPerTx is the naive baseline's transaction size.
const baselineRowsPerTx = 1000

// baselineState is what the baseline phase measured, for the rows that
// compare Trail with it.
type baselineState struct {
	baselineIngest float64 // rows/s, durable
	baselineScan   float64 // rows/s of a plain SELECT of every row
	baselineRows   int64   // rows in the table when scanned
	baselineBytes  int64   // the table's files on disk
}

// baselinePhase measures the design the issue compares against, on the
// same events: one table with a random 128-bit key and three secondary
// indexes, events spread over 1000 orgs, 1000 rows per transaction, WAL,
// synchronous=FULL; then a plain SELECT of every row.
func (r *run) baselinePhase(ctx context.Context) error {
	dir := filepath.Join(r.o.WorkDir, "baseline")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, "naive.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := createNaive(ctx, db); err != nil {
		return err
	}
	rows := naiveRows(r.pool)
	if err := r.fillNaive(ctx, db, rows); err != nil {
		return err
	}
	if r.o.Only != OnlyExport {
		r.progress("naive baseline: ingest for %s", r.o.Duration)
		var n int
		start := time.Now()
		for round := 0; time.Since(start) < r.o.Duration; round++ {
			if err := naiveTx(ctx, db, rows, round); err != nil {
				return fmt.Errorf("naive baseline: %w", err)
			}
			n += baselineRowsPerTx
		}
		r.baselineIngest = float64(n) / time.Since(start).Seconds()
	}
	if err := r.scanNaive(ctx, db); err != nil {
		return err
	}
	r.baselineBytes, err = dirBytes(dir)
	return err
}

func createNaive(ctx context.Context, db *sql.DB) error {
	for _, s := range []string{
		`CREATE TABLE events (id TEXT PRIMARY KEY, org TEXT NOT NULL, type TEXT NOT NULL, actor TEXT NOT NULL, occurred TEXT NOT NULL, data TEXT NOT NULL)`,
		`CREATE INDEX events_org_time ON events (org, occurred)`,
		`CREATE INDEX events_org_type ON events (org, type)`,
		`CREATE INDEX events_org_actor ON events (org, actor)`,
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("naive baseline: %w", err)
		}
	}
	return nil
}

// fillNaive inserts BaselineRows rows before the timed ingest, not durably
// (synchronous=OFF), so a large table costs minutes, not hours.
func (r *run) fillNaive(ctx context.Context, db *sql.DB, rows []naiveRow) error {
	if r.o.BaselineRows == 0 {
		return nil
	}
	r.progress("naive baseline: filling %d rows", r.o.BaselineRows)
	if _, err := db.ExecContext(ctx, "PRAGMA synchronous=OFF"); err != nil {
		return err
	}
	for round := 0; round*baselineRowsPerTx < r.o.BaselineRows; round++ {
		if err := naiveTx(ctx, db, rows, round); err != nil {
			return fmt.Errorf("naive baseline: %w", err)
		}
	}
	_, err := db.ExecContext(ctx, "PRAGMA synchronous=FULL")
	return err
}

// scanNaive reads every row's data, as an export of the table would.
func (r *run) scanNaive(ctx context.Context, db *sql.DB) error {
	r.progress("naive baseline: SELECT of every row")
	start := time.Now()
	rs, err := db.QueryContext(ctx, `SELECT data FROM events`)
	if err != nil {
		return err
	}
	defer rs.Close()
	var n int64
	for rs.Next() {
		var data sql.RawBytes
		if err := rs.Scan(&data); err != nil {
			return err
		}
		n++
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("naive baseline scan: %w", err)
	}
	r.baselineScan = float64(n) / time.Since(start).Seconds()
	r.baselineRows = n
	return nil
}

type naiveRow struct{ org, typ, actor, data string }

func naiveRows(p *pool) []naiveRow {
	rows := make([]naiveRow, len(p.events))
	for i, raw := range p.events {
		var e poolEvent
		json.Unmarshal(raw, &e)
		rows[i] = naiveRow{"org" + strconv.Itoa(i%1000), e.Type, e.Actor.Name, string(raw)}
	}
	return rows
}

// naiveTx inserts one transaction of rows, each with a random key.
func naiveTx(ctx context.Context, db *sql.DB, rows []naiveRow, round int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO events (id, org, type, actor, occurred, data) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var id [16]byte
	for j := range baselineRowsPerTx {
		r := rows[(round*baselineRowsPerTx+j)%len(rows)]
		rand.Read(id[:])
		if _, err := st.ExecContext(ctx, hex.EncodeToString(id[:]), r.org, r.typ, r.actor, now, r.data); err != nil {
			return err
		}
	}
	return tx.Commit()
}
