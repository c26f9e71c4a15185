// SPDX-License-Identifier: Apache-2.0

package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
)

// TestRetentionEndToEnd runs retention with the real binary on the log
// engine: a policy of 2s under a legal hold prunes nothing; released, the
// server's pruner removes the sealed blocks, records it, and the list
// states the first kept seq; an export (beside the server, through its
// API) verifies with trail verify, which reports the pruned range; with
// the server stopped, trail prune and trail check work on the directory;
// the SQLite engine refuses a finite retention with the fix.
func TestRetentionEndToEnd(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	store := []string{"--store", "log:"}
	key := createKeyCLI(t, bin, data, append(store, "--scope", "admin")...)
	s := startServer(t, bin, data, "--store", "log:?block-events=16&page-events=4", "--prune-interval", "300ms")
	c := apiClient(s.base, key)
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
		t.Fatalf("after the hold is released: %d prune events, pruned before %d; want 1, 96 (six blocks of 16)\n%s", len(page.Events), page.PrunedBefore, s.logs)
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
	if err := stopServer(s.cmd); err != nil {
		t.Fatal(err)
	}
	if r := mustRun(t, bin, nil, append([]string{"prune", "--data", data, "--org", "acme"}, store...)...); !strings.Contains(r.stdout, "acme: ") || !strings.Contains(r.stdout, "first kept seq 96") {
		t.Errorf("trail prune: %s", r.stdout)
	}
	if out := mustRun(t, bin, nil, append([]string{"check", "--data", data}, store...)...).stdout; !strings.Contains(out, "ok       acme:") || !strings.Contains(out, "events 0 … 95 were pruned") {
		t.Errorf("check after pruning:\n%s", out)
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
