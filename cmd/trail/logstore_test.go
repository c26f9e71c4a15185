// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/logstore"
)

// TestLogEngineCLI runs the CLI end to end on the log engine, the
// default store (the server runs with small blocks): serve, ingest and
// list, then keys, link and check beside the running server, export
// beside it through the server's API (verified, recorded, its temporary
// key revoked), then export and verify with the server stopped, and a
// restart.
func TestLogEngineCLI(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	var store []string // the default: the log engine in --data
	key := createKeyCLI(t, bin, data, append(store, "--scope", "admin")...)
	s := startServer(t, bin, data, "--store", "log:?block-events=16&page-events=4")
	c := apiClient(s.Base, key)
	for i := 0; i < 100; i += 10 {
		var evs []client.Event
		for j := i; j < i+10; j++ {
			evs = append(evs, repoCreate(j, "acme/model-"+strconv.Itoa(j)))
		}
		if _, err := c.Ingest(testCtx(t), "acme", evs); err != nil {
			t.Fatal(err)
		}
	}
	if n := logSize(t, c, "acme"); n != 100 {
		t.Fatalf("log size %d, want 100", n)
	}

	// Beside the running server: keys and links go through the catalog,
	// check reads what was acknowledged when it started.
	readKey := createKeyCLI(t, bin, data, append(store, "--scope", "read", "--org", "acme")...)
	page, err := apiClient(s.Base, readKey).List(testCtx(t), "acme", client.ListOptions{Query: "model-42", Limit: 5})
	if err != nil || len(page.Events) != 1 || decodeEvent(t, page.Events[0]).ID != "ev-42" {
		t.Fatalf("a key made beside the server, searching model-42: %v %v", page, err)
	}
	link := strings.SplitN(mustRun(t, bin, nil, append([]string{"link", "--org", "acme", "--user", "u_ada", "--data", data,
		"--public-url", s.Base + "/"}, store...)...).stdout, "\n", 2)[0]
	if status, _ := spendLink(t, link); status != 200 {
		t.Errorf("a link made beside the server: status %d", status)
	}
	// Opening the page recorded one org.audit_log.view: 101 events.
	if out := mustRun(t, bin, nil, append([]string{"check", "--data", data}, store...)...).stdout; !strings.Contains(out, "ok       acme: 101 events") {
		t.Errorf("check beside the server:\n%s", out)
	}
	// Export beside the server goes through its API, with a temporary
	// read key the server records as the exporter and which is revoked.
	verifier := strings.SplitN(mustRun(t, bin, nil, "keys", "verifier", "--data", data).stdout, "\n", 2)[0]
	beside := filepath.Join(t.TempDir(), "beside.json")
	res := mustRun(t, bin, nil, append([]string{"export", "--org", "acme", "--data", data, "--out", beside}, store...)...)
	if !strings.Contains(res.stderr, "through the running server at "+s.Base) {
		t.Errorf("export beside the server: stderr %q; want it to say it went through the server", res.stderr)
	}
	if res := mustRun(t, bin, nil, "verify", beside, "--key", verifier); !strings.Contains(res.stdout, "101 of 101: complete") {
		t.Errorf("verify of the export made beside the server: %s", res.stdout)
	}
	page, err = c.List(testCtx(t), "acme", client.ListOptions{Query: "type:org.audit_log.export", Limit: 5})
	if err != nil || len(page.Events) != 1 || decodeEvent(t, page.Events[0]).Actor.Name != "trail export (CLI, temporary)" {
		t.Errorf("the export beside the server, recorded: %v %v", page, err)
	}
	if keys := mustRun(t, bin, nil, append([]string{"keys", "list", "--data", data}, store...)...).stdout; !strings.Contains(keys, "revoked") {
		t.Errorf("the export's temporary key is not revoked:\n%s", keys)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "acme.json")
	mustRun(t, bin, nil, append([]string{"export", "--org", "acme", "--data", data, "--out", out}, store...)...)
	if res := mustRun(t, bin, nil, "verify", out, "--key", verifier); !strings.Contains(res.stdout, "102 of 102: complete") {
		t.Errorf("verify of the export: %s", res.stdout)
	}
	s = serveOn(t, bin, data, store...)
	if n := logSize(t, apiClient(s.Base, key), "acme"); n != 103 {
		t.Errorf("after a restart: log size %d, want 103 (101 and the two recorded exports)", n)
	}
}

