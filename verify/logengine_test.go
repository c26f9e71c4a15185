// SPDX-License-Identifier: Apache-2.0

package verify_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/ledger/ledgertest"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/query"
	"github.com/trailaudit/trail/verify"
)

// TestPrunedLogEngineExportsVerify runs retention on the log engine
// through the service: the policy, a legal hold that stops pruning, a
// pruning run recorded in the log, and exports (JSON, NDJSON, filtered)
// that verify against the signed checkpoint with the compact range of
// the pruned prefix; a consistency proof from a checkpoint older than
// the pruning point still verifies.
func TestPrunedLogEngineExportsVerify(t *testing.T) {
	store, err := logstore.Open(t.TempDir(), logstore.Options{BlockEvents: 16, PageEvents: 4, ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	signer, vkey := ledgertest.Signer(t)
	var now atomic.Int64
	now.Store(t0.Add(80 * time.Minute).UnixMicro())
	svc := audit.NewService(audit.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Integrity: audit.IntegrityConfig{Signer: signer}, Now: func() time.Time { return time.UnixMicro(now.Load()) }})
	t.Cleanup(svc.Close)
	l := &testLog{t: t, store: store, svc: svc, vkey: vkey}
	ctx := context.Background()
	l.add("acme", 100, rand.New(rand.NewPCG(5, 5))) // received t0 + i minutes
	if err := store.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	old, err := svc.CheckpointAt(ctx, "acme", 20)
	if err != nil {
		t.Fatal(err)
	}
	actor := audit.Actor{Type: "token", ID: "k1", Name: "admin"}
	if _, err := svc.SetPolicy(ctx, "acme", audit.Policy{Retention: "30m", LegalHold: true, LegalHoldReason: "case 7"}, actor); err != nil {
		t.Fatal(err)
	}
	if rep, err := svc.Prune(ctx, "acme", audit.Actor{}); err != nil || rep.Skipped != "legal hold" || rep.KeptFirst != 0 {
		t.Fatalf("Prune under a legal hold = %+v, %v", rep, err)
	}
	if _, err := svc.SetPolicy(ctx, "acme", audit.Policy{Retention: "30m"}, actor); err != nil {
		t.Fatal(err)
	}
	// now - 30m = t0 + 50m: events 0 … 49 are due; blocks of 16 go up to 48.
	rep, err := svc.Prune(ctx, "acme", audit.Actor{})
	if err != nil || rep.Removed.From != 0 || rep.Removed.To != 48 || rep.KeptFirst != 48 || rep.Logged.Seq != 102 {
		t.Fatalf("Prune = %+v, %v", rep, err)
	}
	_, data, err := store.Event(ctx, "acme", rep.Logged.ID)
	if err != nil || !bytes.Contains(data, []byte(`"type":"org.audit_log.prune"`)) || !bytes.Contains(data, []byte(`"from_seq":0`)) ||
		!bytes.Contains(data, []byte(`"to_seq":47`)) || !bytes.Contains(data, []byte(`"events":48`)) {
		t.Fatalf("the pruning event: %s, %v", data, err)
	}
	keys := verify.Options{Keys: []string{vkey}}
	for _, c := range []struct{ format, q string }{{"json", ""}, {"ndjson", ""}, {"json", "type:repo.create"}} {
		out := exportOf(t, l, "acme", c.format, c.q)
		if !bytes.Contains(out, []byte(`"pruned_before_seq":48`)) {
			t.Fatalf("%s %q export does not state the pruned range:\n%.300s", c.format, c.q, out)
		}
		res, err := parseVerify(out, keys)
		if err != nil {
			t.Fatalf("%s %q export of the pruned log: %v", c.format, c.q, err)
		}
		if res.PrunedBefore != 48 || res.Complete != (c.q == "") {
			t.Errorf("%s %q: %+v", c.format, c.q, res)
		}
	}
	// A consistency proof from size 20 (before the pruning point).
	n, proof, err := svc.Consistency(ctx, "acme", 20, -1)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := svc.CheckpointAt(ctx, "acme", n)
	if err != nil {
		t.Fatal(err)
	}
	var ps []string
	for _, h := range proof {
		ps = append(ps, ledger.EncodeHash(h))
	}
	if err := verify.Consistency(old.Note, latest.Note, ps, keys.Keys); err != nil {
		t.Fatalf("consistency from a checkpoint older than the pruning point: %v", err)
	}
}

// exportOf exports org with the service of l.
func exportOf(t *testing.T, l *testLog, org, format, q string) []byte {
	t.Helper()
	cat := l.svc.Catalog()
	f, err := query.Parse(q, query.Options{KnownType: func(n string) bool { _, ok := cat.Lookup(n); return ok }})
	if err != nil {
		t.Fatal(err)
	}
	x, err := l.svc.StartExport(context.Background(), org, audit.ExportRequest{Format: format, Filter: f, Query: q, Integrity: true,
		Actor: audit.Actor{Type: "system", ID: "test", Name: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := x.WriteTo(context.Background(), &buf, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
