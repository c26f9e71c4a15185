// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/trailaudit/trail/internal/ledger"
)

const backupUsage = `[--data DIR] [--store log:DIR|sqlite:DIR] DEST

Writes a consistent copy of an embedded store (SQLite or the log engine)
into the new directory DEST, while trail serve runs on it, with the
signing key of --data. "trail check --data DEST" checks the copy and
"trail serve --data DEST" (with --store sqlite: for a SQLite copy) starts
from it. To copy a SQLite data directory of an earlier version as it is,
before it is converted, use --store sqlite:DIR. PostgreSQL is backed up
with its own tools (pg_dump).`

// backuper is an engine that can copy itself while in use.
type backuper interface {
	Backup(ctx context.Context, dest string) error
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backup", backupUsage, stderr)
	data, storeURL := dataFlag(fs), storeFlag(fs)
	rest, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef("DEST is required: the new directory to write the copy into")
	}
	dest := rest[0]
	if isPostgres(*storeURL) {
		return usagef("trail backup copies embedded stores; back PostgreSQL up with pg_dump")
	}
	if ents, err := os.ReadDir(dest); err == nil && len(ents) > 0 {
		return usagef("%s is not empty: back up into a new directory", dest)
	}
	store, err := openStore(ctx, *data, *storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	b, ok := store.(backuper)
	if !ok {
		return fmt.Errorf("this store cannot back itself up")
	}
	if err := b.Backup(ctx, dest); err != nil {
		return err
	}
	key := filepath.Join(*data, ledger.KeyFile)
	if _, err := os.Stat(key); err == nil {
		if err := copyKey(key, filepath.Join(dest, ledger.KeyFile)); err != nil {
			return err
		}
	}
	engine, _ := storeLabel(*data, *storeURL)
	fmt.Fprintf(stderr, "backed up the %s store into %s\n", engine, dest)
	return nil
}

func copyKey(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		return errors.Join(err, os.Remove(dst))
	}
	return nil
}
