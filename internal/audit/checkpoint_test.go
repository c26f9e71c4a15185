// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/sqlite"
)

func signingService(t *testing.T, store audit.Store, every time.Duration) *audit.Service {
	t.Helper()
	signer, _ := testSigner(t) // export_leaves_test.go
	svc := audit.NewService(audit.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Integrity: audit.IntegrityConfig{Signer: signer, Every: every}})
	t.Cleanup(svc.Close)
	return svc
}

// TestBackgroundSigner checks that committed growth gets signed within a
// few periods, and only committed state.
func TestBackgroundSigner(t *testing.T) {
	store := openStore(t, t.TempDir())
	svc := signingService(t, store, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go svc.SignCheckpoints(ctx)
	for i := range 5 {
		if _, err := svc.Ingest(t.Context(), "acme", raws(event(nil), event(nil))); err != nil {
			t.Fatal(err)
		}
		want := int64(2 * (i + 1))
		deadline := time.Now().Add(30 * time.Second)
		for {
			cp, err := store.LatestCheckpoint(t.Context(), "acme")
			if err == nil && cp.Size == want {
				vs, _ := ledger.Verifiers(svc.VerifierKey())
				c, _, err := ledger.OpenCheckpoint(cp.Note, vs)
				if err != nil || c.Size != want || c.Root != cp.Root || c.Origin != "trail.test/orgs/acme" {
					t.Fatalf("kept checkpoint %+v: %v", c, err)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint of size %d after 30s (have %+v, %v)", want, cp, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestStartCheckQuarantines checks CheckStoredRoots: an org whose stored
// root no longer matches its checkpoint is quarantined, alone.
func TestStartCheckQuarantines(t *testing.T) {
	store := openStore(t, t.TempDir())
	svc := signingService(t, store, time.Hour)
	for _, org := range []string{"acme", "beta"} {
		if _, err := svc.Ingest(t.Context(), org, raws(event(nil), event(nil), event(nil))); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CheckpointAt(t.Context(), org, 3); err != nil {
			t.Fatal(err)
		}
	}
	if bad, err := svc.CheckStoredRoots(t.Context()); err != nil || len(bad) != 0 {
		t.Fatalf("intact: quarantined %v, %v", bad, err)
	}
	// A checkpoint of another size and root, as if the tree changed.
	cp, _ := store.LatestCheckpoint(t.Context(), "acme")
	if _, err := svc.Ingest(t.Context(), "acme", raws(event(nil))); err != nil {
		t.Fatal(err)
	}
	cp.Size, cp.Root[0] = 4, cp.Root[0]^1
	store.SaveCheckpoint(t.Context(), "acme", cp)
	bad, err := svc.CheckStoredRoots(t.Context())
	if err != nil || len(bad) != 1 || bad[0] != "acme" {
		t.Fatalf("quarantined %v, %v; want [acme]", bad, err)
	}
	if _, err := svc.Ingest(t.Context(), "acme", raws(event(nil))); audit.ErrorCode(err) != audit.CodeQuarantined {
		t.Errorf("ingest into acme: %v, want quarantined", err)
	}
	if _, err := svc.Ingest(t.Context(), "beta", raws(event(nil))); err != nil {
		t.Errorf("ingest into beta: %v", err)
	}
	if q := svc.QuarantinedOrgs(); len(q) != 1 || !strings.Contains(q[0][1], "root") {
		t.Errorf("QuarantinedOrgs = %v", q)
	}
}

// TestBackgroundSignerSeesOtherWriters: an org that another process (a
// CLI command beside the server, another replica) grew on the same store
// gets signed too, without anyone asking for a checkpoint.
//
// Two writers share a store only on the SQLite engine (and PostgreSQL):
// the log engine has one owner per directory.
func TestBackgroundSignerSeesOtherWriters(t *testing.T) {
	dir := t.TempDir()
	open := func() *sqlite.Store {
		s, err := sqlite.Open(dir, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	store := open()
	server := signingService(t, store, 10*time.Millisecond)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go server.SignCheckpoints(ctx)
	beside := signingService(t, open(), time.Hour) // never runs its signer
	if _, err := beside.Ingest(t.Context(), "beside", raws(event(nil), event(nil), event(nil))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		cp, err := store.LatestCheckpoint(t.Context(), "beside")
		if err == nil && cp.Size == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the org another process wrote has no checkpoint of size 3 after 30s (have %+v, %v)", cp, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
