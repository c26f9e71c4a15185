// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"maps"
	"os"
	"testing"
	"time"
)

func TestZZConvertBig(t *testing.T) {
	dir := os.Getenv("TRAIL_CONV_DIR")
	if dir == "" {
		t.Skip()
	}
	counts := func(s *Store) map[string]int64 {
		out := map[string]int64{}
		for name := range s.orgs {
			days, err := s.DailyCounts(context.Background(), name, time.Unix(-1<<40, 0), time.Unix(1<<40, 0))
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range days {
				out[name+" "+d.Day.Format(time.DateOnly)+" "+d.Category] += d.Count
			}
		}
		return out
	}
	lock, busy, err := lockDir(dir)
	if err != nil || busy {
		t.Fatal(err, busy)
	}
	r, err := Open(dir, Options{ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	before := counts(r)
	r.Close()
	lock.Close()
	t0 := time.Now()
	s, err := Open(dir, Options{ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("owner's Open (with the conversion): %v", time.Since(t0))
	after := counts(s)
	var total int64
	for _, n := range after {
		total += n
	}
	s.Close()
	if !maps.Equal(before, after) {
		t.Fatalf("counts differ: %d entries before, %d after", len(before), len(after))
	}
	t.Logf("%d (org, day, category) counts of %d events equal before and after the conversion", len(after), total)
}
