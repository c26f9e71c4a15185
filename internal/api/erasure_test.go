// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/trailtest"
	"github.com/trailaudit/trail/verify"
)

// TestErasureOverHTTP erases a person on the log engine: every event
// naming them is rewritten ([erased], a redacted leaf hash), others are
// untouched, the export still verifies and names the redacted events, the
// erasure is recorded naming no one, and no file under the data directory
// (blocks, write-ahead log, SQLite catalog and its WAL) holds the
// person's id or names any more.
func TestErasureOverHTTP(t *testing.T) {
	e := newEnv(t)
	c := e.client(e.Admin)
	ctx := t.Context()
	zelda := changeRole("e1", "zelda")
	zelda.Targets[0].Name = "Zelda Quintanilla"
	byZelda := repoCreate("e2", "zmodel")
	byZelda.Actor = client.Actor{Type: "user", ID: "u_zelda", Name: "Zelda Quintanilla"}
	mention := repoCreate("e3", "other")
	mention.Description = "bob created a model for Zelda Quintanilla"
	e.ingest("acme", changeRole("e0", "carol"), zelda, byZelda, mention, repoCreate("e4", "llama"))
	if _, err := c.CreateViewerLink(ctx, "acme", "u_zelda", "Zelda Quintanilla"); err != nil {
		t.Fatal(err)
	}
	e.ingest("beta", changeRole("b1", "carol")) // another org
	// Seal, so that the person is in compressed blocks too, and make sure
	// the search below finds them there (or it would prove nothing).
	if err := e.Store.(*logstore.Store).Seal(ctx); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"u_zelda", "Quintanilla"} {
		if files := trailtest.FilesHolding(t, e.Data, v); !slices.ContainsFunc(files, func(f string) bool { return strings.HasSuffix(f, ".blk") }) {
			t.Fatalf("before the erasure, no block file holds %q (found in %v): the search below would prove nothing", v, files)
		}
	}

	// Bad requests first: nothing starts.
	for _, body := range []string{`{"reason":"x"}`, `{"user_id":"u_zelda"}`, `{"user_id":"u_zelda","reason":"  "}`, `{"user_id":"u_zelda","reason":"x","extra":1}`} {
		if r := e.do("POST", "/api/v1/orgs/acme/erasures", e.Admin, "application/json", []byte(body)); r.Status != 400 {
			t.Errorf("POST erasures %s: %d %s", body, r.Status, r.Body)
		}
	}
	started, err := c.StartErasure(ctx, "acme", "u_zelda", "GDPR request #12")
	if err != nil || started.ID == "" || started.State != "running" && started.State != "done" {
		t.Fatalf("StartErasure = %+v, %v", started, err)
	}
	var done *client.Erasure
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if done, err = c.Erasure(ctx, "acme", started.ID); err != nil {
			t.Fatal(err)
		}
		if done.State != "running" || time.Now().After(deadline) {
			break
		}
	}
	if done.State != "done" || done.Events != 3 {
		t.Fatalf("erasure = %+v, want done with 3 events", done)
	}
	if _, err := c.Erasure(ctx, "beta", started.ID); err == nil {
		t.Error("the erasure is visible under another org")
	}

	evs := e.all("acme")
	for _, raw := range evs {
		s := string(raw)
		if strings.Contains(s, "zelda") || strings.Contains(s, "Zelda") {
			t.Errorf("an event still names the person: %s", s)
		}
	}
	redacted := 0
	for _, raw := range evs {
		if bytes.Contains(raw, []byte(`"redacted":{"leaf_hash":"`)) {
			redacted++
		}
	}
	last := string(evs[len(evs)-1])
	if redacted != 3 || !strings.Contains(last, `"type":"org.audit_log.erasure"`) || !strings.Contains(last, started.ID) || !strings.Contains(last, "GDPR request #12") {
		t.Errorf("%d redacted events; the last event: %s", redacted, last)
	}
	if b := string(e.all("beta")[0]); !strings.Contains(b, "u_carol") || strings.Contains(b, "redacted") {
		t.Errorf("the erasure touched another org: %s", b)
	}

	// The export verifies, and names the redacted events.
	rc, _, err := c.ExportWith(ctx, "acme", client.ExportOptions{Format: "json", Integrity: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(rc)
	rc.Close()
	x, err := verify.ParseExport(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	res, err := verify.Verify(x, verify.Options{})
	if res == nil || len(res.Redacted) != 3 || res.Redacted[0].Erasure != started.ID {
		t.Fatalf("verify of the export after the erasure: %+v, %v", res, err)
	}

	// No file under the data directory names the person.
	for _, v := range []string{"u_zelda", "Zelda", "Quintanilla"} {
		if files := trailtest.FilesHolding(t, e.Data, v); len(files) > 0 {
			t.Errorf("%v still hold %q", files, v)
		}
	}

	// New events about the person are stored as usual.
	e.ingest("acme", changeRole("e9", "zelda"))
}

// TestErasureRefusedOnSQLite: the SQLite engine cannot rewrite events.
func TestErasureRefusedOnSQLite(t *testing.T) {
	e := newEnvWith(t, envOptions{sqlite: true})
	r := e.do("POST", "/api/v1/orgs/acme/erasures", e.Admin, "application/json", []byte(`{"user_id":"u_zelda","reason":"x"}`))
	if r.Status != 400 || !strings.Contains(r.apiError().Message, "trail migrate-store --from sqlite:DIR --to log:DIR") {
		t.Errorf("erasure on the SQLite engine: %d %s", r.Status, r.Body)
	}
}
