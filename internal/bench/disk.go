// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/geo"
)

// diskPhase measures bytes per event: the store under test after sealing
// (every org it holds), and a store of the same engine holding only the
// demo org.
func (r *run) diskPhase(ctx context.Context) error {
	store, err := r.o.Open(ctx)
	if err != nil {
		return err
	}
	events, err := sealAndCount(ctx, r, store, "before measuring disk")
	if err != nil {
		store.Close()
		return err
	}
	pgBytes, err := databaseBytes(ctx, store)
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	bytes, where := pgBytes, "the PostgreSQL database"
	if r.o.DataDir != "" {
		where = "every file under the data directory"
		if bytes, err = dirBytes(r.o.DataDir); err != nil {
			return err
		}
	}
	r.report.add(row{
		name:   fmt.Sprintf("disk: %s, all %d orgs", where, len(r.orgs)),
		trail:  fmt.Sprintf("%s bytes/event (%s for %s events)", perEvent(bytes, events), mib(bytes>>10), count(events)),
		base:   fmt.Sprintf("%s bytes/row (%s rows)", perEvent(r.baselineBytes, r.baselineRows), count(r.baselineRows)),
		ratio:  ratio(float64(bytes)/float64(max(events, 1)), float64(r.baselineBytes)/float64(max(r.baselineRows, 1))),
		target: "≤ 100 bytes/event",
	})
	return r.demoDisk(ctx)
}

// demoDisk loads the demo org alone into an empty store of the same
// engine and measures its bytes per event.
func (r *run) demoDisk(ctx context.Context) error {
	if r.o.OpenEmpty == nil {
		r.report.add(row{name: "disk: demo org", trail: "not measured: the store is shared (PostgreSQL)"})
		return nil
	}
	r.progress("disk: loading the demo org into an empty store")
	dir := filepath.Join(r.o.WorkDir, "demo-store")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	store, err := r.o.OpenEmpty(ctx, dir)
	if err != nil {
		return err
	}
	events, err := loadDemo(ctx, r, store)
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	bytes, err := dirBytes(dir)
	if err != nil {
		return err
	}
	r.report.add(row{
		name:  "disk: demo org (internal/demo) alone in an empty data directory",
		trail: fmt.Sprintf("%s bytes/event (%s for %s events)", perEvent(bytes, events), mib(bytes>>10), count(events)),
	})
	return nil
}

func loadDemo(ctx context.Context, r *run, store audit.Store) (int64, error) {
	locator, err := geo.Open(r.geo)
	if err != nil {
		return 0, err
	}
	defer locator.Close()
	svc := audit.NewService(audit.Config{Store: store, Locator: locator, Logger: discardLogger()})
	defer svc.Close()
	for batch := range demo.Batches(demo.Options{Events: r.o.DemoEvents}) {
		if _, err := svc.Ingest(ctx, demo.DefaultOrg, batch); err != nil {
			return 0, fmt.Errorf("loading the demo org: %w", err)
		}
	}
	return sealAndCount(ctx, r, store, "after loading the demo org")
}

// sealAndCount seals the store if it can and counts the events of every
// org in it.
func sealAndCount(ctx context.Context, r *run, store audit.Store, when string) (int64, error) {
	if err := r.seal(ctx, store, when); err != nil {
		return 0, err
	}
	orgs, err := store.Orgs(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, org := range orgs {
		size, err := store.Size(ctx, org)
		if err != nil {
			return 0, err
		}
		n += size
	}
	return n, nil
}

// databaseBytes is the size of the PostgreSQL database the store uses, or
// 0 for any other store.
func databaseBytes(ctx context.Context, store audit.Store) (int64, error) {
	pg, ok := store.(interface{ Pool() *pgxpool.Pool })
	if !ok {
		return 0, nil
	}
	var n int64
	err := pg.Pool().QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, err
}

// dirBytes sums the sizes of every file under dir.
func dirBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		total += fi.Size()
		return nil
	})
	return total, err
}

func perEvent(bytes, events int64) string {
	if events <= 0 {
		return "-"
	}
	return count(bytes / events)
}
