// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/trailaudit/trail/internal/postgres"
)

// runMigrate applies PostgreSQL schema migrations: `trail serve` does it
// at start too; this lets an operator do it first, once, before starting
// replicas of a new version.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "--store postgres://…", stderr)
	store := storeFlag(fs)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if !isPostgres(*store) {
		return usagef("--store (or TRAIL_STORE) must be a postgres:// URL: the embedded engines migrate themselves when opened")
	}
	from, to, err := postgres.Migrate(ctx, *store, postgres.Options{})
	if err != nil {
		return err
	}
	if from == to {
		fmt.Fprintf(stderr, "schema is up to date (version %d)\n", to)
	} else {
		fmt.Fprintf(stderr, "schema migrated from version %d to %d\n", from, to)
	}
	return nil
}
