// SPDX-License-Identifier: Apache-2.0

// Package streamtest gives stream kinds' tests real material: a real
// store and service that sign checkpoints, and the Batches the delivery
// engine would make from them.
package streamtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger/ledgertest"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/stream"
)

// Log is a real store and service that sign checkpoints: the batches
// the kinds' tests deliver hold real stored events and real checkpoints.
type Log struct {
	t     testing.TB
	Store *logstore.Store
	Svc   *audit.Service
	// VerifierKey is the note verifier key of the checkpoints' signer.
	VerifierKey string
}

// T0 is when event seq 0 occurred and was received.
var T0 = time.Date(2026, 3, 10, 23, 50, 0, 0, time.UTC)

// New opens a log in a temporary directory.
func New(t testing.TB) *Log {
	t.Helper()
	store, err := logstore.Open(t.TempDir(), logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	signer, vkey := ledgertest.Signer(t)
	svc := audit.NewService(audit.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Integrity: audit.IntegrityConfig{Signer: signer}})
	t.Cleanup(svc.Close)
	return &Log{t: t, Store: store, Svc: svc, VerifierKey: vkey}
}

// Add appends n events to org, received a minute apart from T0 on.
func (l *Log) Add(org string, n int) { l.AddPadded(org, n, 0) }

// AddPadded appends n events to org, each with pad bytes of metadata.
func (l *Log) AddPadded(org string, n, pad int) {
	l.t.Helper()
	size, _ := l.Store.Size(context.Background(), org)
	b := &audit.Batch{Org: org}
	for i := range n {
		seq := int(size) + i
		at := T0.Add(time.Duration(seq) * time.Minute)
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
	if err := l.Store.Append(context.Background(), []*audit.Batch{b}); err != nil || b.Err != nil {
		l.t.Fatalf("append: %v %v", err, b.Err)
	}
}

// Batch returns the delivery of org's seqs from … to-1 as the engine makes
// it, with the signed checkpoint of size cp (none when cp < 0).
func (l *Log) Batch(org string, from, to, cp int64) *stream.Batch {
	l.t.Helper()
	ctx := context.Background()
	b := &stream.Batch{ID: fmt.Sprintf("%s-%d-%d", org, from, to), Org: org, Stream: "st_test", Format: "json", FirstSeq: from, LastSeq: to - 1}
	render, _ := stream.LookupFormat("json")
	err := l.Store.Scan(ctx, org, from, to, audit.Filter{}, func(seq int64, data []byte) error {
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
		c, err := l.Svc.CheckpointAt(ctx, org, cp)
		if err != nil {
			l.t.Fatal(err)
		}
		b.Checkpoint = c.Note
	}
	return b
}
