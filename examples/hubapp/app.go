// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/events"
	"github.com/trailaudit/trail/outbox"
)

// app is the Hub-like app: its handlers change its own database and write
// the audit event of each change in the same transaction (outbox.Add).
type app struct{ db *sql.DB }

// routes returns the app's HTTP API. Every request names its user in the
// X-User header (a stand-in for the app's real login).
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orgs", a.createOrg)
	mux.HandleFunc("POST /orgs/{org}/members", a.addMember)
	mux.HandleFunc("PUT /orgs/{org}/members/{user}", a.changeRole)
	mux.HandleFunc("DELETE /orgs/{org}/members/{user}", a.removeMember)
	mux.HandleFunc("POST /orgs/{org}/repos", a.createRepo)
	mux.HandleFunc("DELETE /orgs/{org}/repos/{repo}", a.deleteRepo)
	mux.HandleFunc("PUT /orgs/{org}/repos/{repo}/secrets/{name}", a.putSecret)
	mux.HandleFunc("DELETE /orgs/{org}/repos/{repo}/secrets/{name}", a.deleteSecret)
	mux.HandleFunc("PATCH /orgs/{org}/settings", a.updateSettings)
	mux.HandleFunc("PUT /orgs/{org}/billing", a.changePlan)
	return mux
}

// action runs change in a transaction and, in the same transaction, adds
// the audit event it returns to org's log. Either both commit or neither.
func (a *app) action(w http.ResponseWriter, r *http.Request, org string, change func(ctx context.Context, tx *sql.Tx, actor string) (client.Event, error)) {
	actor := r.Header.Get("X-User")
	if actor == "" {
		http.Error(w, "send X-User", http.StatusUnauthorized)
		return
	}
	ctx := r.Context()
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		httpError(w, err)
		return
	}
	defer tx.Rollback()
	ev, err := change(ctx, tx, actor)
	if err == nil {
		ev.Client = client.ClientInfo{IP: remoteIP(r), UserAgent: r.UserAgent()}
		err = outbox.Add(ctx, tx, ev, outbox.Org(org))
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		httpError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func user(name string) client.Actor    { return client.Actor{Type: "user", ID: "u_" + name, Name: name} }
func member(name string) client.Target { return client.Target{ID: "u_" + name, Name: name} }
func repo(org, name string) client.Target {
	return client.Target{ID: org + "/" + name, Name: org + "/" + name}
}

func (a *app) createOrg(w http.ResponseWriter, r *http.Request) {
	var req struct{ Name string }
	if !decode(w, r, &req) {
		return
	}
	a.action(w, r, req.Name, func(ctx context.Context, tx *sql.Tx, actor string) (client.Event, error) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO orgs (name) VALUES ($1)`, req.Name); err != nil {
			return client.Event{}, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO members (org, user, role) VALUES ($1, $2, 'admin')`, req.Name, actor); err != nil {
			return client.Event{}, err
		}
		return events.OrgCreate(user(actor), client.Target{ID: req.Name, Name: req.Name}), nil
	})
}

func (a *app) addMember(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	var req struct{ User, Role string }
	if !decode(w, r, &req) {
		return
	}
	a.action(w, r, org, func(ctx context.Context, tx *sql.Tx, actor string) (client.Event, error) {
		if err := need(ctx, tx, org, actor, "admin"); err != nil {
			return client.Event{}, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO members (org, user, role) VALUES ($1, $2, $3)`, org, req.User, req.Role); err != nil {
			return client.Event{}, err
		}
		ev := events.OrgAddUser(user(actor), member(req.User))
		ev.Metadata["role"] = req.Role
		return ev, nil
	})
}

func (a *app) changeRole(w http.ResponseWriter, r *http.Request) {
	org, who := r.PathValue("org"), r.PathValue("user")
	var req struct{ Role string }
	if !decode(w, r, &req) {
		return
	}
	a.action(w, r, org, func(ctx context.Context, tx *sql.Tx, actor string) (client.Event, error) {
		if err := need(ctx, tx, org, actor, "admin"); err != nil {
			return client.Event{}, err
		}
		old, err := roleOf(ctx, tx, org, who)
		if errors.Is(err, errForbidden) {
			return client.Event{}, errNotFound
		} else if err != nil {
			return client.Event{}, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET role = $1 WHERE org = $2 AND user = $3`, req.Role, org, who); err != nil {
			return client.Event{}, err
		}
		ev := events.OrgChangeRole(user(actor), member(who), req.Role)
		ev.Metadata["old_role"] = old
		return ev, nil
	})
}

func (a *app) removeMember(w http.ResponseWriter, r *http.Request) {
	org, who := r.PathValue("org"), r.PathValue("user")
	a.action(w, r, org, func(ctx context.Context, tx *sql.Tx, actor string) (client.Event, error) {
		if err := need(ctx, tx, org, actor, "admin"); err != nil {
			return client.Event{}, err
		}
		err := changed(tx.ExecContext(ctx, `DELETE FROM members WHERE org = $1 AND user = $2`, org, who))
		return events.OrgRemoveUser(user(actor), member(who)), err
	})
}

