// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/query"
	"github.com/trailaudit/trail/verify"
)

// streamEnv is a log engine org of 3,000 demo events in small blocks: the
// oldest pruned, one person erased (redacted events), the newest still in
// the tail; checkpoints signed.
type streamEnv struct {
	ctx   context.Context
	store *logstore.Store
	svc   *audit.Service
	vkey  string
	typ   string // the type of a kept event, for filters
}

func newStreamEnv(t *testing.T) *streamEnv {
	t.Helper()
	ctx := context.Background()
	store, err := logstore.Open(t.TempDir(), logstore.Options{BlockEvents: 100, PageEvents: 8, ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	signer, vkey := testSigner(t) // export_leaves_test.go
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := audit.NewService(audit.Config{Store: store, Now: clock, Logger: slog.New(slog.DiscardHandler), Integrity: audit.IntegrityConfig{Signer: signer}})
	t.Cleanup(svc.Close)
	n := 0
	for batch := range demo.Batches(demo.Options{Org: "acme", Events: 3000, Seed: 11, Now: now}) {
		if _, err := svc.Ingest(ctx, "acme", batch); err != nil {
			t.Fatal(err)
		}
		n += len(batch)
		now = now.Add(time.Hour)
		if n == 2500 {
			if err := store.Seal(ctx); err != nil { // what follows stays in the tail
				t.Fatal(err)
			}
		}
	}
	// Prune the blocks of the first two hours' events.
	if _, err := store.Prune(ctx, "acme", time.Date(2026, 12, 1, 1, 30, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if p, err := svc.PrunedBefore(ctx, "acme"); err != nil || p == 0 {
		t.Fatalf("pruned before %d, %v: the test needs a pruned range", p, err)
	}
	// Erase the actor of a kept event: its events are redacted.
	var user, typ string
	err = store.Scan(ctx, "acme", 2000, 2001, audit.Filter{}, func(_ int64, data []byte) error {
		var e struct {
			Type  string
			Actor struct{ ID string }
		}
		if err := json.Unmarshal(data, &e); err != nil {
			return err
		}
		user, typ = e.Actor.ID, e.Type
		return nil
	})
	if err != nil || user == "" {
		t.Fatalf("actor %q: %v", user, err)
	}
	rec, err := svc.StartErasure(ctx, "acme", user, "test", audit.Actor{Type: "user", ID: "admin"}, true)
	if err != nil || rec.State != audit.ErasureDone || rec.Events == 0 {
		t.Fatalf("erasure %+v: %v", rec, err)
	}
	return &streamEnv{ctx: ctx, store: store, svc: svc, vkey: vkey, typ: typ}
}

// TestExportStreamSameBytes holds the export's pipeline (export_stream.go)
// to the bytes of writing each event in turn as it is scanned
// (WriteToReference), for every format, with and without a filter and the
// integrity line, on an org with pruned events, redacted events, sealed
// blocks and a tail; with the leaf hashes in memory and spooled to a file.
// `trail verify` accepts the exports that carry an integrity block.
func TestExportStreamSameBytes(t *testing.T) {
	e := newStreamEnv(t)
	redacted := 0
	for _, req := range []audit.ExportRequest{
		{Format: audit.FormatJSON},
		{Format: audit.FormatJSON, Query: "type:" + e.typ},
		{Format: audit.FormatJSON, Query: "-type:" + e.typ},
		{Format: audit.FormatNDJSON},
		{Format: audit.FormatNDJSON, Integrity: true},
		{Format: audit.FormatNDJSON, Integrity: true, Query: "type:" + e.typ},
		{Format: audit.FormatCSV},
		{Format: audit.FormatCSV, Query: "type:" + e.typ},
	} {
		name := fmt.Sprintf("%s integrity=%v q=%q", req.Format, req.Integrity, req.Query)
		f, err := query.Parse(req.Query, query.Options{})
		if err != nil {
			t.Fatal(err)
		}
		req.Filter = f
		x, err := e.svc.StartExport(e.ctx, "acme", req)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		wantN, err := x.WriteToReference(e.ctx, &want)
		if err != nil {
			t.Fatal(err)
		}
		for _, memory := range []int{1 << 20, 100} {
			restore := audit.SetExportLeaves(true, memory)
			var got bytes.Buffer
			n, err := x.WriteTo(e.ctx, &got, nil)
			restore()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if n != wantN || !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("%s, %d hashes in memory: %d events in %d bytes, want %d events in %d bytes as written one by one (first difference at byte %d)",
					name, memory, n, got.Len(), wantN, want.Len(), firstDiff(got.Bytes(), want.Bytes()))
			}
		}
		if wantN == 0 || want.Len() < 2*256<<10 && req.Query == "" {
			t.Errorf("%s: %d events in %d bytes: the test needs several batches", name, wantN, want.Len())
		}
		redacted += bytes.Count(want.Bytes(), []byte(`"redacted":{"leaf_hash":`))
		if req.Format == audit.FormatCSV || req.Format == audit.FormatNDJSON && !req.Integrity {
			continue
		}
		parsed, err := verify.ParseExport(want.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, err := verify.Verify(parsed, verify.Options{Keys: []string{e.vkey}})
		if err != nil {
			t.Fatalf("%s: trail verify: %v", name, err)
		}
		if res.Size != x.Size || res.Complete != (req.Query == "") || res.PrunedBefore == 0 || len(res.Redacted) == 0 && req.Query == "" {
			t.Errorf("%s: verified size %d (export: %d), complete %v, pruned before %d, %d redacted", name, res.Size, x.Size, res.Complete, res.PrunedBefore, len(res.Redacted))
		}
	}
	if redacted == 0 {
		t.Error("no export held a redacted event")
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// failWriter accepts limit bytes, then fails.
type failWriter struct {
	n, limit int
}

var errFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > w.limit {
		k := w.limit - w.n
		w.n = w.limit
		return k, errFull
	}
	w.n += len(p)
	return len(p), nil
}

// TestExportStreamStops: an export whose writer fails, or whose context
// ends, returns the failure and leaves no goroutine of its pipeline
// behind; a complete one reports its progress as before.
func TestExportStreamStops(t *testing.T) {
	e := newStreamEnv(t)
	before := runtime.NumGoroutine()
	for _, format := range []string{audit.FormatJSON, audit.FormatNDJSON, audit.FormatCSV} {
		x, err := e.svc.StartExport(e.ctx, "acme", audit.ExportRequest{Format: format, Integrity: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, limit := range []int{0, 1000, 100 << 10, 600 << 10} {
			w := &failWriter{limit: limit}
			n, err := x.WriteTo(e.ctx, w, nil)
			if !errors.Is(err, errFull) || n >= x.Size {
				t.Errorf("%s, writer failing after %d bytes: %d events, %v", format, limit, n, err)
			}
		}
		ctx, cancel := context.WithCancel(e.ctx)
		var progress []int64
		w := &cancelWriter{cancel: cancel, after: 300 << 10}
		if _, err := x.WriteTo(ctx, w, func(n int64) { progress = append(progress, n) }); !errors.Is(err, context.Canceled) {
			t.Errorf("%s, cancelled: %v", format, err)
		}
		progress = nil
		if n, err := x.WriteTo(e.ctx, &bytes.Buffer{}, func(n int64) { progress = append(progress, n) }); err != nil || len(progress) != 1 || progress[0] != n {
			t.Errorf("%s: %d events, %v, progress %v", format, n, err, progress)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if strings.Contains(stacks, "audit.(*Export)") {
			t.Errorf("%d goroutines, %d before the exports:\n%s", n, before, stacks)
		}
	}
}

// cancelWriter cancels the export's context once it has taken after
// bytes.
type cancelWriter struct {
	n, after int
	cancel   func()
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	if w.n >= w.after {
		w.cancel()
	}
	return len(p), nil
}

// panicStore's Scan panics after after events.
type panicStore struct {
	*logstore.Store
	after int
}

func (s panicStore) Scan(ctx context.Context, org string, from, to int64, f audit.Filter, fn func(int64, []byte) error) error {
	n := 0
	return s.Store.Scan(ctx, org, from, to, f, func(seq int64, data []byte) error {
		if n++; n > s.after {
			panic("page decoder bug")
		}
		return fn(seq, data)
	})
}

// TestExportStreamPanic: a panic while scanning reaches the export's
// caller, as it did when the scan ran in the caller's goroutine (the API
// turns it into a 500 or a cut transfer), rather than ending the process
// from a pipeline goroutine.
func TestExportStreamPanic(t *testing.T) {
	e := newStreamEnv(t)
	svc := audit.NewService(audit.Config{Store: panicStore{e.store, 1500}, Logger: slog.New(slog.DiscardHandler)})
	defer svc.Close()
	x, err := svc.StartExport(e.ctx, "acme", audit.ExportRequest{Format: audit.FormatNDJSON})
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	p := func() (p any) {
		defer func() { p = recover() }()
		x.WriteTo(e.ctx, &w, nil)
		return nil
	}()
	if s, _ := p.(string); !strings.Contains(s, "page decoder bug") {
		t.Fatalf("recovered %v, want the scan's panic", p)
	}
}
