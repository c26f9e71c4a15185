// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/ledger"
)

// TestVerifyEndToEnd is the auditor's path with the real binary: ingest
// through the API, export, verify with the pinned key from `trail keys
// verifier`, see one changed byte named, prove a later export extends the
// first, and find stored tampering with `trail check` and at start. The
// tampering edits the SQLite engine's tables, so the test selects that
// engine; the log engine's damage tests are in internal/logstore
// (recover_test.go) and TestConvertRefusesDamagedSource.
func TestVerifyEndToEnd(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	srv := startServer(t, bin, data, "--checkpoint-interval", "200ms", "--store", "sqlite:")
	stopped := false
	defer func() {
		if !stopped {
			srv.Stop()
		}
	}()
	ingestKey := createKeyCLI(t, bin, data, "--scope", "ingest", "--store", "sqlite:")
	readKey := createKeyCLI(t, bin, data, "--scope", "read", "--store", "sqlite:")
	c := apiClient(srv.Base, ingestKey)
	for b := range 3 {
		var evs = make([]client.Event, 0, 40)
		for i := range 40 {
			evs = append(evs, repoCreate(b*100+i, fmt.Sprintf("acme/m%d", i)))
		}
		if _, err := c.Ingest(testCtx(t), "acme", evs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Ingest(testCtx(t), "beta", []client.Event{repoCreate(1, "beta/x")}); err != nil {
		t.Fatal(err)
	}
	key := strings.SplitN(mustRun(t, bin, nil, "keys", "verifier", "--data", data).stdout, "\n", 2)[0]
	if !strings.Contains(key, "+") {
		t.Fatalf("keys verifier printed %q", key)
	}
	dir := t.TempDir()
	download := func(name, query string) string {
		status, body := httpGet(t, srv.Base+"/api/v1/orgs/acme/export?"+query, readKey)
		if status != 200 {
			t.Fatalf("export: %d %s", status, body)
		}
		path := filepath.Join(dir, name)
		os.WriteFile(path, body, 0o600)
		return path
	}
	first := download("first.json", "format=json")

	res := mustRun(t, bin, nil, "verify", first, "--key", key)
	if !strings.Contains(res.stdout, "verified") || !strings.Contains(res.stdout, "complete") || !strings.Contains(res.stdout, "size:       120") {
		t.Errorf("verify output:\n%s", res.stdout)
	}
	// No pinned key: everything checked, the fingerprint printed, status 3.
	res = runTrail(t, bin, nil, "verify", first)
	if res.code != 3 || !strings.Contains(res.stderr, "NOT PINNED") || !strings.Contains(res.stderr, "SHA256:") {
		t.Errorf("verify without --key: status %d\n%s", res.code, res.stderr)
	}
	// One changed byte names the event.
	doc, _ := os.ReadFile(first)
	i := bytes.Index(doc, []byte(`"acme/m7"`))
	tampered := bytes.Clone(doc)
	tampered[i+6] = '8'
	bad := filepath.Join(dir, "tampered.json")
	os.WriteFile(bad, tampered, 0o600)
	res = runTrail(t, bin, nil, "verify", bad, "--key", key)
	if res.code != 1 || !strings.Contains(res.stderr, `event seq 7 (id "ev-7")`) {
		t.Errorf("verify of a tampered export: status %d\n%s", res.code, res.stderr)
	}
	// A later export extends the first; NDJSON and filtered ones verify.
	if _, err := c.Ingest(testCtx(t), "acme", []client.Event{repoCreate(999, "acme/late")}); err != nil {
		t.Fatal(err)
	}
	second := download("second.json", "format=json")
	res = mustRun(t, bin, nil, "verify", second, "--key", key, "--previous", first)
	if !strings.Contains(res.stdout, "extends:") {
		t.Errorf("verify --previous output:\n%s", res.stdout)
	}
	mustRun(t, bin, nil, "verify", download("n.ndjson", "format=ndjson&integrity=1"), "--key", key)
	mustRun(t, bin, nil, "verify", download("f.json", "format=json&q=actor:alice"), "--key", key)
	res = runTrail(t, bin, nil, "verify", first, "--key", key, "--previous", second)
	if res.code != 1 {
		t.Errorf("an older export does not extend a newer one: status %d\n%s", res.code, res.stderr)
	}
	cli := filepath.Join(dir, "cli.json")
	mustRun(t, bin, nil, "export", "--org", "acme", "--data", data, "--out", cli, "--store", "sqlite:")
	mustRun(t, bin, nil, "verify", cli, "--key", key, "--previous", second)

	// Stored data: intact, then tampered while the server is down.
	mustRun(t, bin, nil, "check", "--data", data, "--store", "sqlite:")
	srv.Stop()
	stopped = true
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "trail.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET data = replace(CAST(data AS TEXT), 'acme/m3"', 'acme/m4"') WHERE id = 'ev-3'`); err != nil {
		t.Fatal(err)
	}
	// The leaf hash of seq 3 (stored hash index 4) too, as a careful
	// attacker would, so that the stored root changes.
	if _, err := db.Exec(`UPDATE tree SET hash = zeroblob(32) WHERE idx = 4 AND org = (SELECT num FROM orgs WHERE name = 'acme')`); err != nil {
		t.Fatal(err)
	}
	// And, as one hiding a change would have to, a hash the stored root
	// at the last checkpoint is made of.
	var cpSize int64
	if err := db.QueryRow(`SELECT size FROM checkpoints WHERE org = (SELECT num FROM orgs WHERE name = 'acme')`).Scan(&cpSize); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE tree SET hash = zeroblob(32) WHERE idx = ? AND org = (SELECT num FROM orgs WHERE name = 'acme')`, ledger.EdgeIndexes(cpSize)[0]); err != nil {
		t.Fatal(err)
	}
	db.Close()
	res = runTrail(t, bin, nil, "check", "--data", data, "--store", "sqlite:")
	if res.code != 1 || !strings.Contains(res.stdout, `MISMATCH acme: event seq 3 (id "ev-3")`) || !strings.Contains(res.stdout, "ok       beta") {
		t.Errorf("check of tampered data: status %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	// At start the server quarantines acme (its root no longer matches its
	// checkpoint) and serves beta.
	srv = startServer(t, bin, data, "--store", "sqlite:")
	defer srv.Stop()
	if !strings.Contains(srv.Logs(), "org quarantined") {
		t.Errorf("no quarantine in the log:\n%s", srv.Logs())
	}
	c = apiClient(srv.Base, ingestKey)
	_, err = c.Ingest(testCtx(t), "acme", []client.Event{repoCreate(1000, "acme/after")})
	if err == nil || !strings.Contains(err.Error(), "quarantined") {
		t.Errorf("ingest into the quarantined org: %v", err)
	}
	if _, err := c.Ingest(testCtx(t), "beta", []client.Event{repoCreate(2, "beta/y")}); err != nil {
		t.Errorf("ingest into another org: %v", err)
	}
	if status, body := httpGet(t, srv.Base+"/metrics", ""); status != 200 || !strings.Contains(string(body), `trail_org_quarantined{org="acme"} 1`) {
		t.Errorf("metrics: %d, no trail_org_quarantined", status)
	}
}
