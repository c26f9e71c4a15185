// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"strings"
	"testing"
)

// TestDetailsShowCheckpointInclusion: an event's details say that the
// latest signed checkpoint includes it.
func TestDetailsShowCheckpointInclusion(t *testing.T) {
	e := newEnvWith(t, envOptions{sign: true})
	e.ingest("acme", changeRole("ev-1", "alice", "bob"), changeRole("ev-2", "carol", "dan"))
	c := e.login("acme", "u_alice", "alice")
	r, _ := e.page(c, "acme", "event=ev-1")
	if r.Status != 200 {
		t.Fatalf("page: got status %d, want 200", r.Status)
	}
	if want := "Included in the latest signed checkpoint"; !strings.Contains(r.Body, want) {
		t.Errorf("event details: no %q in the page", want)
	}
	if strings.Contains(r.Body, `id="quarantine"`) {
		t.Error("a healthy org is flagged as quarantined")
	}

	// Without a signing key the line is left out, not shown wrong.
	u := newEnv(t)
	u.ingest("acme", changeRole("ev-1", "alice", "bob"))
	r, _ = u.page(u.login("acme", "u_alice", "alice"), "acme", "event=ev-1")
	if strings.Contains(r.Body, "signed checkpoint") {
		t.Error("details mention a signed checkpoint although Trail signs none")
	}
}
