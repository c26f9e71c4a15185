// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNoDataDirectory: only serve, keys create and the migration commands
// create a data directory; the others, pointed at a directory with no
// Trail data, exit 2 saying so and create nothing.
func TestNoDataDirectory(t *testing.T) {
	bin := trailBinary(t)
	typo := filepath.Join(t.TempDir(), "typo")
	empty := t.TempDir()
	for _, dir := range []string{typo, empty} {
		for _, args := range [][]string{
			{"check"},
			{"orgs"},
			{"check", "--org", "acme"},
			{"export", "--org", "acme"},
			{"link", "--org", "acme", "--user", "u1"},
			{"keys", "list"},
			{"keys", "revoke", "key_abc"},
			{"keys", "verifier"},
			{"keys", "rotate-signing"},
			{"migrate-store", "--from", "sqlite:" + dir, "--to", "postgres://nobody@127.0.0.1:1/none"},
		} {
			if args[0] != "migrate-store" {
				args = append(args, "--data", dir)
			}
			res := runTrail(t, bin, nil, args...)
			if res.code != 2 || !strings.Contains(res.stderr, "no Trail data in "+dir) {
				t.Errorf("trail %s on %s: exit %d, stderr %q; want 2 and \"no Trail data in %s\"", strings.Join(args, " "), dir, res.code, res.stderr, dir)
			}
		}
	}
	if _, err := os.Stat(typo); !os.IsNotExist(err) {
		t.Errorf("a command created the missing data directory %s (stat: %v)", typo, err)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("commands wrote into the empty directory: %v", ents)
	}
}

// TestCheckUnknownOrg: checking an org with no log is a failure, not a pass.
func TestCheckUnknownOrg(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	createKeyCLI(t, bin, data, "--scope", "read") // creates the store
	res := runTrail(t, bin, nil, "check", "--data", data, "--org", "nope")
	if res.code != 1 || !strings.Contains(res.stderr, `org "nope" has no log`) {
		t.Errorf("check --org nope: exit %d, stderr %q; want 1 saying the org has no log", res.code, res.stderr)
	}
}

// TestOrgsCLI: trail orgs lists every org with its size, as a table or
// JSON.
func TestOrgsCLI(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	createKeyCLI(t, bin, data, "--scope", "read")
	mustRun(t, bin, nil, "export", "--data", data, "--org", "acme", "--out", filepath.Join(t.TempDir(), "x.json"))
	mustRun(t, bin, nil, "export", "--data", data, "--org", "acmee", "--out", filepath.Join(t.TempDir(), "y.json"))
	mustRun(t, bin, nil, "export", "--data", data, "--org", "acmee", "--out", filepath.Join(t.TempDir(), "z.json"))
	out := mustRun(t, bin, nil, "orgs", "--data", data).stdout
	if !regexp.MustCompile(`(?m)^ORG\s+EVENTS\s+CHECKPOINT\n^acme\s+1\s+\d+\n^acmee\s+2\s+\d+\n$`).MatchString(out) {
		t.Errorf("trail orgs:\n%s", out)
	}
	var doc struct {
		Orgs []struct {
			Org    string `json:"org"`
			Events int64  `json:"events"`
		} `json:"orgs"`
	}
	out = mustRun(t, bin, nil, "orgs", "--json", "--data", data).stdout
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Orgs) != 2 || doc.Orgs[1].Org != "acmee" || doc.Orgs[1].Events != 2 {
		t.Errorf("trail orgs --json: %v\n%s", err, out)
	}
}

