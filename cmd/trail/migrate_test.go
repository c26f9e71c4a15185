// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/postgres"
	"github.com/trailaudit/trail/internal/postgres/pgtest"
	"github.com/trailaudit/trail/internal/sqlite"
)

// TestPostgresMigrateStore fills a SQLite store through a real server,
// copies it with trail migrate-store, and checks that PostgreSQL holds the
// same logs (bytes, seqs, tree roots, checkpoints) and keys, that a second
// copy adds nothing, and that a server on PostgreSQL takes the old keys
// and continues the logs.
func TestPostgresMigrateStore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	url := pgtest.NewDatabase(t)
	bin := trailBinary(t)
	data := t.TempDir()
	ingestKey := strings.TrimSpace(strings.SplitN(runCLI(t, bin, "keys", "create", "--scope", "ingest", "--data", data, "--store", "sqlite:"), "\n", 2)[0])
	runCLI(t, bin, "keys", "create", "--scope", "read", "--org", "beta", "--data", data, "--store", "sqlite:")
	s := startServer(t, bin, data, "--store", "sqlite:")
	client := &http.Client{Timeout: time.Minute}
	for i := range 12 {
		org := []string{"acme", "beta", "gamma"}[i%3]
		if _, status, _ := post(client, s.Base, ingestKey, org, newCrashBatch(fmt.Sprintf("m%d", i), 5+i*11)); status != 200 {
			t.Fatalf("ingest into the SQLite server: status %d", status)
		}
	}
	time.Sleep(6 * time.Second) // let a background signer (if any) sign checkpoints
	s.Stop()
	keyList := runCLI(t, bin, "keys", "list", "--data", data, "--store", "sqlite:")
	var revokeID string
	for _, line := range strings.Split(keyList, "\n") {
		if strings.Contains(line, "read") {
			revokeID = strings.Fields(line)[0]
		}
	}
	runCLI(t, bin, "keys", "revoke", revokeID, "--data", data, "--store", "sqlite:")

	runCLI(t, bin, "migrate-store", "--from", "sqlite:"+data, "--to", url)
	out := runCLIErr(t, bin, "migrate-store", "--from", "sqlite:"+data, "--to", url)
	if !strings.Contains(out, "(0 events)") {
		t.Errorf("a second migrate-store: %q; want it to copy nothing", out)
	}

	ctx := context.Background()
	src, err := sqlite.Open(data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	sameStores(t, src, dst)
	if hasCommand(bin, "check") {
		runCLI(t, bin, "check", "--data", data, "--store", url)
	}

	// A server on PostgreSQL takes the copied keys and continues the logs.
	p := startServer(t, bin, data, "--store", url)
	defer p.Stop()
	acks, status, _ := post(client, p.Base, ingestKey, "acme", newCrashBatch("after", 3))
	size, _ := src.Size(ctx, "acme")
	if status != 200 || acks["after-0"] != size {
		t.Errorf("ingest into PostgreSQL with a copied key: status %d, acks %v; want 200 and seq %d first", status, acks, size)
	}
}

// sameStores compares everything of two stores that a copy must keep.
func sameStores(t *testing.T, a, b audit.Store) {
	t.Helper()
	ctx := context.Background()
	orgsA, err := a.Orgs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orgsB, err := b.Orgs(ctx)
	if err != nil || !slices.Equal(orgsA, orgsB) {
		t.Fatalf("orgs: source %v, copy %v (%v)", orgsA, orgsB, err)
	}
	for _, org := range orgsA {
		size, _ := a.Size(ctx, org)
		if got, _ := b.Size(ctx, org); got != size {
			t.Errorf("%s: copy has %d events, source %d", org, got, size)
			continue
		}
		var evA, evB [][]byte
		a.Scan(ctx, org, 0, size, audit.Filter{}, func(_ int64, d []byte) error { evA = append(evA, bytes.Clone(d)); return nil })
		b.Scan(ctx, org, 0, size, audit.Filter{}, func(_ int64, d []byte) error { evB = append(evB, bytes.Clone(d)); return nil })
		if !slices.EqualFunc(evA, evB, bytes.Equal) {
			t.Errorf("%s: the copy's event bytes differ", org)
		}
		rootA, errA := ledger.TreeHash(size, audit.HashReader(ctx, a, org))
		rootB, errB := ledger.TreeHash(size, audit.HashReader(ctx, b, org))
		if errA != nil || errB != nil || rootA != rootB {
			t.Errorf("%s: tree roots: source %x (%v), copy %x (%v)", org, rootA, errA, rootB, errB)
		}
		cpA, errA := a.LatestCheckpoint(ctx, org)
		cpB, errB := b.LatestCheckpoint(ctx, org)
		if cpA != cpB || audit.ErrorCode(errA) != audit.ErrorCode(errB) {
			t.Errorf("%s: checkpoints: source %+v (%v), copy %+v (%v)", org, cpA, errA, cpB, errB)
		}
		daysA, _ := a.DailyCounts(ctx, org, time.Unix(0, 0), time.Now().AddDate(1, 0, 0))
		daysB, _ := b.DailyCounts(ctx, org, time.Unix(0, 0), time.Now().AddDate(1, 0, 0))
		if !slices.Equal(daysA, daysB) {
			t.Errorf("%s: daily counts differ: source %v, copy %v", org, daysA, daysB)
		}
		for _, q := range []audit.Query{
			{Filter: audit.Filter{Terms: []audit.Term{{Field: audit.FieldActor, Value: "alice"}}}, Before: -1, After: -1, Limit: 7},
			{Filter: audit.Filter{Terms: []audit.Term{{Field: audit.FieldText, Value: "m1"}}}, Before: -1, After: -1, Limit: 7},
			{Filter: audit.Filter{Terms: []audit.Term{{Field: audit.FieldTarget, Value: "acme/m3"}}}, Before: -1, After: -1, Limit: 7},
		} {
			pa, _ := a.Query(ctx, org, q)
			pb, _ := b.Query(ctx, org, q)
			if !slices.Equal(pa.Seqs, pb.Seqs) || pa.More != pb.More {
				t.Errorf("%s: query %+v: source %v, copy %v", org, q.Filter, pa.Seqs, pb.Seqs)
			}
		}
	}
	keysA, _ := a.Keys(ctx)
	keysB, _ := b.Keys(ctx)
	if !slices.Equal(keysA, keysB) {
		t.Errorf("keys: source %+v, copy %+v", keysA, keysB)
	}
}

// runCLIErr runs a trail subcommand and returns its stderr.
func runCLIErr(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("trail %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stderr.String()
}
