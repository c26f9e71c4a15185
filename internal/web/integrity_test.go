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

// TestQuarantinedOrgPageShowsWithoutRecording: a quarantined org takes no
// new events, but its admins can still read its log: a session's first
// view shows the page with the quarantine banner and the events, records
// nothing (it cannot), and logs a warning instead.
func TestQuarantinedOrgPageShowsWithoutRecording(t *testing.T) {
	e := newEnvWith(t, envOptions{sign: true})
	e.ingest("acme", changeRole("ev-1", "alice", "bob"), changeRole("ev-2", "carol", "dan"))
	e.Svc.Quarantine("acme", "the test quarantined it")
	c := e.login("acme", "u_admin", "admin")

	for _, query := range []string{"", "q=actor:alice", "event=ev-1"} {
		r, _ := e.page(c, "acme", query)
		if r.Status != 200 {
			t.Fatalf("page %q of a quarantined org: status %d, want 200\n%s", query, r.Status, r.Body)
		}
		if !strings.Contains(r.Body, `id="quarantine"`) || !strings.Contains(r.Body, "the test quarantined it") {
			t.Errorf("page %q: no quarantine banner with its reason", query)
		}
		if !strings.Contains(r.Body, "alice changed") {
			t.Errorf("page %q does not show the org's events", query)
		}
	}
	if got := len(e.events("acme")); got != 2 {
		t.Errorf("the quarantined org has %d events, want its 2 (nothing appended)", got)
	}
	logs := e.Logs.String()
	if !strings.Contains(logs, `"level":"WARN","msg":"audit-log view not recorded: the org is quarantined"`) ||
		!strings.Contains(logs, `"org":"acme","user":"u_admin"`) {
		t.Errorf("no warning naming the org and the admin for the unrecorded view:\n%s", logs)
	}

	// Another org's views are recorded as before.
	other := e.login("other", "u_admin", "admin")
	if r, _ := e.page(other, "other", ""); r.Status != 200 || !strings.Contains(r.Body, "admin viewed the audit log") {
		t.Errorf("a healthy org's view is not recorded: %d", r.Status)
	}
}
