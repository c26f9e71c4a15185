// SPDX-License-Identifier: Apache-2.0

// Package sqlite is Trail's embedded store: one SQLite database (WAL,
// synchronous=FULL) in a data directory, implementing audit.Store.
//
// Each org's events live together: the table's integer key is the org's
// number shifted left by 40 bits plus the event's seq, so one org's log is
// one contiguous, seq-ordered range of the table, and appends touch only
// the end of it. Several processes may open the same directory at once
// (a server and the CLI); SQLite's locking serialises their writes.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// FileName is the database file inside the data directory.
const FileName = "trail.db"

// seqBits is how many bits of an event key hold the seq.
const seqBits = 40

// Options configures Open; the zero value is the default.
type Options struct {
	// CacheMiB is the page cache of each connection; default 64.
	CacheMiB int
	// ReadConns is the number of read connections; default 4.
	ReadConns int
	// ReadOnly opens an existing database without changing it: no schema
	// change is made (an unknown schema version is refused) and every
	// connection is query-only. Converting a data directory reads its
	// source this way.
	ReadOnly bool
}

// Store is the SQLite engine. It is safe for concurrent use.
type Store struct {
	Meta // keys, viewer links and sessions; its w and r are the store's connections
	path string

	mu    sync.Mutex
	orgs  map[string]int64       // org name → number; numbers never change
	trees map[int64]*ledger.Edge // org number → tree edge after the last commit (tree.go)

	stmts writeStmts
	bulk  bulkStmts
}

// Open opens (creating if needed) the store in dir and brings its schema
// up to date.
func Open(dir string, opts Options) (*Store, error) {
	if opts.CacheMiB <= 0 {
		opts.CacheMiB = 64
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: creating data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	w, err := openDB(path, opts, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	check := migrate
	if opts.ReadOnly {
		check = checkSchema
	}
	if err := check(w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := openDB(path, opts, true)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	s := &Store{Meta: Meta{w: w, r: r}, path: path, orgs: map[string]int64{}}
	if s.bulk, err = prepareBulk(w); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: preparing statements: %w", err)
	}
	if err := s.prepare(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenDB opens the SQLite database at path the way Trail's engines use
// it: WAL, synchronous=FULL, a busy timeout; readOnly connections are
// query-only and memory-mapped, the others begin IMMEDIATE.
func OpenDB(path string, cacheMiB int, readOnly bool) (*sql.DB, error) {
	return openDB(path, Options{CacheMiB: cacheMiB}, readOnly)
}

func openDB(path string, opts Options, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", opts.CacheMiB<<10))
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", "mmap_size(8589934592)")
	} else {
		q.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	return db, nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.r.PingContext(ctx)
}

// Close closes the database. Pending writes have been committed or failed.
func (s *Store) Close() error {
	s.stmts.close()
	s.bulk.close()
	return errors.Join(s.r.Close(), s.w.Close())
}

// Analyze refreshes the query planner's statistics; run after bulk loads.
func (s *Store) Analyze(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx, "ANALYZE")
	return err
}

// orgNum returns the number of an existing org, or false.
func (s *Store) orgNum(ctx context.Context, org string) (int64, bool, error) {
	s.mu.Lock()
	n, ok := s.orgs[org]
	s.mu.Unlock()
	if ok {
		return n, true, nil
	}
	err := s.r.QueryRowContext(ctx, "SELECT num FROM orgs WHERE name = ?", org).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, storeErr("looking up org", err)
	}
	s.remember(org, n)
	return n, true, nil
}

func (s *Store) remember(org string, n int64) {
	s.mu.Lock()
	s.orgs[org] = n
	s.mu.Unlock()
}

// StoreErr wraps a database failure as an *audit.Error, the way every
// method of this package does (for engines that keep state in SQLite too).
func StoreErr(what string, err error) error { return storeErr(what, err) }

// storeErr wraps a database failure; busy and I/O failures become
// CodeUnavailable so callers are told to retry.
func storeErr(what string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
			return &audit.Error{Code: audit.CodeUnavailable, Message: "the store is unavailable; retry", Err: fmt.Errorf("%s: %w", what, err)}
		}
	}
	return &audit.Error{Code: audit.CodeInternal, Message: "internal error", Err: fmt.Errorf("%s: %w", what, err)}
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

var _ audit.Store = (*Store)(nil)

// Backup writes a consistent copy of the database to dest/trail.db (dest
// is created), with SQLite's VACUUM INTO, while other connections and
// processes read and write.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if err := os.MkdirAll(dest, 0o700); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `VACUUM INTO ?`, filepath.Join(dest, FileName)); err != nil {
		return storeErr("backup", err)
	}
	return nil
}
