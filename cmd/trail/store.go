// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"net/url"
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
		"the store: empty (default) for the embedded SQLite store in --data; log:DIR for the log engine "+
			"in DIR (log: alone: in --data; see docs/storage.md); or a PostgreSQL `URL` "+
			"(postgres://user@host:5432/db) that every replica shares; with PostgreSQL, --data keeps only "+
			"this machine's files, such as the signing key (env TRAIL_STORE)")
}

// isPostgres reports whether a --store value names PostgreSQL.
func isPostgres(store string) bool {
	return strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://")
}

// openStore opens the store that --data and --store name: PostgreSQL for
// a postgres:// URL (its schema migrated up to date), the log engine in
// DIR for "log:DIR" (in dir for "log:"), else SQLite in dir, or in DIR for
// a "sqlite:DIR" store.
func openStore(ctx context.Context, dir, store string) (audit.Store, error) {
	switch {
	case store == "":
		return sqlite.Open(dir, sqlite.Options{})
	case strings.HasPrefix(store, "sqlite:"):
		return sqlite.Open(strings.TrimPrefix(store, "sqlite:"), sqlite.Options{})
	case strings.HasPrefix(store, "log:"):
		opts, err := logOptions(store)
		if err != nil {
			return nil, err
		}
		return logstore.Open(logDir(dir, store), opts)
	case isPostgres(store):
		return postgres.Open(ctx, store, postgres.Options{})
	}
	return nil, usagef("--store %q: expected a postgres:// URL, log:DIR, sqlite:DIR, or nothing for SQLite in --data", redactURL(store))
}

// logDir is the directory of a "log:DIR[?options]" store; "log:" means
// --data.
func logDir(dir, store string) string {
	d, _, _ := strings.Cut(strings.TrimPrefix(store, "log:"), "?")
	if d != "" {
		return d
	}
	return dir
}

// logOptions reads the tuning options of a "log:DIR?block-events=N&
// page-events=N" store (docs/storage.md).
func logOptions(store string) (logstore.Options, error) {
	var opts logstore.Options
	_, query, _ := strings.Cut(store, "?")
	values, err := url.ParseQuery(query)
	if err != nil {
		return opts, usagef("--store %q: the options after ? are not a query string: %v", store, err)
	}
	for name, v := range values {
		n, err := strconv.Atoi(v[len(v)-1])
		switch {
		case err != nil || n <= 0:
			return opts, usagef("--store %q: %s must be a positive number", store, name)
		case name == "block-events" && n <= 65536:
			opts.BlockEvents = n
		case name == "page-events" && n <= 65536:
			opts.PageEvents = n
		default:
			return opts, usagef("--store %q: unknown option %q (block-events and page-events, each 1 to 65536, are known)", store, name)
		}
	}
	return opts, nil
}

// storeLabel says, for logs and messages, which engine and where, without
// a password.
func storeLabel(dir, store string) (engine, where string) {
	switch {
	case isPostgres(store):
		return "postgres", redactURL(store)
	case strings.HasPrefix(store, "sqlite:"):
		dir = strings.TrimPrefix(store, "sqlite:")
	case strings.HasPrefix(store, "log:"):
		return "log", logDir(dir, store)
	}
	return "sqlite", dir
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
