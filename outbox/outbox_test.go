// SPDX-License-Identifier: Apache-2.0

package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/postgres/pgtest"
	"github.com/trailaudit/trail/internal/trailtest"
	"github.com/trailaudit/trail/outbox"
	"github.com/trailaudit/trail/producer"
)

func TestMain(m *testing.M) { os.Exit(trailtest.Main(m)) }

// database is one of the databases the outbox is tested with.
type database struct {
	name string
	open func(t *testing.T) (*sql.DB, outbox.Dialect)
}

var databases = []database{
	{"SQLite", func(t *testing.T) (*sql.DB, outbox.Dialect) {
		dsn := "file:" + filepath.Join(t.TempDir(), "app.db") + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
		return openDB(t, "sqlite", dsn), outbox.SQLite
	}},
	{"PostgreSQL", func(t *testing.T) (*sql.DB, outbox.Dialect) {
		return openDB(t, "pgx", pgtest.NewDatabase(t)), outbox.PostgreSQL
	}},
}

func openDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := outbox.CreateTable(context.Background(), db, dialectOf(driver)); err != nil {
		t.Fatal(err)
	}
	// The application's own table, written in the same transactions.
	if _, err := db.Exec("CREATE TABLE repos (name TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	return db
}

func dialectOf(driver string) outbox.Dialect {
	if driver == "pgx" {
		return outbox.PostgreSQL
	}
	return outbox.SQLite
}

// env is a Trail, a producer and a relay over one database.
type env struct {
	db    *sql.DB
	trail *trailtest.Server
	key   string
	p     *producer.Producer
	relay *outbox.Relay
}

func newEnv(t *testing.T, d database) *env {
	t.Helper()
	db, _ := d.open(t)
	data := t.TempDir()
	key := trailtest.CreateKey(t, data, "admin")
	srv := trailtest.Start(t, data, "")
	p, err := producer.Open(producer.Config{URL: srv.Base, Key: key, Org: "acme", SpoolDir: t.TempDir(), MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return &env{db: db, trail: srv, key: key, p: p, relay: &outbox.Relay{DB: db, Producer: p}}
}

// createRepo is an application action: it inserts a repo and its audit
// event in one transaction, and commits only when commit is true.
func (e *env) createRepo(ctx context.Context, name string, commit bool, opts ...outbox.Option) error {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO repos (name) VALUES ($1)", name); err != nil {
		return err
	}
	ev := client.Event{
		ID: "ob-" + name, Type: "repo.create",
		Actor:    client.Actor{Type: "user", ID: "u1", Name: "alice"},
		Targets:  []client.Target{{Type: "repo", ID: name, Name: "acme/" + name}},
		Metadata: map[string]any{"big": int64(1<<53 + 1)},
	}
	if err := outbox.Add(ctx, tx, ev, opts...); err != nil {
		return err
	}
	if !commit {
		return tx.Rollback()
	}
	return tx.Commit()
}

// relayAll relays until the outbox is empty and Trail has everything.
func (e *env) relayAll(t *testing.T, ctx context.Context) {
	t.Helper()
	for {
		n, err := e.relay.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if err := e.p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func forEachDB(t *testing.T, f func(t *testing.T, e *env)) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) { f(t, newEnv(t, d)) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestRollbackSendsNothing: a rolled-back transaction sends nothing; a
// committed one arrives, in commit order, with its metadata intact.
func TestRollbackSendsNothing(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := ctxT(t)
		var want []string
		for i := 0; i < 12; i++ {
			name := "r" + strconv.Itoa(i)
			commit := i%3 != 1
			if err := e.createRepo(ctx, name, commit); err != nil {
				t.Fatal(err)
			}
			if commit {
				want = append(want, "ob-"+name)
			}
		}
		e.relayAll(t, ctx)
		got := trailtest.All(t, e.trail.Base, e.key, "acme")
		if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
			t.Fatalf("Trail has %v, want %v", ids(got), want)
		}
		if m := fmt.Sprint(got[0].Metadata["big"]); m != "9007199254740993" {
			t.Errorf("metadata big = %s", m)
		}
		var unsent int
		e.db.QueryRow("SELECT COUNT(*) FROM " + outbox.Table + " WHERE sent_at IS NULL").Scan(&unsent)
		if unsent != 0 {
			t.Fatalf("%d rows not marked sent", unsent)
		}
	})
}

// TestCommittedAlwaysArrives: concurrent transactions, some rolled back
// and some failing, while the relay runs; every committed event arrives
// exactly once, each in its org, and relaying everything again (as after
// a crash before marking) stores nothing twice.
func TestCommittedAlwaysArrives(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := ctxT(t)
		runCtx, stop := context.WithCancel(ctx)
		relayDone := make(chan error, 1)
		go func() { relayDone <- e.relay.Run(runCtx) }()
		var mu sync.Mutex
		committed := map[string]bool{}
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 15; i++ {
					name := fmt.Sprintf("g%d-%d", g, i)
					commit := (g+i)%4 != 0
					err := e.createRepo(ctx, name, commit, outbox.Org("org-"+strconv.Itoa(g%2)))
					if err != nil {
						t.Errorf("%s: %v", name, err)
						continue
					}
					if commit {
						mu.Lock()
						committed["ob-"+name] = true
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		// A failing action: the repo exists, so the tx aborts with its event.
		if err := e.createRepo(ctx, "g0-1", true); err == nil {
			t.Fatal("a duplicate repo committed")
		}
		stop()
		if err := <-relayDone; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
		e.relayAll(t, ctx)
		if _, err := e.db.Exec("UPDATE " + outbox.Table + " SET sent_at = NULL"); err != nil {
			t.Fatal(err)
		}
		e.relayAll(t, ctx)
		seen := map[string]int{}
		for _, org := range []string{"org-0", "org-1"} {
			for _, ev := range trailtest.All(t, e.trail.Base, e.key, org) {
				seen[ev.ID]++
				if g := ev.ID[4:5]; "org-"+strconv.Itoa(int(g[0]-'0')%2) != org {
					t.Errorf("%s in %s", ev.ID, org)
				}
			}
		}
		if len(seen) != len(committed) {
			t.Errorf("Trail has %d events, %d were committed", len(seen), len(committed))
		}
		for id := range committed {
			if seen[id] != 1 {
				t.Errorf("committed %s stored %d times", id, seen[id])
			}
		}
	})
}

func ids(events []trailtest.Stored) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}
