// SPDX-License-Identifier: Apache-2.0

package web

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/catalog"
)

// The chart is drawn on the server as inline SVG: no chart library and no
// script. Coordinates are in the viewBox; colours come from the category
// classes of the style sheet, since the CSP forbids inline styles.
const (
	chartW      = 1000.0
	chartH      = 180.0
	chartLeft   = 48.0 // room for the y labels
	chartRight  = 8.0
	chartTop    = 10.0
	chartBottom = 26.0 // room for the x labels
)

// Chart ranges, in days.
const (
	defaultChartDays = 30
	maxChartDays     = 400
)

// chartView is what the template draws.
type chartView struct {
	W, H             float64
	PlotLeft, PlotW  float64
	PlotRight        float64
	PlotTop, PlotBot float64
	PlotH            float64
	YLabelX, XLabelY float64
	MidX, MidY       float64
	Bars             []chartBar
	YTicks           []chartTick
	XTicks           []chartTick
	Legend           []legendItem
	Total            int64
	TotalText        string
	RangeText        string // "Oct 24 – Nov 22, 2026"
	Days             int
	Clamped          bool // the range asked for was longer than maxChartDays
	Partial          bool // filters other than category and date do not apply
	Desc             string
}

type chartBar struct {
	X, W         float64
	SlotX, SlotW float64 // the whole column, which takes hover and clicks
	Href         string
	Title        string
	Segs         []chartSeg
}

type chartSeg struct {
	Y, H  float64
	Class string
}

type chartTick struct {
	Pos   float64
	Label string
}

type legendItem struct {
	Slug, Title string
	Count       string
}

// chartInput is what a chart is made of.
type chartInput struct {
	From, To   time.Time // midnight UTC, both days included
	Counts     []audit.DayCount
	Categories []catalog.CategoryInfo // the categories shown, in stacking order
	Href       func(day time.Time) string
}

// newChart lays the counts out as stacked bars, one per day.
func newChart(in chartInput) chartView {
	days := int(in.To.Sub(in.From)/(24*time.Hour)) + 1
	c := chartView{W: chartW, H: chartH, PlotLeft: chartLeft, PlotW: chartW - chartLeft - chartRight,
		PlotTop: chartTop, PlotBot: chartH - chartBottom, Days: days}
	c.PlotRight = c.PlotLeft + c.PlotW
	c.PlotH = c.PlotBot - c.PlotTop
	c.YLabelX, c.XLabelY = c.PlotLeft-8, c.PlotBot+17
	c.MidX, c.MidY = c.PlotLeft+c.PlotW/2, c.PlotTop+c.PlotH/2
	shown := map[string]bool{}
	for _, ci := range in.Categories {
		shown[string(ci.Slug)] = true
	}
	perDay := make([]map[string]int64, days)
	totals := make([]int64, days)
	byCat := map[string]int64{}
	for _, dc := range in.Counts {
		i := int(dc.Day.UTC().Sub(in.From) / (24 * time.Hour))
		if i < 0 || i >= days || !shown[dc.Category] {
			continue
		}
		if perDay[i] == nil {
			perDay[i] = map[string]int64{}
		}
		perDay[i][dc.Category] += dc.Count
		totals[i] += dc.Count
		byCat[dc.Category] += dc.Count
		c.Total += dc.Count
	}
	var peak int64
	for _, t := range totals {
		peak = max(peak, t)
	}
	top := niceCeil(peak)
	plotH := c.PlotBot - c.PlotTop
	slot := c.PlotW / float64(days)
	barW := math.Max(1, math.Min(slot*0.72, 28))
	for i := range days {
		day := in.From.AddDate(0, 0, i)
		bar := chartBar{X: round1(c.PlotLeft + float64(i)*slot + (slot-barW)/2), W: round1(barW), Href: in.Href(day),
			SlotX: round1(c.PlotLeft + float64(i)*slot), SlotW: round1(slot)}
		y := c.PlotBot
		var lines []string
		for _, ci := range in.Categories {
			n := perDay[i][string(ci.Slug)]
			if n == 0 {
				continue
			}
			h := float64(n) / float64(top) * plotH
			y -= h
			bar.Segs = append(bar.Segs, chartSeg{Y: round1(y), H: round1(math.Max(h, 0.5)), Class: "c-" + string(ci.Slug)})
			lines = append(lines, ci.Title+": "+formatCount(n))
		}
		bar.Title = day.Format("Mon Jan 2, 2006") + " — " + eventsText(totals[i])
		if len(lines) > 0 {
			bar.Title += "\n" + strings.Join(lines, "\n")
		}
		c.Bars = append(c.Bars, bar)
	}
	for i := int64(0); i <= tickParts(top); i++ {
		v := top * i / tickParts(top)
		c.YTicks = append(c.YTicks, chartTick{Pos: round1(c.PlotBot - float64(v)/float64(top)*plotH), Label: formatCount(v)})
	}
	step := labelStep(days)
	for i := 0; i < days; i += step {
		day := in.From.AddDate(0, 0, i)
		c.XTicks = append(c.XTicks, chartTick{Pos: round1(c.PlotLeft + (float64(i)+0.5)*slot), Label: day.Format("Jan 2")})
	}
	for _, ci := range in.Categories {
		c.Legend = append(c.Legend, legendItem{Slug: string(ci.Slug), Title: ci.Title, Count: formatCount(byCat[string(ci.Slug)])})
	}
	c.TotalText = eventsText(c.Total)
	c.RangeText = rangeText(in.From, in.To)
	c.Desc = c.TotalText + " from " + in.From.Format("January 2, 2006") + " to " + in.To.Format("January 2, 2006") + ", per day"
	return c
}

// niceCeil rounds n up to a round number for the top of the y axis: 1,
// 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten, at least 4.
func niceCeil(n int64) int64 {
	if n <= 4 {
		return 4
	}
	p := int64(1)
	for p*10 <= n {
		p *= 10
	}
	for _, tenths := range []int64{10, 15, 20, 25, 30, 40, 50, 60, 80, 100} {
		if v := tenths * p; v%10 == 0 && v/10 >= n {
			return v / 10
		}
	}
	return 10 * p
}

// tickParts is how many equal parts the y axis is cut into, so that
// every tick is a whole number.
func tickParts(top int64) int64 {
	for _, k := range []int64{4, 3, 5, 2} {
		if top%k == 0 {
			return k
		}
	}
	return 1
}

// labelStep is how many days apart the x labels are, for at most ~8.
func labelStep(days int) int {
	for _, s := range []int{1, 2, 3, 7, 14, 28, 56} {
		if days/s <= 8 {
			return s
		}
	}
	return 91
}

func rangeText(from, to time.Time) string {
	if from.Year() == to.Year() {
		return from.Format("Jan 2") + " – " + to.Format("Jan 2, 2006")
	}
	return from.Format("Jan 2, 2006") + " – " + to.Format("Jan 2, 2006")
}

func eventsText(n int64) string {
	if n == 1 {
		return "1 event"
	}
	return formatCount(n) + " events"
}

// formatCount writes n with thousands separators: 12,345.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }
