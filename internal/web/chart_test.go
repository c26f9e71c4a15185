// SPDX-License-Identifier: Apache-2.0

package web

import (
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/catalog"
)

func TestNiceCeil(t *testing.T) {
	for _, tt := range []struct{ in, want int64 }{
		{0, 4}, {3, 4}, {5, 5}, {7, 8}, {11, 15}, {99, 100}, {101, 150}, {220, 250}, {2600, 3000}, {9000, 10000},
	} {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%d) = %d, want %d", tt.in, got, tt.want)
		}
		if top := niceCeil(tt.in); top%tickParts(top) != 0 {
			t.Errorf("ticks of %d are not whole", top)
		}
	}
}

func TestChart(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	cats := catalog.Builtin().Categories()
	c := newChart(chartInput{
		From: day(1), To: day(10),
		Counts: []audit.DayCount{
			{Day: day(1), Category: "content", Count: 3},
			{Day: day(1), Category: "billing", Count: 1},
			{Day: day(5), Category: "content", Count: 1200},
			{Day: day(20), Category: "content", Count: 9}, // outside the range
		},
		Categories: cats,
		Href:       func(d time.Time) string { return "?day=" + d.Format(time.DateOnly) },
	})
	if len(c.Bars) != 10 || c.Total != 1204 || c.TotalText != "1,204 events" {
		t.Fatalf("%d bars, total %d %q; want 10 bars, 1,204 events", len(c.Bars), c.Total, c.TotalText)
	}
	b := c.Bars[0]
	if len(b.Segs) != 2 || b.Href != "?day=2026-03-01" || !strings.Contains(b.Title, "Sun Mar 1, 2026 — 4 events") ||
		!strings.Contains(b.Title, "Content & resources: 3") || !strings.Contains(b.Title, "Billing & cloud: 1") {
		t.Errorf("bar of March 1: %+v", b)
	}
	if len(c.Bars[1].Segs) != 0 || !strings.Contains(c.Bars[1].Title, "0 events") {
		t.Errorf("an empty day: %+v", c.Bars[1])
	}
	if top := c.YTicks[len(c.YTicks)-1]; top.Label != "1,500" || top.Pos != c.PlotTop {
		t.Errorf("top tick %+v, want 1,500 at the top", top)
	}
	if seg := c.Bars[4].Segs[0]; seg.Y < c.PlotTop || seg.Y+seg.H > c.PlotBot+0.1 {
		t.Errorf("the tallest bar %+v leaves the plot", seg)
	}
	if c.Legend[2].Slug != "content" || c.Legend[2].Count != "1,203" {
		t.Errorf("legend %+v", c.Legend)
	}
}

func TestTypeParts(t *testing.T) {
	got := strings.Join(typeParts("org.token_approval.authorization_request"), "|")
	if got != "org.|token_|approval.|authorization_|request" {
		t.Errorf("typeParts = %q", got)
	}
	if got := typeParts("x"); len(got) != 1 || got[0] != "x" {
		t.Errorf("typeParts(x) = %q", got)
	}
}
