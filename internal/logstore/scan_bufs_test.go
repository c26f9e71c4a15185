// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
)

// TestScanReusesBuffers: a Scan over many blocks gives every
// event's bytes, in order, while reading into the same buffers (no
// allocation per block or page; fn's data is valid only during the call).
func TestScanReusesBuffers(t *testing.T) {
	s, events := fixtureCopy(t, Options{BlockEvents: 32, PageEvents: 8, ManualSeal: true})
	ctx := context.Background()
	n := int64(len(events))
	// From 0 (whole blocks read at once) and from inside a block (its
	// pages read one by one).
	for _, from := range []int64{0, 5} {
		seq := from
		err := s.Scan(ctx, "bench", from, n, audit.Filter{}, func(got int64, data []byte) error {
			if got != seq || string(data) != string(events[seq]) {
				t.Fatalf("scan from %d: seq %d (want %d) gives other bytes", from, got, seq)
			}
			seq++
			return nil
		})
		if err != nil || seq != n {
			t.Fatalf("scan from %d: %d events, %v", from, seq-from, err)
		}
	}
	if raceOn {
		return
	}
	// 968 events in 31 blocks of 4 pages: reading each into its own
	// buffers made 5 allocations a block or more.
	allocs := testing.AllocsPerRun(3, func() {
		if err := s.Scan(ctx, "bench", 0, n, audit.Filter{}, func(int64, []byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
	})
	if blocks := float64(n / 32); allocs > blocks {
		t.Fatalf("a scan of %d events in %.0f blocks made %.0f allocations", n, blocks, allocs)
	}
}