func (a *app) createRepo(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	var req struct {
		Name    string
		Private bool
	}
	if !decode(w, r, &req) {
		return
	}
	a.action(w, r, org, func(ctx context.Context, tx *sql.Tx, actor string) (client.Event, error) {
		if err := need(ctx, tx, org, actor, "admin", "write"); err != nil {
			return client.Event{}, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO repos (org, name, private) VALUES ($1, $2, $3)`, org, req.Name, req.Private); err != nil {
			return client.Event{}, err
		}
		ev := events.RepoCreate(user(actor), repo(org, req.Name))
		ev.Metadata["repo_type"], ev.Metadata["private"] = "model", req.Private
		return ev, nil
	})
}

func (a *app) deleteRepo(w http.ResponseWriter, r *http.Request) {
	org, name := r.PathValue("org"), r.PathValue("repo")
	a.action(w, r, org, func(ctx context.Context, tx *sql.Tx, actor string) (client.Event, error) {
		if err := need(ctx, tx, org, actor, "admin"); err != nil {
			return client.Event{}, err
		}
		err := changed(tx.ExecContext(ctx, `DELETE FROM repos WHERE org = $1 AND name = $2`, org, name))
		if err == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM secrets WHERE org = $1 AND repo = $2`, org, name)
		}
		ev := events.RepoDelete(user(actor), repo(org, name))
		ev.Metadata["repo_type"] = "model"
		return ev, err
	})
}

// putSecret stores a secret's value in the app; the audit event carries
// its name only.
func (a *app) putSecret(w http.ResponseWriter, r *http.Request) {
	org, name, secret := r.PathValue("org"), r.PathValue("repo"), r.PathValue("name")
	var req struct{ Value string }
	if !decode(w, r, &req) {
		return
	}
	a.action(w, r, org, func(ctx context.Context, tx *sql.Tx, actor string) (client.Event, error) {
		if err := need(ctx, tx, org, actor, "admin"); err != nil {
			return client.Event{}, err
		}
		if err := repoExists(ctx, tx, org, name); err != nil {
			return client.Event{}, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (org, repo, name, value) VALUES ($1, $2, $3, $4)
			ON CONFLICT (org, repo, name) DO UPDATE SET value = excluded.value`, org, name, secret, req.Value); err != nil {
			return client.Event{}, err
		}
		return events.RepoAddSecret(user(actor), repo(org, name), client.Target{Name: secret}, secret), nil
	})
}

func (a *app) deleteSecret(w http.ResponseWriter, r *http.Request) {
	org, name, secret := r.PathValue("org"), r.PathValue("repo"), r.PathValue("name")
	a.action(w, r, org, func(ctx context.Context, tx *sql.Tx, actor string) (client.Event, error) {
		if err := need(ctx, tx, org, actor, "admin"); err != nil {
			return client.Event{}, err
		}
		err := changed(tx.ExecContext(ctx, `DELETE FROM secrets WHERE org = $1 AND repo = $2 AND name = $3`, org, name, secret))
		return events.RepoRemoveSecret(user(actor), repo(org, name), client.Target{Name: secret}, secret), err
	})
}

func (a *app) updateSettings(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	var req map[string]string
	if !decode(w, r, &req) {
		return
	}
	a.action(w, r, org, func(ctx context.Context, tx *sql.Tx, actor string) (client.Event, error) {
		if err := need(ctx, tx, org, actor, "admin"); err != nil {
			return client.Event{}, err
		}
		settings := map[string]any{}
		for k, v := range req {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (org, key, value) VALUES ($1, $2, $3)
				ON CONFLICT (org, key) DO UPDATE SET value = excluded.value`, org, k, v); err != nil {
				return client.Event{}, err
			}
			settings[k] = v
		}
		ev := events.OrgUpdateSettings(user(actor), client.Target{ID: org, Name: org})
		ev.Metadata["settings"] = settings
		return ev, nil
	})
}

func (a *app) changePlan(w http.ResponseWriter, r *http.Request) {
	org := r.PathValue("org")
	var req struct{ Plan string }
	if !decode(w, r, &req) {
		return
	}
	a.action(w, r, org, func(ctx context.Context, tx *sql.Tx, actor string) (client.Event, error) {
		if err := need(ctx, tx, org, actor, "admin"); err != nil {
			return client.Event{}, err
		}
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT plan FROM orgs WHERE name = $1`, org).Scan(&old); err != nil {
			return client.Event{}, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orgs SET plan = $1 WHERE name = $2`, req.Plan, org); err != nil {
			return client.Event{}, err
		}
		ev := events.BillingUpdateSubscriptionPlan(user(actor), client.Target{}, req.Plan)
		ev.Metadata["old_plan"] = old
		return ev, nil
	})
}

func repoExists(ctx context.Context, tx *sql.Tx, org, name string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM repos WHERE org = $1 AND name = $2`, org, name).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return errNotFound
	}
	return nil
}

// decode reads a JSON body into v, or answers 400.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(v); err != nil {
		http.Error(w, "bad JSON body: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// httpError maps the app's errors to statuses.
func httpError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errForbidden):
		http.Error(w, "forbidden", http.StatusForbidden)
	case errors.Is(err, errNotFound), errors.Is(err, sql.ErrNoRows):
		http.Error(w, "not found", http.StatusNotFound)
	case errors.Is(err, errConflict), strings.Contains(err.Error(), "UNIQUE constraint"):
		http.Error(w, "already exists", http.StatusConflict)
	default:
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}
