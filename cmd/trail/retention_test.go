// SPDX-License-Identifier: Apache-2.0

package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/trailtest"
)

// TestRetentionEndToEnd runs retention with the real binary on the log
// engine: a policy of 2s under a legal hold prunes nothing; released, the
// server's pruner removes the sealed blocks, records it, and the list
// states the first kept seq; an export (beside the server, through its
// API) verifies with trail verify, which reports the pruned range; with
// the server stopped, trail prune and trail check work on the directory;
// a person is erased with trail erase, the export verifies naming the
// redacted events, and no file of the directory holds the person; the
// SQLite engine refuses a finite retention with the fix.
func TestRetentionEndToEnd(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	store := []string{"--store", "log:"}
	key := createKeyCLI(t, bin, data, append(store, "--scope", "admin")...)
	s := startServer(t, bin, data, "--store", "log:?block-events=16&page-events=4", "--prune-interval", "300ms")
	c := apiClient(s.Base, key)
	ctx := testCtx(t)
	if _, err := c.SetPolicy(ctx, "acme", client.Policy{Retention: "2s", LegalHold: true, LegalHoldReason: "case 7"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i += 10 {
		var evs []client.Event
		for j := i; j < i+10; j++ {
			evs = append(evs, repoCreate(j, "acme/model-"+strconv.Itoa(j)))
		}
		if _, err := c.Ingest(ctx, "acme", evs); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(3 * time.Second) // every event is due, but held
	if p, err := c.List(ctx, "acme", client.ListOptions{Limit: 1}); err != nil || p.PrunedBefore != 0 {
		t.Fatalf("under a legal hold: %+v %v", p, err)
	}
	if _, err := c.SetPolicy(ctx, "acme", client.Policy{Retention: "2s"}); err != nil {
		t.Fatal(err)
	}
	var page *client.Page
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		if page, err = c.List(ctx, "acme", client.ListOptions{Query: "type:org.audit_log.prune", Limit: 5}); err != nil {
			t.Fatal(err)
		}
		if len(page.Events) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(page.Events) != 1 || page.PrunedBefore != 96 {
		t.Fatalf("after the hold is released: %d prune events, pruned before %d; want 1, 96 (six blocks of 16)\n%s", len(page.Events), page.PrunedBefore, s.Logs())
	}
	ev := decodeEvent(t, page.Events[0])
	if ev.Actor.ID != "trail" || !strings.Contains(string(page.Events[0]), `"from_seq":0`) || !strings.Contains(string(page.Events[0]), `"to_seq":95`) {
		t.Errorf("the prune event: %s", page.Events[0])
	}
	verifier := strings.SplitN(mustRun(t, bin, nil, "keys", "verifier", "--data", data).stdout, "\n", 2)[0]
	out := filepath.Join(t.TempDir(), "acme.json")
	mustRun(t, bin, nil, append([]string{"export", "--org", "acme", "--data", data, "--out", out}, store...)...)
	res := mustRun(t, bin, nil, "verify", out, "--key", verifier)
	if !strings.Contains(res.stdout, "pruned:     events 0 … 95 (96) were removed by retention") || !strings.Contains(res.stdout, "verified") {
		t.Errorf("verify of the pruned export:\n%s", res.stdout)
	}
	if r := runTrail(t, bin, nil, append([]string{"prune", "--data", data}, store...)...); r.code != 1 || !strings.Contains(r.stderr, "running trail serve") {
		t.Errorf("trail prune beside the server: exit %d, %s", r.code, r.stderr)
	}
	// Events about a person, for the erasure below.
	zelda := repoCreate(200, "acme/zmodel")
	zelda.Actor = client.Actor{Type: "user", ID: "u_zelda", Name: "Zelda Quintanilla"}
	mention := repoCreate(201, "acme/other")
	mention.Description = "bob made a model for Zelda Quintanilla"
	if _, err := c.Ingest(ctx, "acme", []client.Event{zelda, mention}); err != nil {
		t.Fatal(err)
	}
	if r := runTrail(t, bin, nil, append([]string{"erase", "--data", data, "--org", "acme", "--user", "u_zelda", "--reason", "GDPR #1"}, store...)...); r.code != 1 || !strings.Contains(r.stderr, "erase through its API") {
		t.Errorf("trail erase beside the server: exit %d, %s", r.code, r.stderr)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if r := mustRun(t, bin, nil, append([]string{"prune", "--data", data, "--org", "acme"}, store...)...); !strings.Contains(r.stdout, "acme: ") || !strings.Contains(r.stdout, "first kept seq 96") {
		t.Errorf("trail prune: %s", r.stdout)
	}
	if out := mustRun(t, bin, nil, append([]string{"check", "--data", data}, store...)...).stdout; !strings.Contains(out, "ok       acme:") || !strings.Contains(out, "events 0 … 95 were pruned") {
		t.Errorf("check after pruning:\n%s", out)
	}

	// Erase the person, export, verify; no file of the directory names them.
	if len(trailtest.FilesHolding(t, data, "Quintanilla")) == 0 {
		t.Fatal("the data directory does not hold the name before the erasure: the search below would prove nothing")
	}
	if r := mustRun(t, bin, nil, append([]string{"erase", "--data", data, "--org", "acme", "--user", "u_zelda", "--reason", "GDPR #1"}, store...)...); !strings.Contains(r.stdout, "done: 2 events of acme rewritten") {
		t.Errorf("trail erase: %s", r.stdout)
	}
	mustRun(t, bin, nil, append([]string{"export", "--org", "acme", "--data", data, "--out", out}, store...)...)
	res = mustRun(t, bin, nil, "verify", out, "--key", verifier)
	if !strings.Contains(res.stdout, "redacted:   2 events had a person erased") || !strings.Contains(res.stdout, "pruned:     events 0 … 95") || !strings.Contains(res.stdout, "verified") {
		t.Errorf("verify after the erasure:\n%s", res.stdout)
	}
	for _, v := range []string{"u_zelda", "Zelda", "Quintanilla"} {
		if files := trailtest.FilesHolding(t, data, v); len(files) > 0 {
			t.Errorf("after the erasure, %v still hold %q", files, v)
		}
	}
	if out := mustRun(t, bin, nil, append([]string{"check", "--data", data}, store...)...).stdout; !strings.Contains(out, "ok       acme:") {
		t.Errorf("check after the erasure:\n%s", out)
	}

	// The SQLite engine cannot prune: serve and prune say how to convert.
	other := t.TempDir()
	createKeyCLI(t, bin, other, "--scope", "admin", "--store", "sqlite:"+other)
	if r := runTrail(t, bin, nil, "serve", "--addr", "127.0.0.1:0", "--data", other, "--store", "sqlite:"+other, "--retention", "400d"); r.code != 1 || !strings.Contains(r.stderr, "trail migrate-store --from sqlite:DIR --to log:DIR") {
		t.Errorf("serve --retention 400d on the SQLite engine: exit %d, %s", r.code, r.stderr)
	}
	if r := runTrail(t, bin, nil, "prune", "--data", other, "--store", "sqlite:"+other); r.code != 1 || !strings.Contains(r.stderr, "trail migrate-store") {
		t.Errorf("prune on the SQLite engine: exit %d, %s", r.code, r.stderr)
	}
}
