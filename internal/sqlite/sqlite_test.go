// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/sqlite"
	"github.com/trailaudit/trail/internal/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) audit.Store {
		return open(t, t.TempDir())
	})
}

func open(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)

func event(org, id string, n int) *audit.Pending {
	return &audit.Pending{Event: audit.Event{
		ID: id, Org: org, Type: "repo.create", Category: "content",
		Actor:       audit.Actor{Type: "user", ID: "u-alice", Name: "alice"},
		Targets:     []audit.Target{{Type: "repo", ID: "r-llama", Name: org + "/llama"}},
		Description: "alice created " + org + "/llama",
		OccurredAt:  t0.Add(time.Duration(n) * time.Hour),
		ReceivedAt:  t0.Add(time.Duration(n)*time.Hour + time.Second),
	}, Hash: [32]byte{byte(n), byte(n >> 8), 1}}
}

func mustAppend(t *testing.T, s audit.Store, org string, evs ...*audit.Pending) []int64 {
	t.Helper()
	b := &audit.Batch{Org: org, Events: evs}
	if err := s.Append(t.Context(), []*audit.Batch{b}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if b.Err != nil {
		t.Fatalf("Append: batch Err = %v", b.Err)
	}
	seqs := make([]int64, len(b.Results))
	for i, r := range b.Results {
		seqs[i] = r.Seq
	}
	return seqs
}

// everything is what a store shows of org, for comparing before and after.
type everything struct {
	size   int64
	events [][]byte
	days   []audit.DayCount
}

func snapshot(t *testing.T, s audit.Store, org string) everything {
	t.Helper()
	ctx := t.Context()
	var e everything
	var err error
	if e.size, err = s.Size(ctx, org); err != nil {
		t.Fatal(err)
	}
	err = s.Scan(ctx, org, 0, e.size, audit.Filter{}, func(_ int64, data []byte) error {
		e.events = append(e.events, bytes.Clone(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.days, err = s.DailyCounts(ctx, org, t0.AddDate(-1, 0, 0), t0.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	mustAppend(t, s, "acme", event("acme", "a0", 0), event("acme", "a1", 30))
	mustAppend(t, s, "beta", event("beta", "b0", 1))
	mustAppend(t, s, "acme", event("acme", "a2", 2))
	hash := audit.HashSecret("trail_reopen_secret")
	key := audit.Key{ID: "key_r", Name: "r", Scope: audit.ScopeRead, Org: "acme", CreatedAt: t0}
	if err := s.CreateKey(ctx, key, hash); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchKey(ctx, key.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	before := map[string]everything{"acme": snapshot(t, s, "acme"), "beta": snapshot(t, s, "beta")}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t, dir)
	for org, want := range before {
		if got := snapshot(t, s, org); !equalEverything(got, want) {
			t.Errorf("%s after reopening: got %+v, want %+v", org, got, want)
		}
	}
	orgs, err := s.Orgs(ctx)
	if err != nil || !slices.Equal(orgs, []string{"acme", "beta"}) {
		t.Errorf("Orgs after reopening = %v, %v; want [acme beta]", orgs, err)
	}
	k, err := s.KeyByHash(ctx, hash)
	if err != nil || k.ID != key.ID || !k.LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("KeyByHash after reopening = %+v, %v; want %s last used %v", k, err, key.ID, t0.Add(time.Minute))
	}
	p, err := s.Query(ctx, "acme", audit.Query{Filter: audit.Filter{Terms: []audit.Term{{Field: audit.FieldText, Value: "llama"}}}, Before: -1, After: -1, Limit: 10})
	if err != nil || !slices.Equal(p.Seqs, []int64{2, 1, 0}) {
		t.Errorf("text Query after reopening = %v, %v; want [2 1 0]", p.Seqs, err)
	}
	// The log goes on where it stopped, and retries still resolve.
	if got := mustAppend(t, s, "acme", event("acme", "a1", 30), event("acme", "a3", 3)); !slices.Equal(got, []int64{1, 3}) {
		t.Errorf("seqs after reopening = %v, want [1 3]", got)
	}
}

func equalEverything(a, b everything) bool {
	return a.size == b.size &&
		slices.EqualFunc(a.events, b.events, bytes.Equal) &&
		slices.EqualFunc(a.days, b.days, func(x, y audit.DayCount) bool {
			return x.Day.Equal(y.Day) && x.Category == y.Category && x.Count == y.Count
		})
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	mustAppend(t, s, "acme", event("acme", "a0", 0))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(dir, sqlite.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of a database with schema version 99: err = nil, want a refusal")
	}
	for _, want := range []string{"schema version 99", "upgrade"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open error %q does not say %q", err, want)
		}
	}
}

// TestTwoStoresOneDirectory is a server and the CLI on one data directory.
func TestTwoStoresOneDirectory(t *testing.T) {
	dir := t.TempDir()
	stores := []*sqlite.Store{open(t, dir), open(t, dir)}
	const appends, per = 40, 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]map[int64]string{"acme": {}, "beta": {}}
	for si, s := range stores {
		wg.Go(func() {
			for i := range appends {
				var bs []*audit.Batch
				for _, org := range []string{"acme", "beta"} {
					b := &audit.Batch{Org: org}
					for j := range per {
						b.Events = append(b.Events, event(org, fmt.Sprintf("s%d-%d-%d", si, i, j), i))
					}
					bs = append(bs, b)
				}
				if err := s.Append(t.Context(), bs); err != nil {
					t.Errorf("store %d: Append: %v", si, err)
					return
				}
				mu.Lock()
				for _, b := range bs {
					if b.Err != nil {
						t.Errorf("store %d: batch Err: %v", si, b.Err)
						continue
					}
					for _, r := range b.Results {
						if prev, dup := seen[b.Org][r.Seq]; dup {
							t.Errorf("%s: seq %d given to %s and %s", b.Org, r.Seq, prev, r.ID)
						}
						seen[b.Org][r.Seq] = r.ID
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	const n = 2 * appends * per
	for _, org := range []string{"acme", "beta"} {
		for si, s := range stores {
			if got := snapshot(t, s, org); got.size != n || len(got.events) != n {
				t.Errorf("store %d, %s: size %d with %d events, want %d", si, org, got.size, len(got.events), n)
			}
		}
		for seq := range int64(n) {
			if _, ok := seen[org][seq]; !ok {
				t.Errorf("%s: seq %d never acknowledged (seqs not dense)", org, seq)
			}
		}
	}

	// A key created or revoked through one store takes effect in the other.
	ctx := t.Context()
	hash := audit.HashSecret("trail_cli_made_this_key")
	if err := stores[1].CreateKey(ctx, audit.Key{ID: "key_cli", Scope: audit.ScopeAdmin, CreatedAt: t0}, hash); err != nil {
		t.Fatal(err)
	}
	if k, err := stores[0].KeyByHash(ctx, hash); err != nil || !k.RevokedAt.IsZero() {
		t.Errorf("key created by the other store: %+v, %v", k, err)
	}
	if err := stores[1].RevokeKey(ctx, "key_cli", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if k, err := stores[0].KeyByHash(ctx, hash); err != nil || k.RevokedAt.IsZero() {
		t.Errorf("key revoked by the other store: %+v, %v; want revoked", k, err)
	}
	// An org first written by one store is readable from the other.
	mustAppend(t, stores[1], "gamma", event("gamma", "g0", 0))
	if _, _, err := stores[0].Event(ctx, "gamma", "g0"); err != nil {
		t.Errorf("event of an org created by the other store: %v", err)
	}
}
