// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Scope is what an API key may do.
type Scope string

const (
	ScopeIngest Scope = "ingest" // send events
	ScopeRead   Scope = "read"   // query and export
	ScopeAdmin  Scope = "admin"  // both, and administrative calls
)

// ParseScope validates a scope name.
func ParseScope(s string) (Scope, error) {
	switch Scope(s) {
	case ScopeIngest, ScopeRead, ScopeAdmin:
		return Scope(s), nil
	}
	return "", Errorf(CodeInvalid, "unknown scope %q: expected ingest, read or admin", s)
}

// Allows reports whether a key of scope k may act with scope need.
func (k Scope) Allows(need Scope) bool {
	return k == need || k == ScopeAdmin
}

// Key is an API key as stored: the secret itself is never kept, only its
// SHA-256 hash.
type Key struct {
	ID         string
	Name       string
	Scope      Scope
	Org        string // "" serves every org
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: active
}

// Serves reports whether the key may act on org at time now.
func (k Key) Serves(org string, now time.Time) bool {
	return k.Active(now) && (k.Org == "" || k.Org == org)
}

// Active reports whether the key is neither revoked nor expired at now.
func (k Key) Active(now time.Time) bool {
	return k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt))
}

// LogValue keeps keys readable in logs without anything secret.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", k.ID), slog.String("scope", string(k.Scope)), slog.String("org", k.Org))
}

// KeyStore keeps API keys, hashed.
type KeyStore interface {
	// CreateKey stores k with the hash of its secret.
	CreateKey(ctx context.Context, k Key, hash [sha256.Size]byte) error
	// KeyByHash returns the key whose secret hashes to hash, or ErrNotFound.
	KeyByHash(ctx context.Context, hash [sha256.Size]byte) (Key, error)
	// Keys lists every key, newest first.
	Keys(ctx context.Context) ([]Key, error)
	// RevokeKey marks the key revoked at t; ErrNotFound if there is none.
	RevokeKey(ctx context.Context, id string, t time.Time) error
	// TouchKey records that the key was used at t.
	TouchKey(ctx context.Context, id string, t time.Time) error
}

// secretPrefix starts every secret, so scanners can recognise leaked keys.
const secretPrefix = "trail_"

// NewKeySecret returns a fresh key id and secret.
func NewKeySecret() (id, secret string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("audit: reading random bytes: %v", err))
	}
	enc := base64.RawURLEncoding
	return "key_" + enc.EncodeToString(b[:6]), secretPrefix + enc.EncodeToString(b[6:])
}

// HashSecret returns the stored form of a secret.
func HashSecret(secret string) [sha256.Size]byte {
	return sha256.Sum256([]byte(secret))
}

// LooksLikeSecret reports whether s has the shape of a Trail key secret.
func LooksLikeSecret(s string) bool {
	return strings.HasPrefix(s, secretPrefix) && len(s) > len(secretPrefix)+16 && len(s) < 128
}
