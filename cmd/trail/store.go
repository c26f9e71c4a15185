// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"net/url"
	"strings"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/postgres"
	"github.com/trailaudit/trail/internal/sqlite"
)

// storeFlag registers --store (env TRAIL_STORE): where the events live.
func storeFlag(fs *flag.FlagSet) *string {
	return fs.String("store", env("TRAIL_STORE", ""),
		"the store: empty (default) for the embedded SQLite store in --data, or a PostgreSQL `URL` "+
			"(postgres://user@host:5432/db) that every replica shares; with PostgreSQL, --data keeps only "+
			"this machine's files, such as the signing key (env TRAIL_STORE)")
}

// isPostgres reports whether a --store value names PostgreSQL.
func isPostgres(store string) bool {
	return strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://")
}

// openStore opens the store that --data and --store name: PostgreSQL for
// a postgres:// URL (its schema migrated up to date), else SQLite in dir,
// or in DIR for a "sqlite:DIR" store.
func openStore(ctx context.Context, dir, store string) (audit.Store, error) {
	switch {
	case store == "":
		return sqlite.Open(dir, sqlite.Options{})
	case strings.HasPrefix(store, "sqlite:"):
		return sqlite.Open(strings.TrimPrefix(store, "sqlite:"), sqlite.Options{})
	case isPostgres(store):
		return postgres.Open(ctx, store, postgres.Options{})
	}
	return nil, usagef("--store %q: expected a postgres:// URL, sqlite:DIR, or nothing for SQLite in --data", redactURL(store))
}

// storeLabel says, for logs and messages, which engine and where, without
// a password.
func storeLabel(dir, store string) (engine, where string) {
	switch {
	case isPostgres(store):
		return "postgres", redactURL(store)
	case strings.HasPrefix(store, "sqlite:"):
		dir = strings.TrimPrefix(store, "sqlite:")
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
