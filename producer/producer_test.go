// SPDX-License-Identifier: Apache-2.0

package producer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/trailtest"
	"github.com/trailaudit/trail/producer"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(trailtest.Main(m))
}

// trail is a running `trail serve` with an admin key.
type trail struct {
	*trailtest.Server
	key string
}

// startTrail runs Trail on data (a new directory when empty) at addr (a
// port the OS picks when empty).
func startTrail(t *testing.T, data, addr string) *trail {
	t.Helper()
	if data == "" {
		data = t.TempDir()
	}
	key := trailtest.CreateKey(t, data, "admin")
	return &trail{Server: trailtest.Start(t, data, addr), key: key}
}

// repoEvent is a valid repo.create event with id id.
func repoEvent(id string) client.Event {
	return client.Event{
		ID:      id,
		Type:    "repo.create",
		Actor:   client.Actor{Type: "user", ID: "u1", Name: "alice"},
		Targets: []client.Target{{Type: "repo", ID: "r-" + id, Name: "acme/" + id}},
	}
}

func open(t *testing.T, cfg producer.Config) *producer.Producer {
	t.Helper()
	p, err := producer.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func testConfig(url, key, spool string) producer.Config {
	return producer.Config{
		URL: url, Key: key, Org: "acme", SpoolDir: spool,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		CloseTimeout: 2 * time.Second,
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// ids returns the ids of events, in order.
func ids(events []trailtest.Stored) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func wantIDs(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Trail has %d events, want %d:\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("event %d is %s, want %s (Send order)", i, got[i], want[i])
		}
	}
}

// TestDownThenUp: with Trail down, Send accepts until the spool bound and
// then fails (FailWhenFull) without dropping; once Trail is up,
// everything accepted arrives exactly once, in Send order.
func TestDownThenUp(t *testing.T) {
	data := t.TempDir()
	key := trailtest.CreateKey(t, data, "admin")
	addr := trailtest.FreeAddr(t)
	cfg := testConfig("http://"+addr, key, t.TempDir())
	cfg.MaxSpoolBytes = 16 << 10
	cfg.FailWhenFull = true
	var queued, sent atomic.Int64
	var spoolBytes atomic.Int64
	cfg.Hooks.Queued = func(n int) { queued.Add(int64(n)) }
	cfg.Hooks.Sent = func(n int) { sent.Add(int64(n)) }
	cfg.Hooks.SpoolBytes = func(n int64) { spoolBytes.Store(n) }
	p := open(t, cfg)
	ctx := ctxT(t)

	// Every third event goes to another org: order holds per org.
	accepted := map[string][]string{}
	for i := 0; ; i++ {
		id, org := "down-"+strconv.Itoa(i), "acme"
		if i%3 == 2 {
			org = "beta"
		}
		err := p.SendTo(ctx, org, repoEvent(id))
		if errors.Is(err, producer.ErrSpoolFull) {
			break
		}
		if err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		accepted[org] = append(accepted[org], id)
		if i > 10000 {
			t.Fatal("the spool bound never stopped Send")
		}
	}
	if len(accepted["acme"]) < 10 {
		t.Fatalf("only %d events fit in 16 KiB", len(accepted["acme"]))
	}

	srv := trailtest.Start(t, data, addr)
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if p.Pending() != 0 {
		t.Fatalf("Pending = %d after Flush", p.Pending())
	}
	// Room again: more events go through.
	for i := 0; i < 5; i++ {
		id := "up-" + strconv.Itoa(i)
		if err := p.Send(ctx, repoEvent(id)); err != nil {
			t.Fatal(err)
		}
		accepted["acme"] = append(accepted["acme"], id)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"acme", "beta"} {
		wantIDs(t, ids(trailtest.All(t, srv.Base, key, org)), accepted[org])
	}
	total := int64(len(accepted["acme"]) + len(accepted["beta"]))
	if q, s, b := queued.Load(), sent.Load(), spoolBytes.Load(); q != total || s != q || b != 0 {
		t.Errorf("hooks: queued %d, sent %d, spool bytes %d; want %d, %d, 0", q, s, b, total, total)
	}
}

// TestSendBlocksWhenFull: without FailWhenFull a full spool makes Send
// wait, bounded by its context.
func TestSendBlocksWhenFull(t *testing.T) {
	cfg := testConfig("http://"+trailtest.FreeAddr(t), "k", t.TempDir())
	cfg.MaxSpoolBytes = 4 << 10
	p := open(t, cfg)
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := p.Send(ctx, repoEvent("b-"+strconv.Itoa(i)))
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
		if i > 1000 {
			t.Fatal("Send never blocked on a full spool")
		}
	}
}

