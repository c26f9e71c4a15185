// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"time"
)

// NewKey is what creating an API key needs; ID, CreatedAt and the secret
// are made by CreateAPIKey.
type NewKey struct {
	Name    string // default the key's id
	Scope   Scope
	Org     string    // "" serves every org
	Expires time.Time // zero: never
}

// CreateAPIKey checks nk, stores a new key and returns it with its secret,
// which exists nowhere else afterwards: the store keeps its hash only.
// Errors are *Error with CodeInvalid for a bad scope, org or expiry.
func CreateAPIKey(ctx context.Context, ks KeyStore, nk NewKey, now time.Time) (Key, string, error) {
	if _, err := ParseScope(string(nk.Scope)); err != nil {
		return Key{}, "", err
	}
	if nk.Org != "" && !ValidOrg(nk.Org) {
		return Key{}, "", Errorf(CodeInvalid, "org %q is not a valid org identifier: 1 to 96 of A-Z a-z 0-9 _ - .", nk.Org)
	}
	if !nk.Expires.IsZero() && !nk.Expires.After(now) {
		return Key{}, "", Errorf(CodeInvalid, "the expiry %s is not in the future", nk.Expires.UTC().Format(time.RFC3339))
	}
	if len(nk.Name) > 256 {
		return Key{}, "", Errorf(CodeInvalid, "the key name is longer than 256 bytes")
	}
	id, secret := NewKeySecret()
	k := Key{ID: id, Name: nk.Name, Scope: nk.Scope, Org: nk.Org, CreatedAt: now.UTC(), ExpiresAt: nk.Expires}
	if k.Name == "" {
		k.Name = id
	}
	if err := ks.CreateKey(ctx, k, HashSecret(secret)); err != nil {
		return Key{}, "", err
	}
	return k, secret, nil
}

// RevokeAPIKey revokes the key id at now. It returns the key as it is
// afterwards and whether it had been revoked before (then nothing
// changed). A missing key is ErrNotFound.
func RevokeAPIKey(ctx context.Context, ks KeyStore, id string, now time.Time) (k Key, already bool, err error) {
	k, err = keyByID(ctx, ks, id)
	if err != nil {
		return Key{}, false, err
	}
	if !k.RevokedAt.IsZero() {
		return k, true, nil
	}
	if err := ks.RevokeKey(ctx, id, now); err != nil {
		return Key{}, false, err
	}
	k.RevokedAt = now
	return k, false, nil
}

// keyByID finds a key by id among every key (key management is rare and
// the key table small).
func keyByID(ctx context.Context, ks KeyStore, id string) (Key, error) {
	keys, err := ks.Keys(ctx)
	if err != nil {
		return Key{}, err
	}
	for _, k := range keys {
		if k.ID == id {
			return k, nil
		}
	}
	return Key{}, ErrNotFound
}

// KeyView is a key's public description, as `trail keys list --json` and
// the keys API show it: never the secret, which is not kept. Times are
// RFC 3339 UTC, absent when not set.
type KeyView struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Scope      Scope  `json:"scope"`
	Org        string `json:"org,omitempty"` // absent: every org
	CreatedAt  string `json:"created_at"`
	ExpiresAt  string `json:"expires_at,omitempty"`
	LastUsedAt string `json:"last_used_at,omitempty"`
	RevokedAt  string `json:"revoked_at,omitempty"`
	Status     string `json:"status"` // active, expired or revoked
}

// View returns k's public description at now.
func (k Key) View(now time.Time) KeyView {
	v := KeyView{
		ID: k.ID, Name: k.Name, Scope: k.Scope, Org: k.Org, CreatedAt: stamp(k.CreatedAt),
		ExpiresAt: stamp(k.ExpiresAt), LastUsedAt: stamp(k.LastUsedAt), RevokedAt: stamp(k.RevokedAt), Status: "active",
	}
	switch {
	case !k.RevokedAt.IsZero():
		v.Status = "revoked"
	case !k.Active(now):
		v.Status = "expired"
	}
	return v
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