// TestConvertSQLiteToLog converts a schema-v1 SQLite data directory into
// the log engine with trail migrate-store: roots match the source's and
// the signed checkpoint, keys carry over, the server starts from the
// copy, and the source's database file is not changed.
func TestConvertSQLiteToLog(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	fillCheckedLog(t, data, 3000, 2500, rand.New(rand.NewPCG(8, 8)))
	key := createKeyCLI(t, bin, data, "--scope", "admin", "--store", "sqlite:")
	before, err := os.ReadFile(filepath.Join(data, "trail.db"))
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "log")
	if res := runTrail(t, bin, nil, "migrate-store", "--from", "sqlite:"+data, "--to", "log:"+data); res.code != 2 {
		t.Errorf("migrate-store into the source's own directory: exit %d, want 2", res.code)
	}
	res := mustRun(t, bin, nil, "migrate-store", "--from", "sqlite:"+data, "--to", "log:"+dest)
	if !strings.Contains(res.stderr, "every org's tree root matches") {
		t.Errorf("migrate-store: %s", res.stderr)
	}
	out := mustRun(t, bin, nil, "check", "--data", data, "--store", "log:"+dest).stdout
	if !strings.Contains(out, "ok       acme: 3000 events") || !strings.Contains(out, "matches its signed checkpoint of size 2500") {
		t.Errorf("check of the converted log:\n%s", out)
	}
	if after, _ := os.ReadFile(filepath.Join(data, "trail.db")); !bytes.Equal(after, before) {
		t.Error("the conversion changed the source database")
	}
	s := serveOn(t, bin, data, "--store", "log:"+dest)
	c := apiClient(s.Base, key)
	if n := logSize(t, c, "acme"); n != 3000 {
		t.Errorf("served from the converted log: size %d, want 3000", n)
	}
	page, err := c.List(testCtx(t), "acme", client.ListOptions{Query: `"event number 1234"`, Limit: 5})
	if err != nil || len(page.Events) != 1 || decodeEvent(t, page.Events[0]).Seq != 1234 {
		t.Errorf("search in the converted log: %v %v", page, err)
	}
}

// TestConvertSurvivesSIGKILL kills trail migrate-store at random moments
// of a conversion, runs it again until it completes, and checks the
// result: every event, the root against the signed checkpoint, and the
// source unchanged.
func TestConvertSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary; skipped with -short")
	}
	bin := trailBinary(t)
	data := t.TempDir()
	rng := rand.New(rand.NewPCG(9, 9))
	fillCheckedLog(t, data, 20000, 19000, rng)
	before, _ := os.ReadFile(filepath.Join(data, "trail.db"))
	dest := filepath.Join(t.TempDir(), "log")
	args := []string{"migrate-store", "--from", "sqlite:" + data, "--to", "log:" + dest}
	for kill := 0; kill < 5; kill++ {
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(50+rng.IntN(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if ls, err := logstore.Open(dest, logstore.Options{ManualSeal: true}); err == nil {
			n, _ := ls.Size(context.Background(), "acme")
			t.Logf("after kill %d: %d events converted", kill, n)
			ls.Close()
		}
	}
	mustRun(t, bin, nil, args...)
	out := mustRun(t, bin, nil, "check", "--data", data, "--store", "log:"+dest).stdout
	if !strings.Contains(out, "ok       acme: 20000 events") || !strings.Contains(out, "matches its signed checkpoint of size 19000") {
		t.Errorf("check after a conversion killed 5 times:\n%s", out)
	}
	if after, _ := os.ReadFile(filepath.Join(data, "trail.db")); !bytes.Equal(after, before) {
		t.Error("the killed conversions changed the source database")
	}
}