// TestDeadLetter: events Trail refuses as invalid go to the dead-letter
// file with Trail's reason; the others arrive, in order.
func TestDeadLetter(t *testing.T) {
	tr := startTrail(t, "", "")
	spool := t.TempDir()
	var dead int
	cfg := testConfig(tr.Base, tr.key, spool)
	cfg.Hooks.DeadLettered = func(n int) { dead += n }
	p := open(t, cfg)
	ctx := ctxT(t)
	var want []string
	for i := 0; i < 20; i++ {
		ev := repoEvent("dl-" + strconv.Itoa(i))
		if i%7 == 3 {
			ev.Type = "repo.Create" // not in the catalog
		} else {
			want = append(want, ev.ID)
		}
		if err := p.Send(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, ids(trailtest.All(t, tr.Base, tr.key, "acme")), want)
	letters, err := producer.ReadDeadLetters(spool)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 3 || dead != 3 {
		t.Fatalf("%d dead letters (hook: %d), want 3: %+v", len(letters), dead, letters)
	}
	for _, l := range letters {
		if l.Org != "acme" || len(l.Event) == 0 || !strings.Contains(l.Error, "422 invalid_event") || !strings.Contains(l.Error, "type: expected") {
			t.Errorf("dead letter %+v lacks the event or Trail's reason", l)
		}
	}
}

// TestServerBatchLimit: a server with a lower batch limit answers 413;
// the producer splits the batch, keeps to the smaller size, and every
// event arrives in order.
func TestServerBatchLimit(t *testing.T) {
	data := t.TempDir()
	key := trailtest.CreateKey(t, data, "admin")
	srv := trailtest.Start(t, data, "", "--max-batch", "7")
	cfg := testConfig(srv.Base, key, t.TempDir())
	cfg.CloseTimeout = time.Minute
	p := open(t, cfg)
	var want []string
	for i := 0; i < 60; i++ {
		id := "lim-" + strconv.Itoa(i)
		want = append(want, id)
		if err := p.Send(ctxT(t), repoEvent(id)); err != nil {
			t.Fatal(err)
		}
	}
	p.Close() // flushes
	wantIDs(t, ids(trailtest.All(t, srv.Base, key, "acme")), want)
	if letters, _ := producer.ReadDeadLetters(cfg.SpoolDir); len(letters) != 0 {
		t.Fatalf("dead letters: %+v", letters)
	}
}

// TestLock: one Producer per spool directory.
func TestLock(t *testing.T) {
	cfg := testConfig("http://"+trailtest.FreeAddr(t), "k", t.TempDir())
	p := open(t, cfg)
	if _, err := producer.Open(cfg); !errors.Is(err, producer.ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	p.Close()
	p2, err := producer.Open(cfg)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	p2.Close()
}

// TestTornSpool: a spool whose last record is torn and one of whose
// records has a flipped byte opens; both damages are reported and copied
// to the dead-letter file, and every other event is sent.
func TestTornSpool(t *testing.T) {
	spool := t.TempDir()
	cfg := testConfig("http://"+trailtest.FreeAddr(t), "k", spool)
	cfg.CloseTimeout = time.Millisecond
	p := open(t, cfg)
	for i := 0; i < 10; i++ {
		if err := p.Send(ctxT(t), repoEvent("torn-"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	segs, _ := filepath.Glob(filepath.Join(spool, "*.spool"))
	var seg string
	for _, s := range segs {
		if st, _ := os.Stat(s); st.Size() > 0 {
			seg = s
		}
	}
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	rec := len(b) / 10     // the ten records have the same size
	b[4*rec+rec/2] ^= 0x5a // flip a byte inside record 4
	b = b[:len(b)-rec/3]   // tear the last record
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}

	tr := startTrail(t, "", "")
	cfg.URL, cfg.Key = tr.Base, tr.key
	var torn []error
	cfg.Hooks.Torn = func(err error) { torn = append(torn, err) }
	p2 := open(t, cfg)
	if err := p2.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if len(torn) != 2 {
		t.Fatalf("reported %d damages, want 2: %v", len(torn), torn)
	}
	wantIDs(t, ids(trailtest.All(t, tr.Base, tr.key, "acme")),
		[]string{"torn-0", "torn-1", "torn-2", "torn-3", "torn-5", "torn-6", "torn-7", "torn-8"})
	letters, _ := producer.ReadDeadLetters(spool)
	if len(letters) != 2 || len(letters[0].Raw) == 0 || !strings.Contains(letters[1].Error, "damaged") {
		t.Fatalf("dead letters %+v, want the two damaged stretches", letters)
	}

	// The damage is reported once: the next Open finds a clean spool.
	p2.Close()
	torn = nil
	p3 := open(t, cfg)
	p3.Close()
	if letters, _ := producer.ReadDeadLetters(spool); len(torn) != 0 || len(letters) != 2 {
		t.Fatalf("reopening reported %v and made %d dead letters", torn, len(letters))
	}
	if segs, _ := filepath.Glob(filepath.Join(spool, "*.spool")); len(segs) > 1 {
		t.Errorf("spool keeps %d segment files after everything was sent: %v", len(segs), segs)
	}
}
