// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/trailaudit/trail/internal/stream"
	"github.com/trailaudit/trail/internal/stream/streamtest"
)

const natsAddr = "127.0.0.1:4222"

// natsStream creates a JetStream stream with a unique name on the
// machine's NATS server, deleted at cleanup, and returns its subject.
func natsStream(t testing.TB) (jetstream.Stream, string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", natsAddr, 2*time.Second); err != nil {
		t.Skipf("no NATS server on %s (.ci/run starts /usr/sbin/nats-server -js): %v", natsAddr, err)
	} else {
		c.Close()
	}
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("TRAILTEST_%d", time.Now().UnixNano())
	subject := "trailtest." + strings.ToLower(name) + ".audit"
	ctx := context.Background()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{subject},
		Storage: jetstream.MemoryStorage, Duplicates: 5 * time.Minute})
	if err != nil {
		t.Fatalf("creating stream %s (is JetStream enabled, -js?): %v", name, err)
	}
	t.Cleanup(func() { js.DeleteStream(context.Background(), name) })
	return st, subject
}

// TestNATS publishes real events to JetStream, redelivers the same batch
// and checks that the stream holds each seq once, in order, with its
// exact bytes, then the checkpoint.
func TestNATS(t *testing.T) {
	st, subject := natsStream(t)
	log := streamtest.New(t)
	log.Add("acme", 1200) // more than one window of in-flight messages
	sink, c := openKind(t, "nats", `{"url":"nats://`+natsAddr+`","subject":"`+subject+`"}`)
	if strings.Contains(string(c.Settings), "token") {
		t.Errorf("stored settings %s hold an empty token", c.Settings)
	}
	ctx := context.Background()
	b1, b2 := log.Batch("acme", 0, 1100, -1), log.Batch("acme", 1100, 1200, 1200)
	for _, b := range []*stream.Batch{b1, b2, b1, b2} { // each delivered twice: a retry
		if err := sink.Deliver(ctx, b); err != nil {
			t.Fatalf("Deliver %s: %v", b.ID, err)
		}
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1201 {
		t.Fatalf("the stream holds %d messages, want 1200 events and 1 checkpoint, each once", info.State.Msgs)
	}
	all := append(append([]stream.Event(nil), b1.Events...), b2.Events...)
	for i := range uint64(1201) {
		m, err := st.GetMsg(ctx, i+1)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1200 {
			if string(m.Data) != string(checkpointJSON(b2.Checkpoint)) || m.Header.Get("Nats-Msg-Id") != "acme:checkpoint:1200" || m.Header.Get("Trail-Checkpoint") != "1200" {
				t.Errorf("last message = %s %v, want the checkpoint of size 1200", m.Data, m.Header)
			}
			break
		}
		ev := all[i]
		if string(m.Data) != string(ev.Data) || m.Header.Get("Nats-Msg-Id") != fmt.Sprintf("acme:%d", ev.Seq) || m.Header.Get("Trail-Seq") != fmt.Sprint(ev.Seq) {
			t.Fatalf("message %d = %s %v, want seq %d: %s", i+1, m.Data, m.Header, ev.Seq, ev.Data)
		}
	}
}

// TestNATSNoStream: with no JetStream stream bound to the subject there is
// no acknowledgement, and Deliver fails.
func TestNATSNoStream(t *testing.T) {
	natsStream(t) // skips without a server
	log := streamtest.New(t)
	log.Add("acme", 2)
	sink, _ := openKind(t, "nats", `{"url":"nats://`+natsAddr+`","subject":"trailtest.nobody.listens"}`)
	if err := sink.Deliver(context.Background(), log.Batch("acme", 0, 2, 2)); err == nil {
		t.Fatal("Deliver to a subject no stream captures succeeded, want an error")
	}
}

// TestNATSDown: an unreachable server is a delivery error, not an Open
// error, so the engine retries.
func TestNATSDown(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	log := streamtest.New(t)
	log.Add("acme", 1)
	sink, _ := openKind(t, "nats", `{"url":"nats://`+addr+`","subject":"audit"}`)
	if err := sink.Deliver(context.Background(), log.Batch("acme", 0, 1, -1)); err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Deliver to a closed port = %v, want a connection error naming %s", err, addr)
	}
}

func TestNATSSettings(t *testing.T) {
	for _, c := range []struct{ settings, field string }{
		{`{"subject":"a"}`, "url"},
		{`{"url":"http://x:4222","subject":"a"}`, "url"},
		{`{"url":"nats://u:p@x:4222","subject":"a"}`, "url"},
		{`{"url":"nats://x","subject":""}`, "subject"},
		{`{"url":"nats://x","subject":"a.*"}`, "subject"},
		{`{"url":"nats://x","subject":"a..b"}`, "subject"},
		{`{"url":"nats://x","subject":"a b"}`, "subject"},
		{`{"url":"nats://x","subject":"a","token":"t","creds":"c"}`, "creds"},
		{`{"url":"nats://x","subject":"a","creds":"not a creds file"}`, "creds"},
		{`{"url":"nats://x","subject":"a","stream":"S"}`, "stream"},
	} {
		settingError(t, "nats", c.settings, c.field)
	}
	k, _ := stream.LookupKind("nats")
	user, _ := nkeys.CreateUser()
	seed, _ := user.Seed()
	creds := "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln\n------END NATS USER JWT------\n\n" +
		"-----BEGIN USER NKEY SEED-----\n" + string(seed) + "\n------END USER NKEY SEED------\n"
	cc, err := k.Create(mustJSON(map[string]string{"url": "tls://x:4222", "subject": "audit", "creds": creds}))
	if err != nil {
		t.Fatalf("creds: %v", err)
	}
	if pub := k.Public(cc.Settings); strings.Contains(string(mustJSON(pub)), string(seed)) || pub["auth"] != "creds" {
		t.Errorf("Public = %v, want auth creds and no seed", pub)
	}
	c, err := k.Create([]byte(`{"url":"nats://x:4222","subject":"audit.trail","token":"s3cret"}`))
	if err != nil {
		t.Fatal(err)
	}
	if pub := k.Public(c.Settings); strings.Contains(string(mustJSON(pub)), "s3cret") || pub["auth"] != "token" {
		t.Errorf("Public = %v, want auth token and no secret", pub)
	}
}

// TestNATSToken runs a second nats-server that requires a token: the
// token setting authenticates, a wrong one is a delivery error.
func TestNATSToken(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if bin = "/usr/sbin/nats-server"; !fileExists(bin) {
			t.Skip("nats-server is not installed (.ci/run installs it)")
		}
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", dir, "--auth", "tok-123")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	var nc *nats.Conn
	for i := 0; ; i++ {
		if nc, err = nats.Connect(url, nats.Token("tok-123")); err == nil {
			break
		} else if i == 100 {
			t.Fatalf("the token nats-server did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "AUDIT", Subjects: []string{"audit"}, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	log := streamtest.New(t)
	log.Add("acme", 3)
	b := log.Batch("acme", 0, 3, 3)
	wrong, _ := openKind(t, "nats", `{"url":"`+url+`","subject":"audit","token":"nope"}`)
	if err := wrong.Deliver(context.Background(), b); err == nil || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Errorf("Deliver with a wrong token = %v, want an authorization error", err)
	}
	right, _ := openKind(t, "nats", `{"url":"`+url+`","subject":"audit","token":"tok-123"}`)
	if err := right.Deliver(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if info, _ := st.Info(context.Background()); info.State.Msgs != 4 {
		t.Errorf("the stream holds %d messages, want 3 events and the checkpoint", info.State.Msgs)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
