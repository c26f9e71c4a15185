// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/sqlite"
)

// dataMarkers are the files whose presence shows that a directory holds
// Trail data: an embedded store (the log engine's catalog, or SQLite's
// database), or (with PostgreSQL) the signing key.
var dataMarkers = []string{logstore.CatalogFile, sqlite.FileName, ledger.KeyFile}

// openExisting opens the store of a command that reads or changes data
// that must already exist (check, export, link, keys list|revoke, …).
// Only serve, keys create and the migration commands create a store: a
// --data that holds no Trail data (a typo, a wrong working directory) is a
// usage error (exit 2) saying so, never a new, empty store that "checks"
// or "exports" nothing.
func openExisting(ctx context.Context, dir, store string) (audit.Store, error) {
	if err := requireData(dir, store); err != nil {
		return nil, err
	}
	return openStore(ctx, dir, store)
}

// requireData checks that the embedded store that dir and store name
// exists. PostgreSQL stores are not checked here: opening one creates
// nothing on this machine.
func requireData(dir, store string) error {
	spec, err := parseStore(dir, store)
	if err != nil || spec.engine == enginePostgres {
		return err
	}
	return requireDataDir(spec.dir)
}

// requireDataDir checks that dir holds one of the dataMarkers.
func requireDataDir(dir string) error {
	for _, m := range dataMarkers {
		if _, err := os.Stat(filepath.Join(dir, m)); err == nil {
			return nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return usagef("no Trail data in %s: check --data (env TRAIL_DATA) or --store; only trail serve, trail keys create and the migration commands create a data directory", abs)
}

// parseAndOpen parses a command's flags (no positional argument) and opens
// the existing store that --data and --store name.
func parseAndOpen(ctx context.Context, fs *flag.FlagSet, args []string, data, store *string) (audit.Store, error) {
	if _, err := parse(fs, args, 0); err != nil {
		return nil, err
	}
	return openExisting(ctx, *data, *store)
}
