// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/trailaudit/trail/client"
)

// TestSearchValueLists lists events with a qualifier's values OR'ed, a
// negated list, a quoted comma, and a list over the bound.
func TestSearchValueLists(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("l-1", "carol"), repoCreate("l-2", "llama"), changeRole("l-3", "dave"),
		repoCreate("l-4", "mistral"), changeRole("l-5", "a,b"))
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"target:carol,acme/mistral", []string{"l-4", "l-1"}},
		{"target:carol,acme/mistral,dave type:org.change_role", []string{"l-3", "l-1"}},
		{"-target:carol,acme/mistral", []string{"l-5", "l-3", "l-2"}},
		{"actor:bob,alice", []string{"l-5", "l-4", "l-3", "l-2", "l-1"}},
		{`target:"a,b"`, []string{"l-5"}},
		{"target:a,b", nil},
		{"type:repo.*,org.*", []string{"l-5", "l-4", "l-3", "l-2", "l-1"}},
	} {
		p, err := e.client(e.Admin).List(context.Background(), "acme", client.ListOptions{Query: c.q})
		if err != nil {
			t.Fatalf("q=%q: %v", c.q, err)
		}
		var got []string
		for _, raw := range p.Events {
			got = append(got, decodeStored(t, raw).ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("q=%q: got %v, want %v", c.q, got, c.want)
		}
	}
	q := "actor:" + strings.Repeat("x,", 20) + "alice"
	r := e.get("/api/v1/orgs/acme/events?q="+url.QueryEscape(q), e.Admin)
	if ae := r.apiError(); r.Status != 400 || ae.Position == nil || *ae.Position != 46 ||
		!strings.Contains(ae.Message, "too many values for actor:; the limit is 20") {
		t.Errorf("21 values: %d %s, want a 400 at position 46", r.Status, r.Body)
	}
}
