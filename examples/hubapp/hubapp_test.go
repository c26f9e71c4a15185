// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/trailtest"
)

func TestMain(m *testing.M) { os.Exit(trailtest.Main(m)) }

// TestHubApp runs the app against a real trail serve, performs actions
// through its HTTP API (some refused, some failing), and checks that each
// org's Trail log shows exactly the changes that happened, in order, with
// their descriptions.
func TestHubApp(t *testing.T) {
	data := t.TempDir()
	ingest := trailtest.CreateKey(t, data, "ingest")
	read := trailtest.CreateKey(t, data, "read")
	trail := trailtest.Start(t, data, "")

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	h, closeApp, err := start(ctx, config{db: filepath.Join(dir, "hub.db"), spool: filepath.Join(dir, "spool"), trail: trail.Base, key: ingest},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeApp()
	hub := httptest.NewServer(h)
	defer hub.Close()

	steps := []struct {
		user, method, path, body string
		status                   int
	}{
		{"alice", "POST", "/orgs", `{"name":"acme"}`, 204},
		{"zed", "POST", "/orgs", `{"name":"other"}`, 204},
		{"alice", "POST", "/orgs/acme/members", `{"user":"bob","role":"write"}`, 204},
		{"bob", "POST", "/orgs/acme/repos", `{"name":"llama","private":true}`, 204},
		{"bob", "POST", "/orgs/acme/repos", `{"name":"llama"}`, 409},      // exists: rolled back, no event
		{"bob", "PUT", "/orgs/acme/members/bob", `{"role":"admin"}`, 403}, // not an admin
		{"zed", "POST", "/orgs/acme/repos", `{"name":"x"}`, 403},          // not a member
		{"alice", "PUT", "/orgs/acme/members/bob", `{"role":"admin"}`, 204},
		{"bob", "PUT", "/orgs/acme/repos/llama/secrets/HF_TOKEN", `{"value":"hf_secret_value"}`, 204},
		{"alice", "PATCH", "/orgs/acme/settings", `{"repo_visibility":"private"}`, 204},
		{"alice", "PUT", "/orgs/acme/billing", `{"plan":"enterprise"}`, 204},
		{"bob", "DELETE", "/orgs/acme/repos/llama/secrets/HF_TOKEN", ``, 204},
		{"alice", "DELETE", "/orgs/acme/repos/llama", ``, 204},
		{"alice", "DELETE", "/orgs/acme/repos/llama", ``, 404},
		{"alice", "DELETE", "/orgs/acme/members/bob", ``, 204},
	}
	for i, s := range steps {
		req, _ := http.NewRequest(s.method, hub.URL+s.path, strings.NewReader(s.body))
		req.Header.Set("X-User", s.user)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != s.status {
			t.Fatalf("step %d %s %s: %d %s, want %d", i, s.method, s.path, resp.StatusCode, msg, s.status)
		}
	}

	want := map[string][]string{
		"acme": {
			"org.create: alice created the organization acme",
			"org.add_user: alice added bob to the organization as write",
			"repo.create: bob created the model acme/llama",
			"org.change_role: alice changed bob's role from write to admin",
			"repo.add_secret: bob added the secret HF_TOKEN to acme/llama",
			"org.update_settings: " + settingsDescription,
			"billing.update_subscription_plan: alice changed the subscription plan from free to enterprise",
			"repo.remove_secret: bob removed the secret HF_TOKEN from acme/llama",
			"repo.delete: alice deleted the model acme/llama",
			"org.remove_user: alice removed bob from the organization",
		},
		"other": {"org.create: zed created the organization other"},
	}
	for org, lines := range want {
		got := waitFor(t, trail.Base, read, org, len(lines))
		if strings.Join(got, "\n") != strings.Join(lines, "\n") {
			t.Errorf("%s's log:\n%s\nwant:\n%s", org, strings.Join(got, "\n"), strings.Join(lines, "\n"))
		}
	}
	if logs := trail.Logs(); strings.Contains(logs, "hf_secret_value") {
		t.Error("a secret value reached Trail")
	}
}

const settingsDescription = `alice updated the organization settings (repo_visibility)`

// waitFor polls org's log until it holds n events (the relay and the
// producer deliver in the background) and returns "type: description"
// per event, oldest first; more than n is returned as is.
func waitFor(t *testing.T, base, key, org string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		events := trailtest.All(t, base, key, org)
		if len(events) >= n || time.Now().After(deadline) {
			time.Sleep(300 * time.Millisecond) // anything extra would show now
			events = trailtest.All(t, base, key, org)
			out := make([]string, len(events))
			for i, e := range events {
				out[i] = fmt.Sprintf("%s: %s", e.Type, e.Description)
			}
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}
