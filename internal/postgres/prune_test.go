// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// TestPostgresPruneRowsAndPartitions prunes by rows to the exact seq and
// drops a monthly partition no org keeps a row of.
func TestPostgresPruneRowsAndPartitions(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	jan := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	mar := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	add := func(org string, at time.Time, from, n int) {
		b := &audit.Batch{Org: org}
		for i := from; i < from+n; i++ {
			ev := audit.Event{ID: fmt.Sprint("e", i), Org: org, Type: "repo.create", Category: "content",
				Actor: audit.Actor{Type: "user", ID: "u1", Name: "alice"}, Description: "d",
				OccurredAt: at.Add(time.Duration(i) * time.Minute), ReceivedAt: at.Add(time.Duration(i) * time.Minute)}
			b.Events = append(b.Events, &audit.Pending{Event: ev, Hash: sha256.Sum256([]byte(ev.ID))})
		}
		if err := s.Append(ctx, []*audit.Batch{b}); err != nil || b.Err != nil {
			t.Fatal(err, b.Err)
		}
	}
	add("acme", jan, 0, 10)
	add("beta", jan, 0, 5)
	add("acme", mar, 10, 10)
	partitions := func() int {
		var n int
		if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
			WHERE p.relname = 'events' AND p.relnamespace = to_regnamespace(current_schema())::oid`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := partitions(); n != 2 {
		t.Fatalf("%d partitions, want January and March", n)
	}
	res, err := s.Prune(ctx, "acme", mar.Add(15*time.Minute)) // seqs 0 … 14 are due
	if err != nil || res.From != 0 || res.To != 15 {
		t.Fatalf("Prune = %+v, %v; want [0, 15)", res, err)
	}
	if n := partitions(); n != 2 {
		t.Fatalf("%d partitions: beta still has rows in January", n)
	}
	if res, err := s.Prune(ctx, "beta", mar); err != nil || res.To != 5 {
		t.Fatalf("Prune beta = %+v, %v", res, err)
	}
	if n := partitions(); n != 1 {
		t.Fatalf("%d partitions after January emptied, want 1", n)
	}
	// Appends still land (the March partition stays, January is not needed).
	add("acme", mar, 20, 1)
	if p, _ := s.PrunedBefore(ctx, "acme"); p != 15 {
		t.Fatalf("P = %d", p)
	}
}
