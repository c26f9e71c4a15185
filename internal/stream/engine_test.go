// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/stream"
)

// TestWebhookHMAC: every event reaches the receiver once, in seq order,
// in signed deliveries the Standard Webhooks library verifies, and the
// receiver can prove it holds the whole log.
func TestWebhookHMAC(t *testing.T) {
	e := newEnv(t, stream.Config{AllowPrivate: true, MaxBatch: 40})
	r := newReceiver(t)
	v, reveal := e.create("acme", `{"name":"siem","kind":"webhook","url":"`+r.srv.URL+`/in"}`)
	secret, _ := reveal["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || v.State != "active" || v.DeliveredSeq != -1 || v.Format != "json" {
		t.Fatalf("created %+v, revealed %v", v, reveal)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	r.check = func(body []byte, h http.Header) error { return wh.Verify(body, h) }
	for range 5 {
		e.ingest("acme", 50)
	}
	n := e.size("acme")
	eventually(t, "every event delivered", func() bool { return r.covered(n) })
	seqs := r.seqs()
	inOrder(t, seqs)
	if int64(len(seqs)) != n || seqs[0] != 0 {
		t.Fatalf("received %d events from seq %d, want %d from 0", len(seqs), seqs[0], n)
	}
	for _, d := range r.deliveries() {
		if d.Org != "acme" || d.Stream != v.ID || len(d.Events) > 40 {
			t.Fatalf("delivery org %q stream %q with %d events", d.Org, d.Stream, len(d.Events))
		}
	}
	// The events are the exact stored bytes.
	want, err := e.store.Query(t.Context(), "acme", audit.Query{Order: audit.Asc, Before: -1, After: -1, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range want.Events {
		if got := r.events()[int64(i)]; string(got) != string(b) {
			t.Fatalf("seq %d: got %s, want the stored bytes %s", i, got, b)
		}
	}
	// Idle, the stream gets the checkpoint of the whole log.
	eventually(t, "a checkpoint of the whole log", func() bool {
		ds := r.deliveries()
		last := ds[len(ds)-1]
		return last.Check != "" && strings.Contains(last.Check, fmt.Sprintf("\n%d\n", n))
	})
	if size := checkComplete(t, r, e.vkey); size != n {
		t.Errorf("checkpoint size %d, want %d", size, n)
	}
	var got stream.View
	eventually(t, "the cursor at the end, with the checkpoint", func() bool {
		got, err = e.m.Get(t.Context(), "acme", v.ID)
		return err == nil && got.DeliveredSeq == n-1 && got.LagEvents == 0 && got.CheckpointSize == n && got.LastSuccessAt != nil
	})
	if _, ok := got.Settings["secret"]; ok || strings.Contains(fmt.Sprint(got), secret) {
		t.Error("the secret is shown after creation")
	}
	if r.overlap {
		t.Error("two deliveries to one destination were in flight at once")
	}
}

// TestWebhookEd25519 verifies v1a signatures with crypto/ed25519 and the
// public key revealed at creation.
func TestWebhookEd25519(t *testing.T) {
	e := newEnv(t, stream.Config{AllowPrivate: true})
	r := newReceiver(t)
	_, reveal := e.create("acme", `{"name":"siem","kind":"webhook","signing":"ed25519","url":"`+r.srv.URL+`"}`)
	pk, _ := reveal["public_key"].(string)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(pk, "whpk_"))
	if err != nil || len(raw) != ed25519.PublicKeySize || reveal["secret"] != nil {
		t.Fatalf("revealed %v", reveal)
	}
	pub := ed25519.PublicKey(raw)
	r.check = func(body []byte, h http.Header) error {
		sig, ok := strings.CutPrefix(h.Get("webhook-signature"), "v1a,")
		s, err := base64.StdEncoding.DecodeString(sig)
		if !ok || err != nil {
			return fmt.Errorf("webhook-signature %q is not v1a,<base64>", h.Get("webhook-signature"))
		}
		msg := h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)
		if !ed25519.Verify(pub, []byte(msg), s) {
			return errors.New("bad Ed25519 signature")
		}
		return nil
	}
	e.ingest("acme", 30)
	n := e.size("acme")
	eventually(t, "every event delivered", func() bool { return r.covered(n) })
	inOrder(t, r.seqs())
}

// TestFailingThenRecovers: while the receiver is down the cursor holds,
// the stream turns failing (state, audit event), and when it comes back
// delivery resumes by itself with nothing skipped.
func TestFailingThenRecovers(t *testing.T) {
	e := newEnv(t, stream.Config{AllowPrivate: true, FailingAfter: 3, MaxBatch: 25})
	r := newReceiver(t)
	v, _ := e.create("acme", `{"name":"siem","kind":"webhook","url":"`+r.srv.URL+`"}`)
	e.ingest("acme", 20)
	first := e.size("acme")
	eventually(t, "first events delivered", func() bool { return r.covered(first) })
	r.setFail(true)
	e.ingest("acme", 60)
	eventually(t, "stream failing", func() bool {
		got, err := e.m.Get(t.Context(), "acme", v.ID)
		return err == nil && got.State == "failing"
	})
	got, _ := e.m.Get(t.Context(), "acme", v.ID)
	if got.DeliveredSeq != first-1 || !strings.Contains(got.LastError, "503") || got.Failures < 3 || got.LastErrorAt == nil {
		t.Errorf("failing stream %+v: want the cursor held at %d and the 503 shown", got, first-1)
	}
	eventually(t, "a failing event", func() bool { return has(e.types("acme"), "org.audit_log.stream.failing") })
	r.setFail(false)
	eventually(t, "delivery resumed", func() bool {
		got, err := e.m.Get(t.Context(), "acme", v.ID)
		return err == nil && got.State == "active" && got.LagEvents == 0 && has(e.types("acme"), "org.audit_log.stream.recover")
	})
	n := e.size("acme")
	eventually(t, "every event delivered", func() bool { return r.covered(n) })
	inOrder(t, r.seqs())
	if len(r.seqs()) != int(n) {
		t.Errorf("received %d events, want %d: nothing skipped, nothing twice", len(r.seqs()), n)
	}
}

// TestFilter: only matching events are sent; the cursor passes the rest.
func TestFilter(t *testing.T) {
	e := newEnv(t, stream.Config{AllowPrivate: true})
	r := newReceiver(t)
	v, _ := e.create("acme", `{"name":"roles","kind":"webhook","filter":"type:org.change_role","url":"`+r.srv.URL+`"}`)
	e.ingest("acme", 10)
	n := e.size("acme")
	eventually(t, "cursor at the end", func() bool {
		got, _ := e.m.Get(t.Context(), "acme", v.ID)
		return got.DeliveredSeq == n-1
	})
	seqs := r.seqs()
	if len(seqs) != 10 || seqs[0] != 1 {
		t.Errorf("received seqs %v, want the 10 org.change_role events 1…10 (seq 0 is the stream's creation)", seqs)
	}
	_, _, err := e.m.Create(t.Context(), "acme", admin, []byte(`{"name":"bad","kind":"webhook","filter":"type:nope.nope","url":"`+r.srv.URL+`"}`))
	if audit.ErrorCode(err) != audit.CodeUnprocessable || !strings.Contains(err.Error(), "filter") {
		t.Errorf("bad filter: got %v, want 422 naming filter", err)
	}
}

// TestReplayPauseResumeDelete drives a stream through its life cycle,
// each change recorded in the org's log.
func TestReplayPauseResumeDelete(t *testing.T) {
	e := newEnv(t, stream.Config{AllowPrivate: true})
	r := newReceiver(t)
	v, _ := e.create("acme", `{"name":"siem","kind":"webhook","url":"`+r.srv.URL+`"}`)
	e.ingest("acme", 20)
	n := e.size("acme")
	eventually(t, "delivered", func() bool { return r.covered(n) })

	got, err := e.m.Pause(t.Context(), "acme", v.ID, admin)
	if err != nil || got.State != "paused" {
		t.Fatalf("Pause = %+v, %v", got, err)
	}
	paused := e.size("acme") // a delivery in flight may finish; nothing after it
	e.ingest("acme", 5)
	time.Sleep(200 * time.Millisecond)
	if s := r.seqs(); s[len(s)-1] >= paused {
		t.Errorf("a paused stream delivered seq %d, ingested after the pause", s[len(s)-1])
	}
	if got, err = e.m.Resume(t.Context(), "acme", v.ID, admin); err != nil || got.State != "active" {
		t.Fatalf("Resume = %+v, %v", got, err)
	}
	n = e.size("acme")
	eventually(t, "delivered after resume", func() bool { return r.covered(n) })
	inOrder(t, r.seqs())

	// Counted before Replay: the replayed deliveries may arrive before
	// it returns.
	before := len(r.seqs())
	from := int64(5)
	got, err = e.m.Replay(t.Context(), "acme", v.ID, admin, stream.ReplayFrom{FromSeq: &from})
	if err != nil || got.DeliveredSeq != 4 {
		t.Fatalf("Replay = %+v, %v; want delivered_seq 4", got, err)
	}
	eventually(t, "replayed", func() bool {
		s := r.seqs()
		return len(s) > before && s[len(s)-1] >= n
	})
	again := r.seqs()[before:]
	if again[0] != 5 {
		t.Errorf("replay started at seq %d, want 5", again[0])
	}
	inOrder(t, again)

	huge := int64(1 << 40)
	if _, err := e.m.Replay(t.Context(), "acme", v.ID, admin, stream.ReplayFrom{FromSeq: &huge}); audit.ErrorCode(err) != audit.CodeUnprocessable {
		t.Errorf("replay past the end: %v, want 422", err)
	}
	res, err := e.m.Test(t.Context(), "acme", v.ID, admin)
	if err != nil || !res.OK {
		t.Errorf("Test = %+v, %v", res, err)
	}
	if err := e.m.Delete(t.Context(), "acme", v.ID, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Get(t.Context(), "acme", v.ID); audit.ErrorCode(err) != audit.CodeNotFound {
		t.Errorf("Get after Delete: %v", err)
	}
	types := e.types("acme")
	for _, typ := range []string{"create", "pause", "resume", "replay", "test", "delete"} {
		if !has(types, "org.audit_log.stream."+typ) {
			t.Errorf("no org.audit_log.stream.%s event in the log", typ)
		}
	}
}

// TestChangesWaitForDeliveryInFlight: Pause, Replay and Delete return
// only once the delivery the worker has in flight is over; after Pause
// and Delete nothing is sent, and the delivery after the one in flight
// starts at the replayed seq (neither the in flight one again nor the
// seq after it).
func TestChangesWaitForDeliveryInFlight(t *testing.T) {
	from := int64(2)
	for _, c := range []struct {
		name   string
		change func(e *env, id string) error
		after  func(t *testing.T, e *env, r *receiver, n int)
	}{
		{"pause", func(e *env, id string) error {
			_, err := e.m.Pause(t.Context(), "acme", id, admin)
			return err
		}, sendsNothing},
		{"delete", func(e *env, id string) error {
			return e.m.Delete(t.Context(), "acme", id, admin)
		}, sendsNothing},
		{"replay", func(e *env, id string) error {
			_, err := e.m.Replay(t.Context(), "acme", id, admin, stream.ReplayFrom{FromSeq: &from})
			return err
		}, func(t *testing.T, e *env, r *receiver, n int) {
			// The delivery in flight was the first; the replayed ones may
			// come before Replay returns.
			eventually(t, "a delivery after the one in flight", func() bool { return len(r.deliveries()) > 1 })
			if d := r.deliveries()[1]; d.First != from {
				t.Errorf("the delivery after the one in flight starts at seq %d, want %d (replayed)", d.First, from)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, stream.Config{AllowPrivate: true})
			r := newReceiver(t)
			entered, release := make(chan struct{}, 1), make(chan struct{})
			var once sync.Once
			open := func() { once.Do(func() { close(release) }) }
			t.Cleanup(open) // before the receiver closes: never leave it blocked
			r.check = func([]byte, http.Header) error {
				select {
				case entered <- struct{}{}:
				default:
				}
				<-release
				return nil
			}
			v, _ := e.create("acme", `{"name":"siem","kind":"webhook","url":"`+r.srv.URL+`"}`)
			e.ingest("acme", 5)
			select {
			case <-entered:
			case <-time.After(30 * time.Second):
				t.Fatal("no delivery started")
			}
			changed := make(chan error, 1)
			go func() { changed <- c.change(e, v.ID) }()
			select {
			case err := <-changed:
				t.Fatalf("%s returned (%v) while a delivery was in flight", c.name, err)
			case <-time.After(100 * time.Millisecond):
			}
			open()
			if err := <-changed; err != nil {
				t.Fatal(err)
			}
			n := len(r.deliveries())
			if n == 0 {
				t.Fatal("the delivery in flight was not accepted")
			}
			c.after(t, e, r, n)
		})
	}
}

// sendsNothing checks that a stream paused or deleted sends nothing
// more: n deliveries were received when the call returned.
func sendsNothing(t *testing.T, e *env, r *receiver, n int) {
	t.Helper()
	e.ingest("acme", 5)
	time.Sleep(200 * time.Millisecond) // nothing is sent: no event to wait for
	if got := len(r.deliveries()); got != n {
		t.Errorf("%d more deliveries", got-n)
	}
}

// TestTestReportsFailure: a test delivery to a receiver that refuses it
// says why.
func TestTestReportsFailure(t *testing.T) {
	e := newEnv(t, stream.Config{AllowPrivate: true})
	r := newReceiver(t)
	r.setFail(true)
	v, _ := e.create("acme", `{"name":"siem","kind":"webhook","url":"`+r.srv.URL+`"}`)
	res, err := e.m.Test(t.Context(), "acme", v.ID, admin)
	if err != nil || res.OK || !strings.Contains(res.Error, "503") {
		t.Errorf("Test = %+v, %v; want ok false with the 503", res, err)
	}
	// A receiver that is not there: the error names the host, not the
	// URL's query, which may carry a token.
	v, _ = e.create("acme", `{"name":"gone","kind":"webhook","url":"http://127.0.0.1:9/in?token=s3cret"}`)
	res, err = e.m.Test(t.Context(), "acme", v.ID, admin)
	if err != nil || res.OK || !strings.Contains(res.Error, "127.0.0.1:9") || strings.Contains(res.Error, "s3cret") {
		t.Errorf("Test = %+v, %v; want ok false naming the host and not the token", res, err)
	}
	if got, _ := e.m.Get(t.Context(), "acme", v.ID); strings.Contains(fmt.Sprint(got.Settings), "s3cret") {
		t.Errorf("the listing shows the URL's query: %v", got.Settings)
	}
}

// TestTenantIsolation: one org never sees, changes or receives another's
// streams.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, stream.Config{AllowPrivate: true})
	r := newReceiver(t)
	v, _ := e.create("acme", `{"name":"siem","kind":"webhook","url":"`+r.srv.URL+`"}`)
	e.ingest("beta", 10)
	e.ingest("acme", 3)
	n := e.size("acme")
	eventually(t, "delivered", func() bool { return r.covered(n) })
	for _, d := range r.deliveries() {
		if d.Org != "acme" {
			t.Fatalf("acme's stream delivered %s's events", d.Org)
		}
	}
	if list, err := e.m.List(t.Context(), "beta"); err != nil || len(list) != 0 {
		t.Errorf("List(beta) = %v, %v", list, err)
	}
	for name, err := range map[string]error{
		"get":    func() error { _, err := e.m.Get(t.Context(), "beta", v.ID); return err }(),
		"pause":  func() error { _, err := e.m.Pause(t.Context(), "beta", v.ID, admin); return err }(),
		"test":   func() error { _, err := e.m.Test(t.Context(), "beta", v.ID, admin); return err }(),
		"delete": e.m.Delete(t.Context(), "beta", v.ID, admin),
	} {
		if audit.ErrorCode(err) != audit.CodeNotFound {
			t.Errorf("beta %s acme's stream: %v, want not found", name, err)
		}
	}
}

// TestCreateValidation: bad requests name the field and store nothing.
func TestCreateValidation(t *testing.T) {
	e := newEnv(t, stream.Config{AllowPrivate: true})
	for body, want := range map[string]string{
		`[]`: "JSON object",
		`{"kind":"webhook","url":"https://a.example"}`:                                           "name",
		`{"name":"x","kind":"carrier-pigeon"}`:                                                   "kind",
		`{"name":"x","kind":"webhook","format":"cef","url":"https://a.example"}`:                 "format",
		`{"name":"x","kind":"webhook"}`:                                                          "url",
		`{"name":"x","kind":"webhook","url":"http://siem.example.com"}`:                          "https",
		`{"name":"x","kind":"webhook","url":"ftp://siem.example.com"}`:                           "https",
		`{"name":"x","kind":"webhook","url":"https://u:p@siem.example.com"}`:                     "user:password",
		`{"name":"x","kind":"webhook","url":"https://a.example","signing":"md5"}`:                "signing",
		`{"name":"x","kind":"webhook","url":"https://a.example","token":"t"}`:                    "url and signing only",
		`{"name":"` + strings.Repeat("n", 101) + `","kind":"webhook","url":"https://a.example"}`: "name",
		`{"name":1,"kind":"webhook"}`:                                                            "name",
	} {
		_, _, err := e.m.Create(t.Context(), "acme", admin, []byte(body))
		if code := audit.ErrorCode(err); (code != audit.CodeUnprocessable && code != audit.CodeInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("Create(%s): %v, want a 400/422 naming %q", body, err, want)
		}
	}
	if list, _ := e.m.List(t.Context(), "acme"); len(list) != 0 || e.size("acme") != 0 {
		t.Errorf("refused requests stored %d streams, %d events", len(list), e.size("acme"))
	}
}

// TestOneSenderAtATime: two replicas' engines over one store; the lease
// makes one of them the sender (no delivery overlaps another, nothing is
// sent twice); when that one stops, the other takes over from the cursor.
func TestOneSenderAtATime(t *testing.T) {
	e := newEnv(t, stream.Config{AllowPrivate: true, Holder: "replica-a", LeaseTTL: 300 * time.Millisecond, MaxBatch: 10})
	other := stream.New(stream.Config{Service: e.svc, Logger: quiet(), AllowPrivate: true, Holder: "replica-b",
		LeaseTTL: 300 * time.Millisecond, MaxBatch: 10, Poll: 20 * time.Millisecond, Linger: time.Millisecond})
	e.run(other)
	r := newReceiver(t)
	e.create("acme", `{"name":"siem","kind":"webhook","url":"`+r.srv.URL+`"}`)
	for range 10 {
		e.ingest("acme", 10)
	}
	n := e.size("acme")
	eventually(t, "every event delivered", func() bool { return r.covered(n) })
	seqs := r.seqs()
	inOrder(t, seqs)
	if len(seqs) != int(n) || r.overlap {
		t.Errorf("received %d events for %d (overlap %v): two senders", len(seqs), n, r.overlap)
	}
}

// TestTakeOverFromDeadReplica: a replica that died holding a stream's
// lease never releases it; another takes over once it expires and sends
// from the durable cursor.
func TestTakeOverFromDeadReplica(t *testing.T) {
	e := newIdleEnv(t, stream.Config{AllowPrivate: true, LeaseTTL: 200 * time.Millisecond})
	r := newReceiver(t)
	v, _ := e.create("acme", `{"name":"siem","kind":"webhook","url":"`+r.srv.URL+`"}`)
	e.ingest("acme", 30)
	if err := e.store.AdvanceStream(t.Context(), "acme", v.ID, 0, 9, 0, time.Now()); err != nil { // the dead one's progress
		t.Fatal(err)
	}
	ok, err := e.store.LeaseStream(t.Context(), "acme", v.ID, "dead-replica", time.Now(), 500*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("LeaseStream(dead-replica) = %v, %v", ok, err)
	}
	e.run(e.m)
	n := e.size("acme")
	eventually(t, "the live replica took over", func() bool { return r.covered(n) })
	seqs := r.seqs()
	inOrder(t, seqs)
	if seqs[0] != 10 || len(seqs) != int(n-10) {
		t.Errorf("received seqs %d…%d, want 10…%d: from the cursor, once", seqs[0], seqs[len(seqs)-1], n-1)
	}
}
