// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/logstore"
)

// TestPageShowsRetention: the page says how long the org's events are
// kept, the legal hold, and the pruned range; its count leaves the pruned
// events out. An org kept forever shows nothing of it.
func TestPageShowsRetention(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	for i := range 5 {
		e.ingest("acme", changeRole(fmt.Sprint("ev-", i), "alice", "bob"))
	}
	c := e.login("acme", "u_admin", "admin")
	if r, _ := e.page(c, "acme", ""); strings.Contains(r.Body, `id="retention"`) {
		t.Errorf("an org kept forever shows a retention line")
	}
	admin := audit.Actor{Type: "token", ID: "k", Name: "admin"}
	if _, err := e.Svc.SetPolicy(ctx, "acme", audit.Policy{Retention: "400d", LegalHold: true, LegalHoldReason: "case <9>"}, admin); err != nil {
		t.Fatal(err)
	}
	r, _ := e.page(c, "acme", "")
	if !strings.Contains(r.Body, "Events are kept 400d after Trail receives them. Legal hold: nothing is removed (case &lt;9&gt;).") {
		t.Errorf("the policy is not shown (escaped):\n%s", r.Body)
	}
	if _, err := e.Svc.SetPolicy(ctx, "acme", audit.Policy{Retention: "1s"}, admin); err != nil {
		t.Fatal(err)
	}
	st := e.Store.(*logstore.Store)
	if err := st.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := st.Prune(ctx, "acme", time.Now().Add(time.Hour))
	if err != nil || res.To == 0 {
		t.Fatalf("Prune = %+v, %v", res, err)
	}
	r, _ = e.page(c, "acme", "")
	size, _ := st.Size(ctx, "acme")
	want := fmt.Sprintf("Events are kept 1s after Trail receives them. Events 0 to %d were removed by retention; this log starts at event %d", res.To-1, res.To)
	if !strings.Contains(r.Body, want) {
		t.Errorf("the pruned range is not shown (%q):\n%s", want, r.Body)
	}
	if size == res.To && !strings.Contains(r.Body, `id="state-pruned"`) {
		t.Errorf("every event pruned, but the page does not say so:\n%s", r.Body)
	}
	// The count is of the kept events.
	if !strings.Contains(r.Body, fmt.Sprintf(`id="count">%d event`, size-res.To)) {
		t.Errorf("the count is not of the kept events (size %d, pruned %d):\n%s", size, res.To, r.Body)
	}
}
