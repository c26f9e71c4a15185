// SPDX-License-Identifier: Apache-2.0

package sqlite_test

import (
	"fmt"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/sqlite"
)

// wantTree checks that org's stored root is the root of its stored bytes.
func wantTree(t *testing.T, s *sqlite.Store, org string) {
	t.Helper()
	snap := snapshot(t, s, org)
	e := &ledger.Edge{}
	for _, d := range snap.events {
		e.Append(nil, ledger.LeafHash(d))
	}
	got, err := ledger.TreeHash(snap.size, audit.HashReader(t.Context(), s, org))
	if err != nil || got != e.Root() {
		t.Fatalf("stored root of %s at %d = %x, %v; want %x", org, snap.size, got, err, e.Root())
	}
}

// TestTreeTwoWriters appends through two stores on one directory (a
// server and the CLI): each must notice the other's appends and reload
// its cached tree edge.
func TestTreeTwoWriters(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	n := 0
	for round := range 6 {
		for _, s := range []*sqlite.Store{a, b, a} {
			var evs []*audit.Pending
			for range 1 + round%3 {
				evs = append(evs, event("acme", fmt.Sprint("e", n), n))
				n++
			}
			mustAppend(t, s, "acme", evs...)
		}
	}
	wantTree(t, a, "acme")
	wantTree(t, b, "acme")
}
