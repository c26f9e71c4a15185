// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/trailaudit/trail/client"
)

func TestIngestListExportRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	acks := e.ingest("acme", changeRole("", "bob"), repoCreate("r1", "llama"), changeRole("cr-2", "carol"))
	for i, a := range acks {
		if a.Seq != int64(i) || a.ID == "" {
			t.Errorf("ack %d = %+v, want seq %d and an id", i, a, i)
		}
	}
	if acks[1].ID != "r1" {
		t.Errorf("ack 1 id = %q, want the producer's r1", acks[1].ID)
	}

	page, err := e.client(e.Admin).List(ctx, "acme", client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 3 || page.NextCursor != "" {
		t.Fatalf("list: %d events, cursor %q; want 3 and none", len(page.Events), page.NextCursor)
	}
	for i, raw := range page.Events {
		ev := decodeStored(t, raw)
		if want := int64(2 - i); ev.Seq != want || ev.Org != "acme" {
			t.Errorf("event %d: seq %d org %q, want seq %d org acme", i, ev.Seq, ev.Org, want)
		}
		one, err := e.client(e.Admin).Event(ctx, "acme", ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(one, raw) {
			t.Errorf("GET event %s:\n%s\nlist gave\n%s", ev.ID, one, raw)
		}
	}
	first := decodeStored(t, page.Events[2])
	if first.Description != "alice changed bob's role from read to admin" {
		t.Errorf("description = %q", first.Description)
	}
	if first.Client == nil || first.Client.IP != "81.2.69.0" || first.Client.IPPrefixLen != 24 {
		t.Errorf("client = %+v, want 81.2.69.0/24", first.Client)
	}
	if first.Location == nil || first.Location.CountryCode != "GB" || first.Location.City != "London" {
		t.Errorf("location = %+v, want GB London", first.Location)
	}
	second := decodeStored(t, page.Events[1])
	if second.Client == nil || second.Client.IP != "2a02:26f0:1::" || second.Client.IPPrefixLen != 48 {
		t.Errorf("IPv6 client = %+v, want 2a02:26f0:1:: /48", second.Client)
	}

	doc := exportJSON(t, e, e.Admin, "acme", "")
	if doc.Size != 3 || len(doc.Events) != 3 {
		t.Fatalf("export: size %d, %d events; want 3, 3", doc.Size, len(doc.Events))
	}
	for i, raw := range doc.Events {
		if !bytes.Equal(raw, page.Events[2-i]) {
			t.Errorf("export event %d differs from the list's bytes", i)
		}
	}
}

func TestIngestNDJSON(t *testing.T) {
	e := newEnv(t)
	body := `{"type":"org.change_role","actor":{"type":"user","id":"u1"},"targets":[{"type":"user","id":"u2"}],"metadata":{"new_role":"write"}}
{"type":"repo.create","actor":{"type":"user","id":"u1"},"targets":[{"type":"repo","name":"acme/x"}]}
`
	r := e.do("POST", "/api/v1/orgs/acme/events", e.Admin, "application/x-ndjson", []byte(body))
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	if !bytes.Contains(r.Body, []byte(`"seq":1`)) {
		t.Errorf("reply %s lacks seq 1", r.Body)
	}
	if e.size("acme") != 2 {
		t.Errorf("size = %d, want 2", e.size("acme"))
	}
}

func TestReadYourWrites(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(e.Admin)
	for i := range 25 {
		acks := e.ingest("acme", changeRole(fmt.Sprintf("ryw-%d", i), "bob"))
		page, err := c.List(ctx, "acme", client.ListOptions{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeStored(t, page.Events[0]); got.Seq != acks[0].Seq || got.ID != acks[0].ID {
			t.Fatalf("after ack %+v the newest event is seq %d id %s", acks[0], got.Seq, got.ID)
		}
		if _, err := c.Event(ctx, "acme", acks[0].ID); err != nil {
			t.Fatalf("event %s not readable after its ack: %v", acks[0].ID, err)
		}
	}
}

func TestIdempotentRetry(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", repoCreate("", "a"))
	first := e.ingest("acme", changeRole("evt-1", "bob"), repoCreate("evt-2", "b"))
	again := e.ingest("acme", changeRole("evt-1", "bob"), repoCreate("evt-2", "b"))
	if fmt.Sprint(first) != fmt.Sprint(again) {
		t.Errorf("retry acks = %v, want the original %v", again, first)
	}
	if got := e.size("acme"); got != 3 {
		t.Errorf("size = %d after a retry, want 3", got)
	}
}

func TestSameIDOtherContentConflicts(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("evt-1", "bob"))
	changed := changeRole("evt-1", "carol")
	_, err := e.client(e.Admin).Ingest(context.Background(), "acme", []client.Event{repoCreate("fresh", "x"), changed})
	ae := asAPIError(t, err)
	if ae.Status != 409 || ae.Code != "conflict" {
		t.Fatalf("got %d %s, want 409 conflict", ae.Status, ae.Code)
	}
	if len(ae.Details) != 1 || ae.Details[0].Index != 1 || !strings.Contains(ae.Message, "1") {
		t.Errorf("conflict %q details %+v, want index 1 named", ae.Message, ae.Details)
	}
	if got := e.size("acme"); got != 1 {
		t.Errorf("size = %d, want 1: the conflicting batch stores nothing", got)
	}
}

func TestDuplicateIDsInBatch(t *testing.T) {
	e := newEnv(t)
	_, err := e.client(e.Admin).Ingest(context.Background(), "acme",
		[]client.Event{changeRole("dup", "bob"), repoCreate("other", "x"), changeRole("dup", "bob")})
	ae := asAPIError(t, err)
	if ae.Status != 422 || len(ae.Details) != 1 || ae.Details[0].Index != 2 || ae.Details[0].Field != "id" {
		t.Fatalf("got %d %+v, want 422 naming event 2's id", ae.Status, ae.Details)
	}
	if got := e.size("acme"); got != 0 {
		t.Errorf("size = %d, want 0", got)
	}
}

func TestRacingSameIDGetsWinnersSeq(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", repoCreate("", "a"), repoCreate("", "b"))
	const n = 8
	acks := make([][]client.Ack, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			acks[i], errs[i] = e.client(e.Admin).Ingest(context.Background(), "acme", []client.Event{changeRole("race", "bob")})
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if acks[i][0] != acks[0][0] {
			t.Errorf("request %d got %+v, request 0 got %+v", i, acks[i][0], acks[0][0])
		}
	}
	if got := e.size("acme"); got != 3 {
		t.Errorf("size = %d, want 3: one stored copy", got)
	}
}

func TestBadEventRejectsWholeBatch(t *testing.T) {
	e := newEnv(t)
	unknown := changeRole("", "bob")
	unknown.Type = "repo.explode"
	noActor := repoCreate("", "x")
	noActor.Actor = client.Actor{}
	noRole := changeRole("", "carol")
	delete(noRole.Metadata, "new_role")
	batch := []client.Event{changeRole("", "ok"), unknown, noActor, repoCreate("", "fine"), noRole}
	_, err := e.client(e.Admin).Ingest(context.Background(), "acme", batch)
	ae := asAPIError(t, err)
	if ae.Status != 422 || ae.Code != "invalid_event" {
		t.Fatalf("got %d %s, want 422 invalid_event", ae.Status, ae.Code)
	}
	want := map[int]string{1: "type", 2: "actor", 4: "metadata.new_role"}
	got := map[int]string{}
	for _, d := range ae.Details {
		if d.Expected == "" {
			t.Errorf("detail %+v says nothing of what was expected", d)
		}
		if _, seen := got[d.Index]; !seen {
			got[d.Index] = d.Field
		}
	}
	for i, field := range want {
		if !strings.HasPrefix(got[i], field) {
			t.Errorf("details %+v: event %d should be named with field %s", ae.Details, i, field)
		}
	}
	if len(got) != len(want) {
		t.Errorf("details name events %v, want exactly %v", got, want)
	}
	if n := e.size("acme"); n != 0 {
		t.Errorf("size = %d, want 0: nothing of a rejected batch is stored", n)
	}
}
