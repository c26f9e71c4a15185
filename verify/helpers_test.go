// SPDX-License-Identifier: Apache-2.0

package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger/ledgertest"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/query"
)

// testLog is a real store and service that sign checkpoints, to make real
// exports.
type testLog struct {
	t     testing.TB
	store audit.Store
	svc   *audit.Service
	vkey  string
}

var t0 = time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)

func newTestLog(t testing.TB, dir string) *testLog {
	t.Helper()
	store, err := logstore.Open(dir, logstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	signer, vkey := ledgertest.Signer(t)
	svc := audit.NewService(audit.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Integrity: audit.IntegrityConfig{Signer: signer}})
	t.Cleanup(svc.Close)
	return &testLog{t: t, store: store, svc: svc, vkey: vkey}
}

var types = []struct{ typ, cat string }{{"repo.create", "content"}, {"repo.delete", "content"}, {"org.change_role", "membership"}}

// add appends n events to org, in batches of up to 500.
func (l *testLog) add(org string, n int, rng *rand.Rand) {
	l.t.Helper()
	size, _ := l.store.Size(context.Background(), org)
	for done := 0; done < n; {
		b := &audit.Batch{Org: org}
		for ; done < n && len(b.Events) < 500; done++ {
			i := int(size) + done
			ty := types[rng.IntN(len(types))]
			b.Events = append(b.Events, &audit.Pending{Event: audit.Event{
				ID: fmt.Sprintf("ev-%d-%d", i, rng.IntN(1000)), Org: org, Type: ty.typ, Category: ty.cat,
				Actor:       audit.Actor{Type: "user", ID: "u1", Name: "alice"},
				Targets:     []audit.Target{{Type: "repo", ID: fmt.Sprint("r", i), Name: org + "/model"}},
				Description: fmt.Sprintf("alice did %s number %d \"quoted\" \\ é", ty.typ, i),
				OccurredAt:  t0.Add(time.Duration(i) * time.Minute), ReceivedAt: t0.Add(time.Duration(i) * time.Minute),
				Metadata: map[string]any{"n": fmt.Sprint(i)},
			}})
		}
		if err := l.store.Append(context.Background(), []*audit.Batch{b}); err != nil || b.Err != nil {
			l.t.Fatalf("append: %v %v", err, b.Err)
		}
	}
}

// export returns an export of org as the API makes it.
func (l *testLog) export(org, format, q string) []byte {
	l.t.Helper()
	cat := l.svc.Catalog()
	f, err := query.Parse(q, query.Options{KnownType: func(n string) bool { _, ok := cat.Lookup(n); return ok }})
	if err != nil {
		l.t.Fatal(err)
	}
	x, err := l.svc.StartExport(context.Background(), org, audit.ExportRequest{
		Format: format, Filter: f, Query: q, Integrity: true,
		Actor: audit.Actor{Type: "system", ID: "test", Name: "test"},
	})
	if err != nil {
		l.t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := x.WriteTo(context.Background(), &buf, nil); err != nil {
		l.t.Fatal(err)
	}
	return buf.Bytes()
}
