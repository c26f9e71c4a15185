// SPDX-License-Identifier: Apache-2.0

package logstore_test

import (
	"context"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/storetest"
)

func open(t *testing.T, dir string, opts logstore.Options) *logstore.Store {
	t.Helper()
	s, err := logstore.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the suite with the default options: small logs
// stay in the tail, the 20k-event walk seals blocks in the background.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) audit.Store {
		s := open(t, t.TempDir(), logstore.Options{})
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConformanceSealed runs the suite with tiny blocks and pages sealed
// at once, so every read, filter and retry goes through blocks.
func TestConformanceSealed(t *testing.T) {
	storetest.Run(t, func(t *testing.T) audit.Store {
		s := open(t, t.TempDir(), logstore.Options{BlockEvents: 3, PageEvents: 2, ManualSeal: true})
		t.Cleanup(func() { s.Close() })
		return sealing{s}
	})
}

// sealing seals every tail after each Append of up to 100 events (larger
// logs are sealed by TestConformance's background sealer: a seal per 3
// events of the 20k-event walk would only test fsync speed).
type sealing struct{ *logstore.Store }

func (s sealing) Append(ctx context.Context, batches []*audit.Batch) error {
	if err := s.Store.Append(ctx, batches); err != nil {
		return err
	}
	n := 0
	for _, b := range batches {
		n += len(b.Events)
	}
	if n > 100 {
		return nil
	}
	return s.Store.Seal(context.Background())
}
