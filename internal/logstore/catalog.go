// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/sqlite"
)

// formatVersion is the version of the data directory's layout this binary
// writes; a newer one is refused rather than misread.
const formatVersion = 1

// The catalog is a SQLite database of small, slowly changing state: the
// orgs, one row per sealed block, the per-day counts of sealed events, the
// upper tiles of each tree, checkpoints, and (sqlite.MetaSchema) keys,
// viewer links and sessions. Nothing in it is written per event.
var catalogSchema = []string{
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS orgs (num INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`,
	// A block: events [first, first+n) of org, len bytes at off in blocks/<file>.
	`CREATE TABLE IF NOT EXISTS blocks (
		org   INTEGER NOT NULL,
		first INTEGER NOT NULL,
		n     INTEGER NOT NULL,
		file  INTEGER NOT NULL,
		off   INTEGER NOT NULL,
		len   INTEGER NOT NULL,
		PRIMARY KEY (org, first)
	) WITHOUT ROWID`,
	sqlite.DailySchema, // counts of sealed events
	// Tile level ≥ 1, index idx: up to 256 hashes of tree level 8·level.
	`CREATE TABLE IF NOT EXISTS tiles (
		org   INTEGER NOT NULL,
		level INTEGER NOT NULL,
		idx   INTEGER NOT NULL,
		data  BLOB NOT NULL,
		PRIMARY KEY (org, level, idx)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS checkpoints (
		org    TEXT PRIMARY KEY,
		size   INTEGER NOT NULL,
		root   BLOB NOT NULL,
		note   TEXT NOT NULL,
		signed INTEGER NOT NULL
	)`,
}

type catalog struct {
	w, r *sql.DB
}

func openCatalog(path string) (*catalog, error) {
	w, err := sqlite.OpenDB(path, 16, false)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	if err := migrateCatalog(w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sqlite.OpenDB(path, 16, true)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	return &catalog{w: w, r: r}, nil
}

func migrateCatalog(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("logstore: creating the catalog: %w", err)
	}
	defer tx.Rollback()
	for _, stmt := range slices.Concat(catalogSchema, pruneSchema, sqlite.MetaSchema) {
		if _, err := tx.Exec(stmt); err != nil {
			return fmt.Errorf("logstore: creating the catalog: %w", err)
		}
	}
	var v int
	err = tx.QueryRow(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'format_version'`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.Exec(`INSERT INTO meta (key, value) VALUES ('format_version', ?)`, formatVersion); err != nil {
			return fmt.Errorf("logstore: creating the catalog: %w", err)
		}
	case err != nil:
		return fmt.Errorf("logstore: reading the format version: %w", err)
	case v > formatVersion:
		return fmt.Errorf("logstore: the data directory has format version %d but this trail binary knows up to %d: upgrade trail", v, formatVersion)
	}
	return tx.Commit()
}

func (c *catalog) close() error { return errors.Join(c.r.Close(), c.w.Close()) }

// sealTx is what one seal writes: all of it or nothing.
type sealTx struct {
	org     *orgLog
	block   *blockRef
	daily   map[dayCat]int64
	tiles   []tileRow
	orgNum  int64 // set by write when the org is new
	created bool
}

func (c *catalog) writeSeal(ctx context.Context, st *sealTx) error {
	tx, err := c.w.BeginTx(ctx, nil)
	if err != nil {
		return sqlite.StoreErr("sealing", err)
	}
	defer tx.Rollback()
	st.orgNum = st.org.num
	if st.orgNum == 0 {
		if err := tx.QueryRowContext(ctx, `INSERT INTO orgs (name) VALUES (?) RETURNING num`, st.org.name).Scan(&st.orgNum); err != nil {
			return sqlite.StoreErr("sealing: adding the org", err)
		}
	}
	b := st.block
	if _, err := tx.ExecContext(ctx, `INSERT INTO blocks (org, first, n, file, off, len) VALUES (?, ?, ?, ?, ?, ?)`,
		st.orgNum, b.first, b.n, b.file, b.off, b.size); err != nil {
		return sqlite.StoreErr("sealing: adding the block", err)
	}
	for k, n := range st.daily {
		if _, err := tx.ExecContext(ctx, `INSERT INTO daily (org, day, category, n) VALUES (?, ?, ?, ?)
			ON CONFLICT (org, day, category) DO UPDATE SET n = n + excluded.n`, st.orgNum, k.day, k.category, n); err != nil {
			return sqlite.StoreErr("sealing: counting", err)
		}
	}
	for _, t := range st.tiles {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO tiles (org, level, idx, data) VALUES (?, ?, ?, ?)`,
			st.orgNum, t.level, t.idx, t.data); err != nil {
			return sqlite.StoreErr("sealing: writing tiles", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return sqlite.StoreErr("sealing", err)
	}
	return nil
}

// catalogOrg is one org as the catalog holds it.
type catalogOrg struct {
	num    int64
	name   string
	blocks []*blockRef
	daily  map[dayCat]int64
	tiles  []tileRow
	pruned int64 // P: events [0, P) were pruned (prune.go)
}

// load reads every org with its blocks, counts and tiles.
func (c *catalog) load(ctx context.Context) (map[int64]*catalogOrg, error) {
	orgs := map[int64]*catalogOrg{}
	err := c.each(ctx, `SELECT num, name FROM orgs`, func(r *sql.Rows) error {
		o := &catalogOrg{daily: map[dayCat]int64{}}
		if err := r.Scan(&o.num, &o.name); err != nil {
			return err
		}
		orgs[o.num] = o
		return nil
	})
	if err == nil {
		err = c.each(ctx, `SELECT org, first, n, file, off, len FROM blocks ORDER BY org, first`, func(r *sql.Rows) error {
			var num int64
			b := &blockRef{}
			if err := r.Scan(&num, &b.first, &b.n, &b.file, &b.off, &b.size); err != nil {
				return err
			}
			if o := orgs[num]; o != nil {
				o.blocks = append(o.blocks, b)
			}
			return nil
		})
	}
	if err == nil {
		err = c.each(ctx, `SELECT org, day, category, n FROM daily`, func(r *sql.Rows) error {
			var num, n int64
			var k dayCat
			if err := r.Scan(&num, &k.day, &k.category, &n); err != nil {
				return err
			}
			if o := orgs[num]; o != nil {
				o.daily[k] = n
			}
			return nil
		})
	}
	if err == nil {
		err = c.each(ctx, `SELECT org, level, idx, data FROM tiles ORDER BY org, level, idx`, func(r *sql.Rows) error {
			var num int64
			var t tileRow
			if err := r.Scan(&num, &t.level, &t.idx, &t.data); err != nil {
				return err
			}
			if o := orgs[num]; o != nil {
				o.tiles = append(o.tiles, t)
			}
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("logstore: reading the catalog: %w", err)
	}
	return orgs, nil
}

func (c *catalog) each(ctx context.Context, q string, fn func(*sql.Rows) error) error {
	rows, err := c.w.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (c *catalog) saveCheckpoint(ctx context.Context, org string, cp audit.SignedCheckpoint) (bool, error) {
	res, err := c.w.ExecContext(ctx, `INSERT INTO checkpoints (org, size, root, note, signed) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org) DO UPDATE SET size = excluded.size, root = excluded.root,
			note = excluded.note, signed = excluded.signed
		WHERE excluded.size > checkpoints.size`,
		org, cp.Size, cp.Root[:], cp.Note, cp.SignedAt.UnixMicro())
	if err != nil {
		return false, sqlite.StoreErr("saving checkpoint", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, sqlite.StoreErr("saving checkpoint", err)
	}
	return n > 0, nil
}

func (c *catalog) latestCheckpoint(ctx context.Context, org string) (audit.SignedCheckpoint, error) {
	var cp audit.SignedCheckpoint
	var root []byte
	var signed int64
	err := c.r.QueryRowContext(ctx, `SELECT size, root, note, signed FROM checkpoints WHERE org = ?`, org).
		Scan(&cp.Size, &root, &cp.Note, &signed)
	if errors.Is(err, sql.ErrNoRows) {
		return cp, audit.ErrNotFound
	}
	if err != nil {
		return cp, sqlite.StoreErr("reading checkpoint", err)
	}
	if len(root) != len(cp.Root) {
		return cp, internalErr("checkpoint root of %q has %d bytes", org, len(root))
	}
	cp.Root = ledger.Hash(root)
	cp.SignedAt = time.UnixMicro(signed).UTC()
	return cp, nil
}
