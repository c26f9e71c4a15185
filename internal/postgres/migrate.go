// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The schema is a list of embedded SQL files, migrations/NNNN_name.sql,
// applied in order, each once, recorded in schema_version. A small
// hand-written runner instead of a migration library: one dialect, a
// handful of files, and what matters here (an advisory lock so replicas
// starting together migrate once, refusing a newer schema) is ten lines.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() []migration {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		panic(err)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic("postgres: bad migration file name " + e.Name())
		}
		b, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			panic(err)
		}
		out = append(out, migration{v, e.Name(), string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out
}

// SchemaVersion is the newest schema this binary knows.
func SchemaVersion() int {
	m := migrations()
	return m[len(m)-1].version
}

const versionTable = `CREATE TABLE IF NOT EXISTS schema_version (
	version    integer PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// migrate applies the missing migrations in one transaction, under an
// advisory lock per schema, and returns the versions before and after.
func migrate(ctx context.Context, pool *pgxpool.Pool) (from, to int, err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: migrating: %w", err)
	}
	defer tx.Rollback(ctx)
	var schema string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return 0, 0, fmt.Errorf("postgres: migrating: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("trail migrate " + schema))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return 0, 0, fmt.Errorf("postgres: migrating: %w", err)
	}
	if _, err := tx.Exec(ctx, versionTable); err != nil {
		return 0, 0, fmt.Errorf("postgres: migrating: %w", err)
	}
	if from, err = currentVersion(ctx, tx); err != nil {
		return 0, 0, err
	}
	to = from
	for _, m := range migrations() {
		if m.version <= from {
			continue
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return 0, 0, fmt.Errorf("postgres: applying migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, m.version); err != nil {
			return 0, 0, fmt.Errorf("postgres: applying migration %s: %w", m.name, err)
		}
		to = m.version
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, fmt.Errorf("postgres: migrating: %w", err)
	}
	return from, to, nil
}

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// currentVersion reads the schema version and refuses a newer one.
func currentVersion(ctx context.Context, q queryRower) (int, error) {
	var v int
	if err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: reading the schema version: %w", err)
	}
	if known := SchemaVersion(); v > known {
		return 0, fmt.Errorf("postgres: the database has schema version %d but this trail binary knows up to %d: upgrade trail", v, known)
	}
	return v, nil
}

// checkVersion requires the schema to be exactly this binary's.
func checkVersion(ctx context.Context, pool *pgxpool.Pool) error {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil {
		return storeErr("reading the schema version", err)
	}
	if !exists {
		return errors.New("postgres: the database has no Trail schema: run trail migrate")
	}
	v, err := currentVersion(ctx, pool)
	if err != nil {
		return err
	}
	if v < SchemaVersion() {
		return fmt.Errorf("postgres: the database has schema version %d, this trail binary needs %d: run trail migrate", v, SchemaVersion())
	}
	return nil
}

// Migrate brings the schema of the database at url up to date and returns
// the versions before and after; for `trail migrate`.
func Migrate(ctx context.Context, url string, opts Options) (from, to int, err error) {
	cfg, err := poolConfig(url, opts)
	if err != nil {
		return 0, 0, err
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: connecting: %w", err)
	}
	defer pool.Close()
	if err := createSchema(ctx, pool, opts); err != nil {
		return 0, 0, err
	}
	return migrate(ctx, pool)
}
