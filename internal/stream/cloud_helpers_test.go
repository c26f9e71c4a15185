// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/sqlite"
	"github.com/trailaudit/trail/internal/stream"
)

// cloudLog is a real store and service that sign checkpoints: the batches
// the kinds' tests deliver hold real stored events and real checkpoints.
type cloudLog struct {
	t     testing.TB
	store *sqlite.Store
	svc   *audit.Service
	vkey  string
}

var cloudT0 = time.Date(2026, 3, 10, 23, 50, 0, 0, time.UTC)

func newCloudLog(t testing.TB) *cloudLog {
	t.Helper()
	store, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	skey, vkey, err := ledger.GenerateKey("trail.test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	svc := audit.NewService(audit.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Integrity: audit.IntegrityConfig{Signer: signer}})
	t.Cleanup(svc.Close)
	return &cloudLog{t: t, store: store, svc: svc, vkey: vkey}
}

// add appends n events to org, received a minute apart from cloudT0 on.
func (l *cloudLog) add(org string, n int) { l.addPadded(org, n, 0) }

// addPadded appends n events to org, each with pad bytes of metadata.
func (l *cloudLog) addPadded(org string, n, pad int) {
	l.t.Helper()
	size, _ := l.store.Size(context.Background(), org)
	b := &audit.Batch{Org: org}
	for i := range n {
		seq := int(size) + i
		at := cloudT0.Add(time.Duration(seq) * time.Minute)
		b.Events = append(b.Events, &audit.Pending{Event: audit.Event{
			ID: fmt.Sprintf("ev-%d", seq), Org: org, Type: "repo.create", Category: "content",
			Actor:       audit.Actor{Type: "user", ID: "u1", Name: "alice"},
			Targets:     []audit.Target{{Type: "repo", ID: fmt.Sprint("r", seq), Name: org + "/model"}},
			Description: fmt.Sprintf("alice created repo %d \"quoted\" \\ é", seq),
			OccurredAt:  at, ReceivedAt: at,
		}})
		if pad > 0 {
			b.Events[i].Event.Metadata = map[string]any{"pad": strings.Repeat("x", pad)}
		}
	}
	if err := l.store.Append(context.Background(), []*audit.Batch{b}); err != nil || b.Err != nil {
		l.t.Fatalf("append: %v %v", err, b.Err)
	}
}

// batch returns the delivery of org's seqs from … to-1 as the engine makes
// it, with the signed checkpoint of size cp (none when cp < 0).
func (l *cloudLog) batch(org string, from, to, cp int64) *stream.Batch {
	l.t.Helper()
	ctx := context.Background()
	b := &stream.Batch{ID: fmt.Sprintf("%s-%d-%d", org, from, to), Org: org, Stream: "st_test", Format: "json", FirstSeq: from, LastSeq: to - 1}
	render, _ := stream.LookupFormat("json")
	err := l.store.Scan(ctx, org, from, to, audit.Filter{}, func(seq int64, data []byte) error {
		ev := stream.Event{Seq: seq, Data: append([]byte(nil), data...)}
		out, err := render(nil, ev)
		b.Events = append(b.Events, ev)
		b.Rendered = append(b.Rendered, out)
		return err
	})
	if err != nil {
		l.t.Fatal(err)
	}
	if cp >= 0 {
		c, err := l.svc.CheckpointAt(ctx, org, cp)
		if err != nil {
			l.t.Fatal(err)
		}
		b.Checkpoint = c.Note
	}
	return b
}

// loopbackEnv is the Env the server gives sinks with
// --stream-allow-private: plain dials.
func loopbackEnv() stream.Env {
	var d net.Dialer
	return stream.Env{Dial: d.DialContext, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// openKind validates settings the way the API does and opens a sink.
func openKind(t *testing.T, kind string, settings string) (stream.Sink, stream.Created) {
	t.Helper()
	k, ok := stream.LookupKind(kind)
	if !ok {
		t.Fatalf("kind %q is not registered", kind)
	}
	c, err := k.Create([]byte(settings))
	if err != nil {
		t.Fatalf("Create(%s): %v", settings, err)
	}
	s, err := k.Open(c.Settings, loopbackEnv())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// settingError asserts that Create refuses settings naming field.
func settingError(t *testing.T, kind, settings, field string) {
	t.Helper()
	k, _ := stream.LookupKind(kind)
	_, err := k.Create([]byte(settings))
	se, ok := err.(*stream.SettingError)
	if !ok {
		t.Errorf("%s Create(%s) = %v, want a *SettingError on %q", kind, settings, err, field)
		return
	}
	if se.Field != field {
		t.Errorf("%s Create(%s) names field %q (%v), want %q", kind, settings, se.Field, se, field)
	}
}

func checkpointJSON(note string) []byte {
	return mustJSON(map[string]string{"checkpoint": note})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
