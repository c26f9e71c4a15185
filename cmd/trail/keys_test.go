// SPDX-License-Identifier: Apache-2.0

package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// secretLine is the whole first line of `trail keys create`.
var secretLine = regexp.MustCompile(`^trail_[A-Za-z0-9_-]+$`)

// keyColumns are the columns of `trail keys list`, in order.
var keyColumns = []string{"ID", "NAME", "SCOPE", "ORG", "CREATED", "EXPIRES", "LAST USED", "STATUS"}

// keyRows parses the table of `trail keys list` into one map per key,
// column name → cell. Cells are cut at the header's column offsets, so
// names with spaces ("demo read key") stay whole.
func keyRows(t *testing.T, out string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	header := lines[0]
	starts := make([]int, len(keyColumns))
	for i, col := range keyColumns {
		starts[i] = strings.Index(header, col)
		if starts[i] < 0 || (i > 0 && starts[i] <= starts[i-1]) {
			t.Fatalf("keys list header %q: want the columns %q in order", header, keyColumns)
		}
	}
	var rows []map[string]string
	for _, line := range lines[1:] {
		row := map[string]string{}
		for i, col := range keyColumns {
			end := len(line)
			if i+1 < len(starts) {
				end = min(starts[i+1], len(line))
			}
			row[col] = strings.TrimSpace(line[min(starts[i], end):end])
		}
		rows = append(rows, row)
	}
	return rows
}

// keyRow returns the row of key id, or fails.
func keyRow(t *testing.T, rows []map[string]string, id string) map[string]string {
	t.Helper()
	for _, r := range rows {
		if r["ID"] == id {
			return r
		}
	}
	t.Fatalf("keys list has no key %s: %v", id, rows)
	return nil
}

// keyIDByName returns the id of the key with the given (unique) name.
func keyIDByName(t *testing.T, rows []map[string]string, name string) string {
	t.Helper()
	for _, r := range rows {
		if r["NAME"] == name {
			return r["ID"]
		}
	}
	t.Fatalf("keys list has no key named %q: %v", name, rows)
	return ""
}

