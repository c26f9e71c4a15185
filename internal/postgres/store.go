// SPDX-License-Identifier: Apache-2.0

// Package postgres is Trail's scale-out store: PostgreSQL through a pgx
// connection pool, implementing audit.Store. Several `trail serve`
// replicas may share one database.
//
// Each org's log is sequenced under a row lock: every Append locks the
// orgs rows it writes (SELECT … FOR UPDATE, in name order so replicas never
// deadlock), reads their sizes, resolves retried ids and writes the new
// events with the next seqs, all in one transaction committed with
// synchronous_commit on. Replicas writing one org therefore take turns,
// and the org's seqs stay dense and unique.
//
// Events and their refs are partitioned by month of received_at (Trail's
// clock), so retention can drop whole months; the ids table, unpartitioned,
// keeps (org, id) and (org, seq) unique across partitions. Events are kept
// as their exact canonical bytes (bytea), never jsonb. The schema comes
// from embedded migrations (migrate.go). See docs/postgres.md.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// Options configures Open; the zero value is the default.
type Options struct {
	// MaxConns is the most connections the pool opens; default 8.
	MaxConns int
	// Schema holds Trail's tables; default the connection's search_path
	// (normally "public"). Tests use one schema per store.
	Schema string
	// SkipMigrate opens without applying migrations; the schema must then
	// be at this binary's version already (`trail migrate` applies it).
	SkipMigrate bool
}

// Store is the PostgreSQL engine. It is safe for concurrent use, also by
// several processes on one database.
type Store struct {
	pool *pgxpool.Pool

	mu    sync.Mutex
	orgs  map[string]int64       // org name → number; numbers never change
	trees map[int64]*ledger.Edge // org number → tree edge after this process's last commit
	parts map[int64]bool         // months (first day, Unix micros) whose partitions exist
}

// Open connects to the database at url (postgres://…), brings its schema
// up to date (unless opts.SkipMigrate) and returns the store. A database
// whose schema is newer than this binary knows is refused.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	cfg, err := poolConfig(url, opts)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connecting: %w", err)
	}
	s := &Store{pool: pool, orgs: map[string]int64{}, trees: map[int64]*ledger.Edge{}, parts: map[int64]bool{}}
	if err := createSchema(ctx, pool, opts); err != nil {
		pool.Close()
		return nil, err
	}
	if opts.SkipMigrate {
		err = checkVersion(ctx, pool)
	} else {
		_, _, err = migrate(ctx, pool)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func poolConfig(url string, opts Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: bad connection URL: %s", redactErr(err))
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 8
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = int32(opts.MaxConns)
	}
	cfg.HealthCheckPeriod = 5 * time.Second
	cfg.MaxConnIdleTime = 5 * time.Minute
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	rp := cfg.ConnConfig.RuntimeParams
	// Acknowledged means durable: whatever the server's default, a
	// commit returns only once its WAL is flushed.
	rp["synchronous_commit"] = "on"
	if rp["application_name"] == "" {
		rp["application_name"] = "trail"
	}
	if opts.Schema != "" {
		rp["search_path"] = pgx.Identifier{opts.Schema}.Sanitize() + ", public"
	}
	return cfg, nil
}

// createSchema creates opts.Schema when it is set and missing.
func createSchema(ctx context.Context, pool *pgxpool.Pool, opts Options) error {
	if opts.Schema == "" || opts.SkipMigrate {
		return nil
	}
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{opts.Schema}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: creating schema %s: %w", opts.Schema, err)
	}
	return nil
}

// redactErr keeps a password in a URL out of messages.
func redactErr(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		if j := strings.Index(msg[i:], "@"); j >= 0 {
			return msg[:i+3] + "…" + msg[i+j:]
		}
	}
	return msg
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return storeErr("ping", err)
	}
	return nil
}

// Close closes the pool's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool returns the connection pool, for tools and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Analyze refreshes the planner's statistics; run after bulk loads.
func (s *Store) Analyze(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, "ANALYZE"); err != nil {
		return storeErr("analyze", err)
	}
	return nil
}

// orgNum returns the number of an existing org, or false.
func (s *Store) orgNum(ctx context.Context, org string) (int64, bool, error) {
	s.mu.Lock()
	n, ok := s.orgs[org]
	s.mu.Unlock()
	if ok {
		return n, true, nil
	}
	err := s.pool.QueryRow(ctx, "SELECT num FROM orgs WHERE name = $1", org).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
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

// storeErr wraps a database failure. A lost or refused connection, a
// server shutting down or starting, and a transaction the server chose to
// abort (deadlock, serialization) become CodeUnavailable, which the API
// answers with 503 and Retry-After; the pool replaces broken connections
// by itself. Anything else is CodeInternal.
func storeErr(what string, err error) error {
	var ae *audit.Error
	if errors.As(err, &ae) {
		return err
	}
	code := audit.CodeInternal
	msg := "internal error"
	if transient(err) {
		code, msg = audit.CodeUnavailable, "the store is unavailable; retry"
	}
	return &audit.Error{Code: code, Message: msg, Err: fmt.Errorf("postgres: %s: %w", what, err)}
}

// transient reports whether err is a failure that a retry may not meet.
func transient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),       // insufficient resources
			strings.HasPrefix(pe.Code, "57P"),      // operator intervention: shutdown, cannot connect now
			pe.Code == "40001", pe.Code == "40P01", // serialization failure, deadlock
			pe.Code == "55P03", pe.Code == "57014": // lock not available, query cancelled
			return true
		}
		return false
	}
	// Without a server error, the connection itself failed (refused,
	// reset, closed pool, timeout) or the caller gave up.
	return true
}

func internalErr(format string, args ...any) error {
	return &audit.Error{Code: audit.CodeInternal, Message: "internal error", Err: fmt.Errorf("postgres: "+format, args...)}
}

var _ audit.Store = (*Store)(nil)
