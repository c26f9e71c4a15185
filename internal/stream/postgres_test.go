// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/postgres"
	"github.com/trailaudit/trail/internal/postgres/pgtest"
	"github.com/trailaudit/trail/internal/stream"
)

// TestPostgresReplicas: two replicas (each its own connection pool and
// engine) on one PostgreSQL database; a third, dead one holds the lease
// at first. One live replica takes over once the lease expires, and the
// lease keeps the two live ones from both sending: every event arrives
// once, in order.
func TestPostgresReplicas(t *testing.T) {
	url := pgtest.NewDatabase(t)
	open := func() audit.Store {
		s, err := postgres.Open(t.Context(), url, postgres.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	cfg := stream.Config{AllowPrivate: true, LeaseTTL: 300 * time.Millisecond, MaxBatch: 20}
	cfg.Holder = "replica-a"
	a := newEnvOn(t, open(), cfg)
	cfg.Holder = "replica-b"
	b := newEnvOn(t, open(), cfg)
	r := newReceiver(t)
	v, _ := a.create("acme", `{"name":"siem","kind":"webhook","url":"`+r.srv.URL+`"}`)
	ok, err := a.store.LeaseStream(t.Context(), "acme", v.ID, "dead-replica", time.Now(), 400*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("LeaseStream(dead-replica) = %v, %v", ok, err)
	}
	a.run(a.m)
	b.run(b.m)
	for range 10 {
		a.ingest("acme", 15)
		b.ingest("acme", 5)
	}
	n := a.size("acme")
	eventually(t, "every event delivered", func() bool { return r.covered(n) })
	seqs := r.seqs()
	inOrder(t, seqs)
	if len(seqs) != int(n) || r.overlap {
		t.Errorf("received %d events for %d (overlap %v): two senders", len(seqs), n, r.overlap)
	}
	eventually(t, "replica b sees the cursor at the end", func() bool {
		got, err := b.m.Get(t.Context(), "acme", v.ID)
		return err == nil && got.DeliveredSeq == n-1
	})
}
