// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/sqlite"
)

// fillCheckedLog fills a data directory with n events of org acme and a signed
// checkpoint at cp, through the real SQLite store and service: a data
// directory as earlier versions wrote it (schema version 1).
func fillCheckedLog(t *testing.T, dir string, n, cp int, rng *rand.Rand) {
	t.Helper()
	store, svc := openSignedSQLite(t, dir)
	defer store.Close()
	defer svc.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for done := 0; done < n; {
		b := &audit.Batch{Org: "acme"}
		for k := 1 + rng.IntN(20); k > 0 && done < n; k-- {
			b.Events = append(b.Events, &audit.Pending{Event: audit.Event{
				ID: fmt.Sprint("e", done), Org: "acme", Type: "repo.create", Category: "content",
				Actor: audit.Actor{Type: "user", ID: "u", Name: "alice"}, Description: fmt.Sprint("event number ", done),
				OccurredAt: t0, ReceivedAt: t0,
			}})
			done++
		}
		if err := store.Append(context.Background(), []*audit.Batch{b}); err != nil || b.Err != nil {
			t.Fatal(err, b.Err)
		}
	}
	if _, err := svc.CheckpointAt(context.Background(), "acme", int64(cp)); err != nil {
		t.Fatal(err)
	}
}

// openSignedSQLite opens (creating) the SQLite store in dir with a
// service that signs checkpoints with dir's key.
func openSignedSQLite(t *testing.T, dir string) (*sqlite.Store, *audit.Service) {
	t.Helper()
	store, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	integ, err := (&signingFlags{origin: "trail.test"}).integrity(dir, true, nil)
	if err != nil {
		store.Close()
		t.Fatal(err)
	}
	return store, audit.NewService(audit.Config{Store: store, Integrity: integ, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// TestCheckFindsStoredTampering applies random tamperings to the stored
// data of random logs: `trail check` must fail and name the place.
func TestCheckFindsStoredTampering(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	type tamper struct {
		name  string
		apply func(db *sql.DB, n, cp int) (want string)
	}
	exec := func(db *sql.DB, q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	tampers := []tamper{
		{"EventBytes", func(db *sql.DB, n, cp int) string {
			i := rng.IntN(n)
			exec(db, `UPDATE events SET data = replace(CAST(data AS TEXT), 'event number', 'event NUMBER') WHERE id = ?`, fmt.Sprint("e", i))
			return fmt.Sprintf(`event seq %d (id "e%d")`, i, i)
		}},
		{"TreeHash", func(db *sql.DB, n, cp int) string {
			idx := rng.Int64N(ledger.LeafIndex(int64(n - 1)))
			exec(db, `UPDATE tree SET hash = randomblob(32) WHERE idx = ?`, idx)
			level, k := ledger.SplitIndex(idx)
			seq := k<<level + 1<<level - 1
			return fmt.Sprintf(`event seq %d (id "e%d"): the tree hash at level %d`, seq, seq, level)
		}},
		{"TreeRowDeleted", func(db *sql.DB, n, cp int) string {
			exec(db, `DELETE FROM tree WHERE idx = ?`, ledger.LeafIndex(int64(rng.IntN(n))))
			return "MISMATCH acme"
		}},
		{"TruncatedLog", func(db *sql.DB, n, cp int) string {
			k := 1 + rng.IntN(cp)
			exec(db, `DELETE FROM events WHERE (k & ((1 << 40) - 1)) >= ?`, n-k-(n-cp))
			exec(db, `UPDATE orgs SET size = ? WHERE name = 'acme'`, cp-k)
			return "events were deleted"
		}},
		{"CheckpointRoot", func(db *sql.DB, n, cp int) string {
			exec(db, `UPDATE checkpoints SET root = randomblob(32)`)
			return "the signed checkpoint has"
		}},
		{"CheckpointNote", func(db *sql.DB, n, cp int) string {
			exec(db, `UPDATE checkpoints SET note = replace(note, 'trail.test/orgs/acme', 'trail.test/orgs/acmf')`)
			return "note does not verify"
		}},
	}
	for round := range 3 {
		for _, tm := range tampers {
			dir := t.TempDir()
			n := 2 + rng.IntN(300)
			cp := 1 + rng.IntN(n)
			fillCheckedLog(t, dir, n, cp, rng)
			var out, errb bytes.Buffer
			// The SQLite engine's tables are tampered with: select it.
			if code := run(context.Background(), []string{"check", "--data", dir, "--store", "sqlite:"}, &out, &errb); code != 0 {
				t.Fatalf("round %d: check of an intact log: %d\n%s%s", round, code, out.String(), errb.String())
			}
			db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
			if err != nil {
				t.Fatal(err)
			}
			want := tm.apply(db, n, cp)
			db.Close()
			out.Reset()
			errb.Reset()
			code := run(context.Background(), []string{"check", "--data", dir, "--store", "sqlite:"}, &out, &errb)
			if code != 1 || !strings.Contains(out.String(), want) {
				t.Errorf("round %d, %s (n %d, checkpoint %d): status %d, want 1 and %q in:\n%s%s", round, tm.name, n, cp, code, want, out.String(), errb.String())
			}
		}
	}
}
