// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/ledger/ledgertest"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/verify"
)

// TestExportHashesStreamedEvents: on a store whose leaf hashes are the
// hashes of its events' bytes (the log engine), a complete export hashes
// the events it streams instead of reading them again. Its bytes must be
// exactly those of the export that reads the hashes from the store: with
// the hashes in memory, spooled to a temporary file, and when the file
// cannot be made (it falls back to the store); sealed blocks and the tail
// both; and `trail verify` accepts them.
func TestExportHashesStreamedEvents(t *testing.T) {
	ctx := context.Background()
	store, err := logstore.Open(t.TempDir(), logstore.Options{BlockEvents: 100, PageEvents: 8, ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	signer, vkey := testSigner(t)
	svc := audit.NewService(audit.Config{Store: store, Logger: slog.New(slog.DiscardHandler), Integrity: audit.IntegrityConfig{Signer: signer}})
	defer svc.Close()
	n := 0
	for batch := range demo.Batches(demo.Options{Org: "acme", Events: 1150, Seed: 5}) {
		if _, err := svc.Ingest(ctx, "acme", batch); err != nil {
			t.Fatal(err)
		}
		if n += len(batch); n >= 1000 && n-len(batch) < 1000 {
			if err := store.Seal(ctx); err != nil { // what follows stays in the tail
				t.Fatal(err)
			}
		}
	}
	write := func(x *audit.Export) []byte {
		var buf bytes.Buffer
		if _, err := x.WriteTo(ctx, &buf, nil); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, req := range []audit.ExportRequest{
		{Format: audit.FormatJSON},
		{Format: audit.FormatNDJSON, Integrity: true},
	} {
		x, err := svc.StartExport(ctx, "acme", req)
		if err != nil {
			t.Fatal(err)
		}
		if x.Size < 1150 {
			t.Fatalf("size %d", x.Size)
		}
		restore := audit.SetExportLeaves(false, 0)
		want := write(x)
		restore()
		for _, c := range []struct {
			name   string
			memory int
			tmp    string
		}{
			{"in memory", 1 << 20, ""},
			{"spooled to a file", 100, ""},
			{"no room for the file", 100, filepath.Join(t.TempDir(), "missing")},
		} {
			if c.tmp != "" {
				t.Setenv("TMPDIR", c.tmp)
			}
			restore := audit.SetExportLeaves(true, c.memory)
			got := write(x)
			restore()
			if !bytes.Equal(got, want) {
				t.Errorf("%s, %s: %d bytes differ from the export reading stored hashes (%d bytes)", req.Format, c.name, len(got), len(want))
			}
		}
		parsed, err := verify.ParseExport(want)
		if err != nil {
			t.Fatal(err)
		}
		res, err := verify.Verify(parsed, verify.Options{Keys: []string{vkey}})
		if err != nil {
			t.Fatalf("%s: %v", req.Format, err)
		}
		if !res.Complete || res.Size != x.Size {
			t.Errorf("%s: verified %+v", req.Format, res)
		}
	}
}

// testSigner returns a new checkpoint signer and its verifier key.
func testSigner(t *testing.T) (*ledger.Signer, string) { return ledgertest.Signer(t) }