func TestKeysCreate(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()

	res := mustRun(t, bin, nil, "keys", "create", "--scope", "read", "--org", "acme", "--name", "siem", "--data", data)
	if !strings.HasSuffix(res.stdout, "\n") || strings.Count(res.stdout, "\n") != 1 {
		t.Errorf("stdout %q: want exactly one line, the secret", res.stdout)
	}
	secret := strings.TrimSuffix(res.stdout, "\n")
	if !secretLine.MatchString(secret) {
		t.Errorf("stdout's first line %q: want the secret alone, matching %s", secret, secretLine)
	}
	if !strings.Contains(res.stderr, "read key for org acme") {
		t.Errorf("stderr %q: want the key's details (scope, org)", res.stderr)
	}
	if strings.Contains(res.stderr, secret) {
		t.Errorf("stderr repeats the secret: %q", res.stderr)
	}
	again := createKeyCLI(t, bin, data, "--scope", "read", "--org", "acme")
	if again == secret {
		t.Errorf("two keys got the same secret %q", secret)
	}

	res = mustRun(t, bin, nil, "keys", "create", "--scope", "ingest", "--org", "acme", "--name", "short-lived", "--expires", "1h", "--data", data)
	if !secretLine.MatchString(strings.TrimSpace(res.stdout)) || !strings.Contains(res.stderr, "expiring ") {
		t.Errorf("keys create --expires 1h: stdout %q, stderr %q; want the secret, and the expiry on stderr", res.stdout, res.stderr)
	}

	out := mustRun(t, bin, nil, "keys", "list", "--data", data).stdout
	rows := keyRows(t, out)
	if len(rows) != 3 {
		t.Fatalf("keys list: %d keys, want 3:\n%s", len(rows), out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("keys list shows a secret:\n%s", out)
	}
	siem := keyRow(t, rows, keyIDByName(t, rows, "siem"))
	want := map[string]string{"SCOPE": "read", "ORG": "acme", "EXPIRES": "-", "LAST USED": "-", "STATUS": "active"}
	for col, v := range want {
		if siem[col] != v {
			t.Errorf("keys list, key siem, %s: got %q, want %q", col, siem[col], v)
		}
	}
	if !strings.HasPrefix(siem["ID"], "key_") {
		t.Errorf("key id %q: want key_…", siem["ID"])
	}
	short := keyRow(t, rows, keyIDByName(t, rows, "short-lived"))
	created := parseStamp(t, short["CREATED"])
	expires := parseStamp(t, short["EXPIRES"])
	// Both are printed to the second from the same clock reading.
	if d := expires.Sub(created); d < time.Hour-time.Minute || d > time.Hour+time.Minute {
		t.Errorf("key created with --expires 1h: CREATED %s, EXPIRES %s; want one hour apart", short["CREATED"], short["EXPIRES"])
	}
	if short["SCOPE"] != "ingest" || short["STATUS"] != "active" {
		t.Errorf("key short-lived: scope %q status %q, want ingest active", short["SCOPE"], short["STATUS"])
	}
}

func parseStamp(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02 15:04:05Z", s)
	if err != nil {
		t.Fatalf("keys list time %q: %v", s, err)
	}
	return tm
}

func TestKeysCreateRejects(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"unknown scope", []string{"--scope", "bogus"}, `unknown scope "bogus": expected ingest, read or admin`},
		{"no scope", nil, "--scope is required"},
		{"org with a space", []string{"--scope", "read", "--org", "bad org"}, `--org "bad org" is not a valid org identifier`},
		{"negative expiry", []string{"--scope", "read", "--expires", "-1h"}, "--expires must not be negative"},
		{"bad duration", []string{"--scope", "read", "--expires", "tomorrow"}, `invalid value "tomorrow" for flag -expires`},
		{"positional argument", []string{"--scope", "read", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runTrail(t, bin, nil, append([]string{"keys", "create", "--data", data}, tt.args...)...)
			if res.code != 2 {
				t.Errorf("exit status %d, want 2 (usage)", res.code)
			}
			if res.stdout != "" {
				t.Errorf("stdout %q, want nothing", res.stdout)
			}
			if !strings.Contains(res.stderr, tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", res.stderr, tt.stderr)
			}
		})
	}
	// Rejected before the store is opened: not even a store was created.
	if res := runTrail(t, bin, nil, "keys", "list", "--data", data); res.code != 2 || !strings.Contains(res.stderr, "no Trail data") {
		t.Errorf("rejected keys create left data behind: keys list exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestKeysOnRunningServer checks keys created and revoked from the CLI
// against a server running on the same data: last use is recorded, and a
// revoked key fails on the very next request.
func TestKeysOnRunningServer(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	s := serveOn(t, bin, data)

	// Created after the server started: it must work at once.
	key := createKeyCLI(t, bin, data, "--scope", "read", "--org", "acme", "--name", "reader")
	admin := createKeyCLI(t, bin, data, "--scope", "admin", "--name", "platform")
	rows := keyRows(t, mustRun(t, bin, nil, "keys", "list", "--data", data).stdout)
	id := keyIDByName(t, rows, "reader")
	if r := keyRow(t, rows, id); r["LAST USED"] != "-" {
		t.Errorf("new key: LAST USED %q, want -", r["LAST USED"])
	}
	if r := keyRow(t, rows, keyIDByName(t, rows, "platform")); r["ORG"] != "*" || r["SCOPE"] != "admin" {
		t.Errorf("key made without --org: ORG %q SCOPE %q, want * admin", r["ORG"], r["SCOPE"])
	}
	if status, body := httpGet(t, s.Base+"/api/v1/orgs/acme/events", key); status != http.StatusOK {
		t.Fatalf("GET events with a key made while the server runs: %d %s", status, body)
	}
	if status, _ := httpGet(t, s.Base+"/api/v1/orgs/acme/events", admin); status != http.StatusOK {
		t.Fatalf("GET events with an unbound admin key: %d", status)
	}

	// The server records last use in the background.
	var lastUsed string
	for deadline := time.Now().Add(pollTimeout); ; time.Sleep(100 * time.Millisecond) {
		rows := keyRows(t, mustRun(t, bin, nil, "keys", "list", "--data", data).stdout)
		if lastUsed = keyRow(t, rows, id)["LAST USED"]; lastUsed != "-" || time.Now().After(deadline) {
			break
		}
	}
	if lastUsed == "-" {
		t.Fatalf("LAST USED still - %v after the key was used", pollTimeout)
	}
	parseStamp(t, lastUsed)

	res := mustRun(t, bin, nil, "keys", "revoke", id, "--data", data)
	if !strings.Contains(res.stderr, "revoked "+id) {
		t.Errorf("keys revoke: stderr %q, want it to say the key is revoked", res.stderr)
	}
	status, body := httpGet(t, s.Base+"/api/v1/orgs/acme/events", key)
	if status != http.StatusUnauthorized || !strings.Contains(string(body), `"code":"unauthorized"`) {
		t.Fatalf("first request after keys revoke: %d %s, want 401 unauthorized", status, body)
	}
	rows = keyRows(t, mustRun(t, bin, nil, "keys", "list", "--data", data).stdout)
	if st := keyRow(t, rows, id)["STATUS"]; !strings.HasPrefix(st, "revoked ") {
		t.Errorf("revoked key: STATUS %q, want revoked <time>", st)
	}
	// The other key is untouched.
	if status, _ := httpGet(t, s.Base+"/api/v1/orgs/acme/events", admin); status != http.StatusOK {
		t.Errorf("the other key after a revoke: %d, want 200", status)
	}

	res = runTrail(t, bin, nil, "keys", "revoke", "key_doesnotexist", "--data", data)
	if res.code == 0 || !strings.Contains(res.stderr, `no key with ID "key_doesnotexist"`) {
		t.Errorf("revoke of an unknown id: exit %d, stderr %q; want a failure naming the id", res.code, res.stderr)
	}
	res = runTrail(t, bin, nil, "keys", "revoke", "--data", data)
	if res.code != 2 || !strings.Contains(res.stderr, "expected one key ID") {
		t.Errorf("revoke without an id: exit %d, stderr %q; want 2 and a usage message", res.code, res.stderr)
	}
}