// TestKeysCLITruth: create names the key id, revoke of a revoked key says
// so, --expires takes days, list --json, trail keys lists its subcommands.
func TestKeysCLITruth(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	res := mustRun(t, bin, nil, "keys", "create", "--data", data, "--scope", "read", "--org", "acme", "--expires", "30d")
	id := regexp.MustCompile(`\bkey_[A-Za-z0-9_-]+`).FindString(res.stderr)
	if id == "" || !strings.Contains(res.stderr, "trail keys revoke "+id) {
		t.Fatalf("keys create stderr %q: want the key id and how to revoke it", res.stderr)
	}
	out := mustRun(t, bin, nil, "keys", "list", "--json", "--data", data).stdout
	var raw struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil || len(raw.Keys) != 1 {
		t.Fatalf("keys list --json: %v\n%s", err, out)
	}
	k := raw.Keys[0]
	exp, err := time.Parse(time.RFC3339, k["expires_at"])
	if k["id"] != id || k["status"] != "active" || k["scope"] != "read" || k["org"] != "acme" || err != nil ||
		exp.Sub(time.Now()) < 29*24*time.Hour || exp.Sub(time.Now()) > 31*24*time.Hour {
		t.Errorf("keys list --json: %v; want %s active, read, acme, expiring in 30 days", k, id)
	}
	if res := mustRun(t, bin, nil, "keys", "revoke", "--data", data, id); !strings.Contains(res.stderr, "revoked "+id) {
		t.Errorf("first revoke: %q", res.stderr)
	}
	if res := mustRun(t, bin, nil, "keys", "revoke", "--data", data, id); !strings.Contains(res.stderr, "already revoked") {
		t.Errorf("second revoke: %q, want it to say the key was already revoked", res.stderr)
	}
	res = runTrail(t, bin, nil, "keys")
	for _, sub := range []string{"create", "list", "revoke", "verifier", "rotate-signing"} {
		if res.code != 2 || !strings.Contains(res.stderr, "trail keys "+sub) {
			t.Errorf("trail keys alone: exit %d, want 2 listing %q:\n%s", res.code, sub, res.stderr)
		}
	}
	if res := runTrail(t, bin, nil, "keys", "create", "--data", data, "--scope", "read", "--expires", "3x"); res.code != 2 {
		t.Errorf("--expires 3x: exit %d, want 2", res.code)
	}
}

// TestExportProgressNotOnPipe: \r progress belongs on a terminal only.
func TestExportProgressNotOnPipe(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	createKeyCLI(t, bin, data, "--scope", "read")
	res := mustRun(t, bin, nil, "export", "--data", data, "--org", "acme", "--out", filepath.Join(t.TempDir(), "x.json"))
	if strings.Contains(res.stderr, "\r") || !strings.Contains(res.stderr, "exported 0 events of acme") {
		t.Errorf("export stderr to a pipe: %q; want one summary line and no \\r", res.stderr)
	}
}

// TestSigningKeyFingerprints: after a rotation, keys verifier tells the
// signing key from the trusted earlier one by hash and fingerprint.
func TestSigningKeyFingerprints(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	s := startServer(t, bin, data) // creates the signing key
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	old := strings.TrimSpace(mustRun(t, bin, nil, "keys", "verifier", "--data", data).stdout)
	rot := mustRun(t, bin, nil, "keys", "rotate-signing", "--data", data)
	neu := strings.TrimSpace(rot.stdout)
	label := func(vk string) string { f := strings.SplitN(vk, "+", 3); return f[0] + "+" + f[1] }
	if !strings.Contains(rot.stderr, "signs new checkpoints: "+label(neu)+" (fingerprint SHA256:") ||
		!strings.Contains(rot.stderr, "trusted, signs nothing new: "+label(old)+" (fingerprint SHA256:") {
		t.Errorf("rotate-signing stderr:\n%s\nwant the new key %s as signing and the old %s as trusted, with fingerprints", rot.stderr, label(neu), label(old))
	}
	v := mustRun(t, bin, nil, "keys", "verifier", "--data", data)
	if !strings.Contains(v.stderr, "signs new checkpoints: "+label(neu)) || !strings.Contains(v.stderr, "trusted earlier key (valid for what it signed, signs nothing new): "+label(old)) {
		t.Errorf("keys verifier after rotation, stderr:\n%s", v.stderr)
	}
}

// TestVerifyRefusesCSVAndGzip: verify says what to do with inputs that
// carry no integrity material or are compressed.
func TestVerifyRefusesCSVAndGzip(t *testing.T) {
	bin := trailBinary(t)
	dir := t.TempDir()
	csv := filepath.Join(dir, "acme.csv")
	gz := filepath.Join(dir, "acme.json.gz")
	os.WriteFile(csv, []byte("seq,id,occurred_at\n0,a,2026-01-01T00:00:00Z\n"), 0o600)
	os.WriteFile(gz, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}, 0o600)
	for file, want := range map[string]string{
		csv: "only JSON and NDJSON exports carry integrity material",
		gz:  "decompress it first",
	} {
		res := runTrail(t, bin, nil, "verify", file)
		if res.code != 1 || !strings.Contains(res.stderr, want) {
			t.Errorf("verify %s: exit %d, stderr %q; want 1 and %q", file, res.code, res.stderr, want)
		}
	}
}
