// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/sqlite"
)

// formatVersion is the version of the data directory's layout this binary
// writes; a newer one is refused rather than misread. Version 2 keeps the
// daily counts in the counts table (counts.go) instead of daily: the
// owner's Open converts a version 1 catalog, in the transaction that
// creates the tables.
const formatVersion = 2

// The catalog is a SQLite database of small, slowly changing state: the
// orgs, one row per sealed block, the per-day counts of sealed events, the
// upper tiles of each tree, checkpoints, and (sqlite.MetaSchema) keys,
// viewer links and sessions. Nothing in it is written per event.
var catalogSchema = []string{
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS orgs (num INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`,
	blocksSchema("blocks"),
	sqlite.DailySchema, // counts of sealed events, format version 1: converted to counts
	countsSchema,       // counts of sealed events (counts.go)
	// Tile level ≥ 1, index idx: up to 256 hashes of tree level 8·level.
	`CREATE TABLE IF NOT EXISTS tiles (
		org   INTEGER NOT NULL,
		level INTEGER NOT NULL,
		idx   INTEGER NOT NULL,
		data  BLOB NOT NULL,
		PRIMARY KEY (org, level, idx)
	) WITHOUT ROWID`,
	// The id filters of an org's sealed blocks (ids.go): one row per
	// filter group, covering events [first, end) in nblocks blocks;
	// written with the seal that changes them, so that Open reads them
	// instead of every block's id section. A rowid table in catalogs
	// created since format 2, like blocks (see blocksSchema).
	`CREATE TABLE IF NOT EXISTS idfilters (
		org     INTEGER NOT NULL,
		first   INTEGER NOT NULL,
		end     INTEGER NOT NULL,
		nblocks INTEGER NOT NULL,
		tier    INTEGER NOT NULL,
		data    BLOB NOT NULL,
		PRIMARY KEY (org, first)
	)`,
	// The values of the blocks' summaries' sets (types, categories,
	// countries): a summary names them by id (summary.go).
	`CREATE TABLE IF NOT EXISTS strs (
		id    INTEGER PRIMARY KEY,
		value TEXT NOT NULL UNIQUE
	)`,
	// The right edge of an org's tree at its sealed size (tiles.go),
	// written with each seal, so that Open reads no block for it.
	`CREATE TABLE IF NOT EXISTS edges (
		org  INTEGER PRIMARY KEY,
		size INTEGER NOT NULL,
		data BLOB NOT NULL
	)`,
	// Tree hashes at level nodeLevel (tiles.go) of sealed events: row idx
	// holds those of index 256·idx on, up to 256. A rowid table, like
	// blocks (see blocksSchema).
	`CREATE TABLE IF NOT EXISTS nodes5 (
		org  INTEGER NOT NULL,
		idx  INTEGER NOT NULL,
		data BLOB NOT NULL,
		PRIMARY KEY (org, idx)
	)`,
	// The same at level 4, written by earlier binaries: read, no longer
	// written.
	`CREATE TABLE IF NOT EXISTS nodes (
		org  INTEGER NOT NULL,
		idx  INTEGER NOT NULL,
		data BLOB NOT NULL,
		PRIMARY KEY (org, idx)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS checkpoints (
		org    TEXT PRIMARY KEY,
		size   INTEGER NOT NULL,
		root   BLOB NOT NULL,
		note   TEXT NOT NULL,
		signed INTEGER NOT NULL
	)`,
}

// blocksSchema creates the blocks table as name: a block is events
// [first, first+n) of org, len bytes at off in blocks/<file>, and its
// summary (summary.go; NULL in catalogs written before summaries were
// kept: migrateCatalog adds the column). A rowid table in catalogs
// created since format 2 (WITHOUT ROWID before): its rows of 1.5 to 15 KB
// spill into overflow pages, and a rowid table keeps the part past the
// last full overflow page in the row's leaf page, shared with other rows,
// where a WITHOUT ROWID table puts it in an overflow page of its own, on
// average half empty (6.41 → 5.93 MB for 1,310 blocks, −0.4 bytes per
// event). An older catalog keeps its table: rebuilding it would grow the
// file by the table's size (the old pages only become free), and both
// are read alike.
func blocksSchema(name string) string {
	return `CREATE TABLE IF NOT EXISTS ` + name + ` (
		org     INTEGER NOT NULL,
		first   INTEGER NOT NULL,
		n       INTEGER NOT NULL,
		file    INTEGER NOT NULL,
		off     INTEGER NOT NULL,
		len     INTEGER NOT NULL,
		summary BLOB,
		PRIMARY KEY (org, first)
	)`
}

type catalog struct {
	w, r *sql.DB
	// stmts are the seals' statements prepared on w (stmtTx); pending,
	// the ones to prepare after the seal that ran them.
	stmtMu  sync.Mutex
	stmts   map[string]*sql.Stmt
	pending []string
	strs    *strTable // the values of the blocks' summaries' sets
	// level4 is whether the nodes table (level-4 tree hashes, written by
	// earlier binaries) has rows: a proof looks there only if so.
	level4 bool
}

// catalogPageSize is the SQLite page size of catalogs created by this
// binary. The catalog's rows are large (block summaries of up to ~14 KB,
// id filters, tree nodes of 8 KB) and mostly spill into overflow pages,
// whose last page is on average half empty: 2,048-byte pages waste half
// of what 4,096-byte ones do (−1.2 bytes per sealed event measured at
// 12.2M events). A catalog created with another page size keeps it: the
// page size is no part of the catalog's format.
const catalogPageSize = 2048

func openCatalog(path string) (*catalog, error) { return openCatalogAs(path, false) }

// openCatalogAs opens the catalog as its owner or, reader true, beside
// the process that owns the directory: a reader converts nothing (the
// owner may be an earlier binary that writes the daily table).
func openCatalogAs(path string, reader bool) (*catalog, error) {
	if err := createCatalog(path); err != nil {
		return nil, err
	}
	w, err := sqlite.OpenDB(path, 16, false)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	if err := migrateCatalog(w, reader); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sqlite.OpenDB(path, 16, true)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	c := &catalog{w: w, r: r, strs: &strTable{}}
	if err := w.QueryRow(`SELECT EXISTS (SELECT 1 FROM nodes)`).Scan(&c.level4); err != nil {
		c.close()
		return nil, fmt.Errorf("logstore: reading the catalog: %w", err)
	}
	if err := c.loadStrs(context.Background()); err != nil {
		c.close()
		return nil, fmt.Errorf("logstore: reading the catalog: %w", err)
	}
	return c, nil
}

// loadStrs reads the strs table into c.strs.
func (c *catalog) loadStrs(ctx context.Context) error {
	ids := map[uint32]int64{}
	err := c.each(ctx, `SELECT id, value FROM strs`, func(r *sql.Rows) error {
		var id int64
		var v string
		if err := r.Scan(&id, &v); err != nil {
			return err
		}
		ids[c.strs.id(v)] = id
		return nil
	})
	c.strs.learn(ids)
	return err
}

// createCatalog creates a missing catalog file with catalogPageSize
// pages: SQLite fixes the page size with the database's first page (and
// cannot change it in WAL mode), so it is set before WAL is turned on and
// the first table (meta) is created; migrateCatalog creates the rest, as
// in any Open.
func createCatalog(path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // exists, or Open's error says why not
	}
	// One connection, the statements in this order (the driver sorts the
	// pragmas of a DSN: journal_mode would come first).
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return fmt.Errorf("logstore: creating the catalog: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, stmt := range []string{fmt.Sprintf("PRAGMA page_size = %d", catalogPageSize), "PRAGMA journal_mode = WAL", catalogSchema[0]} {
		if _, err := db.Exec(stmt); err != nil {
			return fmt.Errorf("logstore: creating the catalog: %w", err)
		}
	}
	return db.Close()
}

func migrateCatalog(db *sql.DB, reader bool) error {
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
	// Catalogs written before block summaries were kept: the column is
	// added empty, and Open fills it from the blocks' headers.
	var has int
	if err := tx.QueryRow(`SELECT count(*) FROM pragma_table_info('blocks') WHERE name = 'summary'`).Scan(&has); err != nil {
		return fmt.Errorf("logstore: reading the catalog's schema: %w", err)
	}
	if has == 0 {
		if _, err := tx.Exec(`ALTER TABLE blocks ADD COLUMN summary BLOB`); err != nil {
			return fmt.Errorf("logstore: adding block summaries to the catalog: %w", err)
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
	case v < 2 && !reader:
		if err := convertDaily(context.Background(), tx); err != nil {
			return fmt.Errorf("logstore: converting the daily counts: %w", err)
		}
		if _, err := tx.Exec(`UPDATE meta SET value = ? WHERE key = 'format_version'`, formatVersion); err != nil {
			return fmt.Errorf("logstore: converting the daily counts: %w", err)
		}
	}
	return tx.Commit()
}

func (c *catalog) close() error {
	c.stmtMu.Lock()
	var errs []error
	for _, st := range c.stmts {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	c.stmts = nil
	c.stmtMu.Unlock()
	return errors.Join(append(errs, c.r.Close(), c.w.Close())...)
}

// sealTx is what one seal writes: all of it or nothing.
type sealTx struct {
	org   *orgLog
	block *blockRef
	daily map[dayCat]int64
	tiles []tileRow
	// ids are the org's id filter groups after the seal; those from
	// idsFrom on are new and replace the stored ones from their first seq.
	ids     []idGroup
	idsFrom int
	edge    *ledger.Edge // the tree's edge at the new sealed size
	nodes   nodeRun      // the tree hashes at nodeLevel the block completes
	orgNum  int64        // set by write when the org is new
	created bool
}

func (c *catalog) writeSeal(ctx context.Context, st *sealTx) error {
	sqlTx, err := c.w.BeginTx(ctx, nil)
	if err != nil {
		return sqlite.StoreErr("sealing", err)
	}
	defer sqlTx.Rollback()
	tx := stmtTx{sqlTx, c}
	st.orgNum = st.org.num
	if st.orgNum == 0 {
		if err := tx.QueryRowContext(ctx, `INSERT INTO orgs (name) VALUES (?) RETURNING num`, st.org.name).Scan(&st.orgNum); err != nil {
			return sqlite.StoreErr("sealing: adding the org", err)
		}
	}
	b := st.block
	ids, err := c.setIDs(ctx, tx, b)
	if err != nil {
		return sqlite.StoreErr("sealing: adding the block", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO blocks (org, first, n, file, off, len, summary) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		st.orgNum, b.first, b.n, b.file, b.off, b.size, encodeSummary(st.orgNum, b, ids)); err != nil {
		return sqlite.StoreErr("sealing: adding the block", err)
	}
	if err := addCounts(ctx, tx, st.orgNum, st.daily); err != nil {
		return sqlite.StoreErr("sealing: counting", err)
	}
	for _, t := range st.tiles {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO tiles (org, level, idx, data) VALUES (?, ?, ?, ?)`,
			st.orgNum, t.level, t.idx, t.data); err != nil {
			return sqlite.StoreErr("sealing: writing tiles", err)
		}
	}
	if err := writeIDs(ctx, tx, st.orgNum, st.ids, st.idsFrom); err != nil {
		return sqlite.StoreErr("sealing: writing id filters", err)
	}
	if err := writeEdge(ctx, tx, st.orgNum, st.edge); err != nil {
		return sqlite.StoreErr("sealing: writing the tree edge", err)
	}
	if err := writeNodes(ctx, tx, st.orgNum, st.nodes); err != nil {
		return sqlite.StoreErr("sealing: writing tree hashes", err)
	}
	if hook := beforeSealCommit.Load(); hook != nil {
		if err := (*hook)(); err != nil {
			return sqlite.StoreErr("sealing", err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return sqlite.StoreErr("sealing", err)
	}
	c.strs.learn(ids)
	c.preparePending()
	return nil
}

// querier is a transaction or, for statements that commit on their own,
// the database.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// writer is what the catalog's write functions run their statements
// with: a *sql.Tx, or a stmtTx (a seal's transaction).
type writer interface {
	querier
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// stmtTx is a transaction on c.w that runs the statements it has run
// before prepared (c.stmts) instead of parsing their text again: a seal
// runs about ten statements, the same ones every time, and SQLite's
// parsing and code generation were a good part of a small org's seal. A
// statement not prepared yet runs as text, and is prepared once the
// transaction is over (c.w has one connection, which the transaction
// holds: preparePending).
type stmtTx struct {
	tx *sql.Tx
	c  *catalog
}

func (t stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.c.prepared(query); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.c.prepared(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

// prepared returns query prepared on c.w, or nil after noting it for
// preparePending.
func (c *catalog) prepared(query string) *sql.Stmt {
	c.stmtMu.Lock()
	defer c.stmtMu.Unlock()
	st, ok := c.stmts[query]
	if !ok {
		if c.stmts == nil {
			c.stmts = map[string]*sql.Stmt{}
		}
		c.stmts[query] = nil
		c.pending = append(c.pending, query)
	}
	return st
}

// preparePending prepares on c.w the statements prepared noted, when no
// transaction holds its connection (the caller's has ended). It waits for
// that connection without holding stmtMu, so that a transaction holding
// it and asking prepared for a statement cannot block on it; and without
// the caller's context, which may end once the caller's transaction has
// committed. A statement that does not prepare is noted again, to be
// tried after the next transaction; until then it runs as text.
func (c *catalog) preparePending() {
	c.stmtMu.Lock()
	pending := c.pending
	c.pending = nil
	c.stmtMu.Unlock()
	for _, q := range pending {
		st, err := c.w.PrepareContext(context.Background(), q)
		c.stmtMu.Lock()
		switch {
		case c.stmts == nil: // closed meanwhile
			if err == nil {
				st.Close()
			}
		case err == nil:
			c.stmts[q] = st
		default:
			delete(c.stmts, q) // prepared notes it again
		}
		c.stmtMu.Unlock()
	}
}

// setIDs returns the strs table's id of each value of b's summary's sets,
// adding the values it lacks with q; the caller tells c.strs of them once
// q's changes are committed.
func (c *catalog) setIDs(ctx context.Context, q querier, b *blockRef) (map[uint32]int64, error) {
	ids := map[uint32]int64{}
	for _, set := range b.sum.sets {
		for _, i := range set {
			if _, done := ids[i]; done {
				continue
			}
			id, ok := c.strs.catalogID(i)
			if !ok {
				err := q.QueryRowContext(ctx, `INSERT INTO strs (value) VALUES (?)
					ON CONFLICT (value) DO UPDATE SET value = excluded.value RETURNING id`, c.strs.str(i)).Scan(&id)
				if err != nil {
					return nil, err
				}
			}
			ids[i] = id
		}
	}
	return ids, nil
}

// beforeSealCommit, when tests set it, runs before a seal's catalog
// transaction commits; an error rolls the transaction back (a crash
// between a block's write and its catalog row).
var beforeSealCommit atomic.Pointer[func() error]

// writeIDs replaces org's id filter rows from groups[from] on.
func writeIDs(ctx context.Context, tx writer, org int64, groups []idGroup, from int) error {
	if from >= len(groups) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM idfilters WHERE org = ? AND first >= ?`, org, groups[from].first()); err != nil {
		return err
	}
	return insertIDs(ctx, tx, org, groups[from:])
}

// insertIDs adds the id filter rows of groups.
func insertIDs(ctx context.Context, tx writer, org int64, groups []idGroup) error {
	for _, g := range groups {
		if _, err := tx.ExecContext(ctx, `INSERT INTO idfilters (org, first, end, nblocks, tier, data) VALUES (?, ?, ?, ?, ?, ?)`,
			org, g.first(), g.end(), len(g.blocks), g.tier, encodeIDFilter(org, g)); err != nil {
			return err
		}
	}
	return nil
}

// writeNodes adds a seal's hashes at nodeLevel to their rows. A row is
// only ever extended: if what it holds does not end where the run
// starts (its earlier hashes were sealed before rows were kept, or the
// row is damaged), the run's hashes in that row are not stored.
func writeNodes(ctx context.Context, tx writer, org int64, run nodeRun) error {
	for len(run.hashes) > 0 {
		idx := run.first / nodesPerRow
		k := int(min(int64(len(run.hashes)), (idx+1)*nodesPerRow-run.first))
		var row []ledger.Hash
		if run.first > idx*nodesPerRow {
			var data []byte
			err := tx.QueryRowContext(ctx, `SELECT data FROM nodes5 WHERE org = ? AND idx = ?`, org, idx).Scan(&data)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			row, _ = decodeNodes(org, idx, data)
		}
		if int64(len(row)) == run.first-idx*nodesPerRow {
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO nodes5 (org, idx, data) VALUES (?, ?, ?)`,
				org, idx, encodeNodes(org, idx, append(row, run.hashes[:k]...))); err != nil {
				return err
			}
		}
		run.first += int64(k)
		run.hashes = run.hashes[k:]
	}
	return nil
}

// nodes reads row idx of org's hashes at level (a key of nodeTables; nil
// if it is missing or damaged).
func (c *catalog) nodes(level int, org, idx int64) ([]ledger.Hash, error) {
	var data []byte
	err := c.r.QueryRow(`SELECT data FROM `+nodeTables[level]+` WHERE org = ? AND idx = ?`, org, idx).Scan(&data)
	if err != nil {
		return nil, err
	}
	row, _ := decodeNodes(org, idx, data)
	return row, nil
}

// writeEdge stores org's tree edge at its sealed size.
func writeEdge(ctx context.Context, tx writer, org int64, e *ledger.Edge) error {
	if e == nil {
		return nil
	}
	data, err := encodeEdge(org, e)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO edges (org, size, data) VALUES (?, ?, ?)`, org, e.Size(), data)
	return err
}

// repair stores the id filters, edges and block summaries Open had to
// rebuild (a catalog written before they were kept, or rows found
// damaged), so that the next Open reads them: orgs' id filters and
// edges, and the summaries of sums' blocks.
func (c *catalog) repair(ctx context.Context, orgs []*orgLog, sums []orgBlocks) error {
	if len(orgs) == 0 && len(sums) == 0 {
		return nil
	}
	tx, err := c.w.BeginTx(ctx, nil)
	if err != nil {
		return sqlite.StoreErr("storing rebuilt id filters", err)
	}
	defer tx.Rollback()
	for _, o := range orgs {
		if _, err := tx.ExecContext(ctx, `DELETE FROM idfilters WHERE org = ?`, o.num); err != nil {
			return sqlite.StoreErr("storing rebuilt id filters", err)
		}
		if err := writeIDs(ctx, tx, o.num, o.ids.groups, 0); err != nil {
			return sqlite.StoreErr("storing rebuilt id filters", err)
		}
		if err := writeEdge(ctx, tx, o.num, o.sealedEdge); err != nil {
			return sqlite.StoreErr("storing a rebuilt tree edge", err)
		}
	}
	learned := map[uint32]int64{}
	for _, ob := range sums {
		for _, b := range ob.blocks {
			ids, err := c.setIDs(ctx, tx, b)
			if err != nil {
				return sqlite.StoreErr("storing rebuilt block summaries", err)
			}
			maps.Copy(learned, ids)
			if _, err := tx.ExecContext(ctx, `UPDATE blocks SET summary = ? WHERE org = ? AND first = ?`,
				encodeSummary(ob.num, b, ids), ob.num, b.first); err != nil {
				return sqlite.StoreErr("storing rebuilt block summaries", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return sqlite.StoreErr("storing rebuilt id filters", err)
	}
	c.strs.learn(learned)
	return nil
}

// orgBlocks is blocks of one org.
type orgBlocks struct {
	num    int64
	blocks []*blockRef
}

// catalogOrg is one org as the catalog holds it.
type catalogOrg struct {
	num    int64
	name   string
	blocks []*blockRef
	sums   [][]byte // each block's stored summary (nil: none)
	daily  map[dayCat]int64
	tiles  []tileRow
	pruned int64   // P: events [0, P) were pruned (prune.go)
	ids    []idRow // as stored: checked against the blocks when used
	edge   edgeRow
}

// idRow is a stored id filter group.
type idRow struct {
	first, end int64
	nblocks    int
	tier       int
	data       []byte
}

// edgeRow is a stored tree edge.
type edgeRow struct {
	size int64
	data []byte
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
		// Again: a reader's owner may have added values since openCatalog.
		err = c.loadStrs(ctx)
	}
	if err == nil {
		err = c.each(ctx, `SELECT org, first, n, file, off, len, summary FROM blocks ORDER BY org, first`, func(r *sql.Rows) error {
			var num int64
			var sum []byte
			b := &blockRef{}
			if err := r.Scan(&num, &b.first, &b.n, &b.file, &b.off, &b.size, &sum); err != nil {
				return err
			}
			if o := orgs[num]; o != nil {
				o.blocks = append(o.blocks, b)
				o.sums = append(o.sums, sum)
			}
			return nil
		})
	}
	if err == nil {
		err = c.each(ctx, `SELECT org, span, data FROM counts`, func(r *sql.Rows) error {
			var num, span int64
			var data []byte
			if err := r.Scan(&num, &span, &data); err != nil {
				return err
			}
			if o := orgs[num]; o != nil {
				return decodeCounts(span, data, o.daily)
			}
			return nil
		})
	}
	if err == nil { // a format 1 catalog opened by a reader
		err = c.each(ctx, `SELECT org, day, category, n FROM daily`, func(r *sql.Rows) error {
			var num, n int64
			var k dayCat
			if err := r.Scan(&num, &k.day, &k.category, &n); err != nil {
				return err
			}
			if o := orgs[num]; o != nil {
				o.daily[k] += n
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
	if err == nil {
		err = c.each(ctx, `SELECT org, first, end, nblocks, tier, data FROM idfilters ORDER BY org, first`, func(r *sql.Rows) error {
			var num int64
			var row idRow
			if err := r.Scan(&num, &row.first, &row.end, &row.nblocks, &row.tier, &row.data); err != nil {
				return err
			}
			if o := orgs[num]; o != nil {
				o.ids = append(o.ids, row)
			}
			return nil
		})
	}
	if err == nil {
		err = c.each(ctx, `SELECT org, size, data FROM edges`, func(r *sql.Rows) error {
			var num int64
			var e edgeRow
			if err := r.Scan(&num, &e.size, &e.data); err != nil {
				return err
			}
			if o := orgs[num]; o != nil {
				o.edge = e
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
