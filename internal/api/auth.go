// SPDX-License-Identifier: Apache-2.0

package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// caller is who is asking and for which org, once authorized.
type caller struct {
	Key audit.Key
	Org string // "" on routes without {org}
}

// actor is the caller as the actor of events Trail records for it.
func (c caller) actor() audit.Actor {
	name := c.Key.Name
	if name == "" {
		name = c.Key.ID
	}
	return audit.Actor{Type: "token", ID: c.Key.ID, Name: name}
}

// authorize checks the request's bearer key for a route that needs scope.
// The key is looked up in the store on every request, never cached, so a
// key created or revoked by another process takes effect at once. The
// order of the checks is the contract:
//
//  1. no key, or an unknown, expired or revoked one: 401;
//  2. an org route outside the key's org binding: 404, as if absent,
//     whatever the org string and whatever the scope;
//  3. a malformed org: 400;
//  4. a scope that does not allow the route: 403.
func (a *API) authorize(r *http.Request, scope audit.Scope, orgRoute bool) (caller, error) {
	key, err := a.lookupKey(r)
	if err != nil {
		return caller{}, err
	}
	info := infoOf(r.Context())
	info.keyID = key.ID
	c := caller{Key: key}
	if orgRoute {
		c.Org = r.PathValue("org")
		if key.Org != "" && key.Org != c.Org {
			return caller{}, errOrgAbsent
		}
		if !audit.ValidOrg(c.Org) {
			return caller{}, audit.Errorf(audit.CodeInvalid, "the org in the path is not a valid org identifier: 1 to 96 of A-Z a-z 0-9 _ - .")
		}
		info.org = c.Org
	}
	if !key.Scope.Allows(scope) {
		return caller{}, audit.Errorf(audit.CodeForbidden, "this key has scope %s; this route needs scope %s (or admin)", key.Scope, scope)
	}
	a.touch.touch(key.ID, a.now())
	return c, nil
}

// lookupKey finds the active key of the request's bearer secret.
func (a *API) lookupKey(r *http.Request) (audit.Key, error) {
	h := r.Header.Get("Authorization")
	secret, ok := bearer(h)
	if !ok {
		return audit.Key{}, noBearer(h)
	}
	if !audit.LooksLikeSecret(secret) {
		return audit.Key{}, errBadKey // not worth a store lookup
	}
	key, err := a.store.KeyByHash(r.Context(), audit.HashSecret(secret))
	if err != nil && audit.ErrorCode(err) == audit.CodeNotFound {
		return audit.Key{}, errBadKey
	}
	if err != nil {
		return audit.Key{}, &audit.Error{Code: audit.CodeUnavailable, Message: "cannot check the API key now; retry", Err: err}
	}
	if !key.Active(a.now()) {
		return audit.Key{}, errBadKey
	}
	return key, nil
}

// bearer extracts the secret of an "Authorization: Bearer <secret>"
// header; the scheme is case-insensitive.
func bearer(h string) (string, bool) {
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	secret = strings.TrimSpace(secret)
	return secret, secret != ""
}

// noBearer is the error for an Authorization header without a bearer
// key: none at all, or another scheme (Basic, Token, a bare key), which
// gets told to use Bearer. The header's value is never echoed: it may
// hold a secret.
func noBearer(h string) error {
	h = strings.TrimSpace(h)
	if h == "" {
		return errNoKey
	}
	scheme, _, found := strings.Cut(h, " ")
	if !found || strings.EqualFold(scheme, "Bearer") {
		return audit.Errorf(audit.CodeUnauthorized, "malformed Authorization header: send Authorization: Bearer <key>")
	}
	if len(scheme) > 20 || audit.LooksLikeSecret(scheme) || strings.ContainsFunc(scheme, func(r rune) bool { return r <= ' ' || r > '~' }) {
		scheme = "this"
	}
	return audit.Errorf(audit.CodeUnauthorized, "the %s authorization scheme is not supported: use Bearer (Authorization: Bearer <key>)", scheme)
}

// touchEvery is how often a key's last use is recorded at most.
const touchEvery = time.Minute

// keyToucher records keys' last use in the background, at most once per
// touchEvery per key, so that reads do not each cost a write. Failures are
// only logged: a missed touch never fails a request.
type keyToucher struct {
	store audit.KeyStore
	log   *slog.Logger
	mu    sync.Mutex
	last  map[string]time.Time
	wg    sync.WaitGroup
}

func (k *keyToucher) touch(id string, now time.Time) {
	k.mu.Lock()
	if t, ok := k.last[id]; ok && now.Sub(t) < touchEvery {
		k.mu.Unlock()
		return
	}
	k.last[id] = now
	k.wg.Add(1)
	k.mu.Unlock()
	go func() {
		defer k.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := k.store.TouchKey(ctx, id, now); err != nil {
			k.log.Warn("recording key use failed", "key", id, "err", err)
		}
	}()
}

func (k *keyToucher) wait() { k.wg.Wait() }
