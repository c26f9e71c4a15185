// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"slices"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// keyFixtures are three keys created a second apart, oldest first.
func keyFixtures() ([]audit.Key, [][32]byte) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)
	keys := []audit.Key{
		{ID: "key_1", Name: "ingest for acme", Scope: audit.ScopeIngest, Org: "acme", CreatedAt: created, ExpiresAt: created.Add(24 * time.Hour)},
		{ID: "key_2", Name: "platform reader", Scope: audit.ScopeRead, CreatedAt: created.Add(time.Second)},
		{ID: "key_3", Name: "", Scope: audit.ScopeAdmin, Org: "beta", CreatedAt: created.Add(2 * time.Second)},
	}
	hashes := [][32]byte{audit.HashSecret("trail_one"), audit.HashSecret("trail_two"), audit.HashSecret("trail_three")}
	return keys, hashes
}

func (h *harness) createKeys() ([]audit.Key, [][32]byte) {
	h.t.Helper()
	keys, hashes := keyFixtures()
	for i, k := range keys {
		if err := h.s.CreateKey(h.ctx, k, hashes[i]); err != nil {
			h.t.Fatalf("CreateKey(%s): %v", k.ID, err)
		}
	}
	return keys, hashes
}

func (h *harness) keyByHash(hash [32]byte) audit.Key {
	h.t.Helper()
	k, err := h.s.KeyByHash(h.ctx, hash)
	if err != nil {
		h.t.Fatalf("KeyByHash: %v", err)
	}
	return k
}

func sameKey(a, b audit.Key) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Scope == b.Scope && a.Org == b.Org &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.LastUsedAt.Equal(b.LastUsedAt) && a.RevokedAt.Equal(b.RevokedAt)
}

var keyTests = []test{
	{"CreateAndFind", func(h *harness) {
		if keys, err := h.s.Keys(h.ctx); err != nil || len(keys) != 0 {
			h.t.Fatalf("Keys of an empty store = %v, %v; want none", keys, err)
		}
		keys, hashes := h.createKeys()
		for i, want := range keys {
			if got := h.keyByHash(hashes[i]); !sameKey(got, want) {
				h.t.Errorf("KeyByHash(%s) = %+v, want %+v", want.ID, got, want)
			}
		}
		_, err := h.s.KeyByHash(h.ctx, audit.HashSecret("trail_unknown"))
		wantNotFound(h.t, "KeyByHash(unknown)", err)
		// A second key with a taken id is refused, and the first is kept.
		dup := keys[0]
		dup.Scope, dup.Org = audit.ScopeAdmin, ""
		if err := h.s.CreateKey(h.ctx, dup, audit.HashSecret("trail_other")); err == nil {
			h.t.Errorf("CreateKey with a taken id: err = nil, want an error")
		}
		if got := h.keyByHash(hashes[0]); !sameKey(got, keys[0]) {
			h.t.Errorf("after a refused CreateKey: key = %+v, want %+v", got, keys[0])
		}
		_, err = h.s.KeyByHash(h.ctx, audit.HashSecret("trail_other"))
		wantNotFound(h.t, "KeyByHash of a refused key", err)
		got, err := h.s.Keys(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		want := slices.Clone(keys)
		slices.Reverse(want) // newest first
		if !slices.EqualFunc(got, want, sameKey) {
			h.t.Errorf("Keys = %+v, want newest first %+v", got, want)
		}
	}},
	{"Revoke", func(h *harness) {
		keys, hashes := h.createKeys()
		at := time.Date(2026, 2, 1, 10, 0, 0, 500000000, time.UTC)
		if err := h.s.RevokeKey(h.ctx, keys[1].ID, at); err != nil {
			h.t.Fatalf("RevokeKey: %v", err)
		}
		if got := h.keyByHash(hashes[1]).RevokedAt; !got.Equal(at) {
			h.t.Errorf("RevokedAt = %v, want %v", got, at)
		}
		if h.keyByHash(hashes[1]).Active(at) {
			h.t.Errorf("revoked key is still active")
		}
		for _, i := range []int{0, 2} {
			if got := h.keyByHash(hashes[i]).RevokedAt; !got.IsZero() {
				h.t.Errorf("key %s: RevokedAt = %v, want zero (not revoked)", keys[i].ID, got)
			}
		}
		listed, err := h.s.Keys(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, k := range listed {
			if revoked := !k.RevokedAt.IsZero(); revoked != (k.ID == keys[1].ID) {
				h.t.Errorf("Keys: %s has RevokedAt %v", k.ID, k.RevokedAt)
			}
		}
		wantNotFound(h.t, "RevokeKey(unknown)", h.s.RevokeKey(h.ctx, "key_unknown", at))
	}},
	{"Touch", func(h *harness) {
		keys, hashes := h.createKeys()
		used := time.Date(2026, 2, 1, 10, 5, 0, 250000000, time.UTC)
		if err := h.s.TouchKey(h.ctx, keys[0].ID, used); err != nil {
			h.t.Fatalf("TouchKey: %v", err)
		}
		if got := h.keyByHash(hashes[0]).LastUsedAt; !got.Equal(used) {
			h.t.Errorf("LastUsedAt = %v, want %v", got, used)
		}
		if got := h.keyByHash(hashes[1]).LastUsedAt; !got.IsZero() {
			h.t.Errorf("untouched key: LastUsedAt = %v, want zero", got)
		}
		// A touch reported late by a slower request does not move the
		// last use back.
		if err := h.s.TouchKey(h.ctx, keys[0].ID, used.Add(-time.Minute)); err != nil {
			h.t.Fatalf("TouchKey: %v", err)
		}
		if got := h.keyByHash(hashes[0]).LastUsedAt; !got.Equal(used) {
			h.t.Errorf("after an older touch: LastUsedAt = %v, want %v", got, used)
		}
		later := used.Add(time.Hour)
		if err := h.s.TouchKey(h.ctx, keys[0].ID, later); err != nil {
			h.t.Fatalf("TouchKey: %v", err)
		}
		if got := h.keyByHash(hashes[0]).LastUsedAt; !got.Equal(later) {
			h.t.Errorf("LastUsedAt = %v, want %v", got, later)
		}
	}},
}
