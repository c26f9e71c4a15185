// SPDX-License-Identifier: Apache-2.0

package main

import (
	"cmp"
	"context"
	"flag"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/postgres"
	"github.com/trailaudit/trail/internal/sqlite"
)

// storeFlag registers --store (env TRAIL_STORE): where the events live.
func storeFlag(fs *flag.FlagSet) *string {
	return fs.String("store", env("TRAIL_STORE", ""),
		"the store: empty (default) for the embedded log engine in --data (a SQLite data directory of an "+
			"earlier version found there is converted first; docs/storage.md); log:DIR for the log engine in "+
			"DIR (log: alone: in --data; tuning after ?: block-events=N, page-events=N, page-level=default|better|fast, "+
			"docs/storage.md); sqlite:DIR for the SQLite engine in DIR (sqlite: alone: in --data), "+
			"kept selectable for now; or a PostgreSQL `URL` (postgres://user@host:5432/db) that every replica "+
			"shares; with PostgreSQL, --data keeps only this machine's files, such as the signing key (env TRAIL_STORE)")
}

// isPostgres reports whether a --store value names PostgreSQL.
func isPostgres(store string) bool {
	return strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://")
}

// The engines a --store value selects.
const (
	engineLog      = "log"
	engineSQLite   = "sqlite"
	enginePostgres = "postgres"
)

// storeSpec is what --data and --store select: an engine and where.
type storeSpec struct {
	engine string
	dir    string // the directory of an embedded engine
	url    string // PostgreSQL's URL
	log    logstore.Options
}

// parseStore reads --store against --data (dir): "" and "log:" are the
// log engine in dir, "log:DIR" in DIR, "sqlite:" and "sqlite:DIR" the
// SQLite engine, a postgres:// URL PostgreSQL.
func parseStore(dir, store string) (storeSpec, error) {
	switch {
	case store == "":
		return storeSpec{engine: engineLog, dir: dir}, nil
	case strings.HasPrefix(store, "log:"):
		opts, err := logOptions(store)
		return storeSpec{engine: engineLog, dir: logDir(dir, store), log: opts}, err
	case strings.HasPrefix(store, "sqlite:"):
		return storeSpec{engine: engineSQLite, dir: cmp.Or(strings.TrimPrefix(store, "sqlite:"), dir)}, nil
	case isPostgres(store):
		return storeSpec{engine: enginePostgres, url: store}, nil
	}
	return storeSpec{}, usagef("--store %q: expected nothing (the log engine in --data), log:DIR, sqlite:DIR or a postgres:// URL", redactURL(store))
}

// openStore opens the store that --data and --store name: the log engine
// (converting a SQLite data directory it finds there first: convert.go),
// the SQLite engine, or PostgreSQL with its schema migrated up to date.
func openStore(ctx context.Context, dir, store string) (audit.Store, error) {
	spec, err := parseStore(dir, store)
	if err != nil {
		return nil, err
	}
	switch spec.engine {
	case engineLog:
		return openLog(ctx, spec.dir, spec.log, slog.Default())
	case engineSQLite:
		if err := refuseConverted(spec.dir); err != nil {
			return nil, err
		}
		return sqlite.Open(spec.dir, sqlite.Options{})
	}
	return postgres.Open(ctx, spec.url, postgres.Options{})
}

// logDir is the directory of a "log:DIR[?options]" store; "log:" means
// --data.
func logDir(dir, store string) string {
	d, _, _ := strings.Cut(strings.TrimPrefix(store, "log:"), "?")
	return cmp.Or(d, dir)
}

// logOptions reads the tuning options of a "log:DIR?block-events=N&
// page-events=N&page-level=L" store (docs/storage.md).
func logOptions(store string) (logstore.Options, error) {
	var opts logstore.Options
	_, query, _ := strings.Cut(store, "?")
	values, err := url.ParseQuery(query)
	if err != nil {
		return opts, usagef("--store %q: the options after ? are not a query string: %v", store, err)
	}
	for name, v := range values {
		if name == "page-level" {
			if opts.PageLevel, err = logstore.ParsePageLevel(v[len(v)-1]); err != nil {
				return opts, usagef("--store %q: page-level must be default (the default), better or fast", store)
			}
			continue
		}
		n, err := strconv.Atoi(v[len(v)-1])
		switch {
		case (name == "block-events" || name == "page-events") && (err != nil || n <= 0 || n > 65536):
			return opts, usagef("--store %q: %s must be a number from 1 to 65536", store, name)
		case name == "block-events":
			opts.BlockEvents = n
		case name == "page-events":
			opts.PageEvents = n
		default:
			return opts, usagef("--store %q: unknown option %q (block-events and page-events, each 1 to 65536, and page-level, default, better or fast, are known)", store, name)
		}
	}
	return opts, nil
}

// storeLabel says, for logs and messages, which engine and where, without
// a password.
func storeLabel(dir, store string) (engine, where string) {
	spec, err := parseStore(dir, store)
	switch {
	case err != nil:
		return "unknown", redactURL(store)
	case spec.engine == enginePostgres:
		return enginePostgres, redactURL(store)
	}
	return spec.engine, spec.dir
}

// sameDir reports whether two paths name the same directory.
func sameDir(a, b string) bool {
	return filepath.Clean(a) == filepath.Clean(b)
}

// redactURL hides a URL's password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// agreeSigner makes sure, on PostgreSQL, that this replica signs
// checkpoints with the key every other replica of the database uses.
func agreeSigner(ctx context.Context, store audit.Store, integ audit.IntegrityConfig) error {
	pg, ok := store.(*postgres.Store)
	if !ok || integ.Signer == nil {
		return nil
	}
	return pg.AgreeSigner(ctx, integ.Signer.VerifierKey(), integ.Trusted)
}
