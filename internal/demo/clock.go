// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"time"
)

const day = 24 * time.Hour

// hourWeights is how likely a person acts at each local hour of a working
// day: office hours, a lunch dip, some evening work, little at night.
var hourWeights = [24]float64{
	0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 1, 3, 6, 8, 8,
	5, 6, 8, 8, 7, 5, 3, 2, 1.5, 1.2, 0.8, 0.4,
}

var hourCumulative = func() (c [24]float64) {
	sum := 0.0
	for i, w := range hourWeights {
		sum += w
		c[i] = sum
	}
	return c
}()

// weekendChance is how likely a draw on a Saturday or Sunday is kept.
const weekendChance = 0.12

// officeHour draws a local hour from hourWeights.
func (g *gen) officeHour() int {
	r := g.rng.Float64() * hourCumulative[23]
	for h, c := range hourCumulative {
		if r < c {
			return h
		}
	}
	return 23
}

// bounds narrows [lo, hi) to the history and to m's membership.
func (g *gen) bounds(m *member, lo, hi time.Time) (time.Time, time.Time) {
	lo, hi = maxTime(lo, g.lo), minTime(hi, g.hi)
	if m != nil {
		lo = maxTime(lo, m.joined)
		if !m.left.IsZero() {
			hi = minTime(hi, m.left)
		}
	}
	return lo, hi
}

// workTime draws a time in [lo, hi) when member m plausibly works:
// weekdays much more than weekends, office hours in m's time zone.
func (g *gen) workTime(m *member, lo, hi time.Time) time.Time {
	lo, hi = g.bounds(m, lo, hi)
	if !lo.Before(hi) {
		return lo
	}
	zone := time.FixedZone("", m.tz*60)
	first := midnight(lo.In(zone))
	days := int(hi.Sub(first)/day) + 1
	for range 16 {
		d := first.AddDate(0, 0, g.rng.IntN(days))
		if weekend(d) && g.rng.Float64() > weekendChance {
			continue
		}
		h := (g.officeHour() + m.shift + 24) % 24
		t := d.Add(time.Duration(h)*time.Hour + g.jitter(time.Hour))
		if !t.Before(lo) && t.Before(hi) {
			return t
		}
	}
	return g.uniform(lo, hi)
}

// ciTime draws a time for a CI token: pushes during the working day
// (UTC, Europe to the US) and nightly runs.
func (g *gen) ciTime(lo, hi time.Time) time.Time {
	lo, hi = g.bounds(nil, lo, hi)
	if !lo.Before(hi) {
		return lo
	}
	first := midnight(lo.UTC())
	days := int(hi.Sub(first)/day) + 1
	for range 16 {
		d := first.AddDate(0, 0, g.rng.IntN(days))
		var t time.Time
		if g.rng.IntN(10) < 4 {
			t = d.Add(time.Hour + g.jitter(150*time.Minute)) // nightly, 01:00–03:30
		} else if weekend(d) && g.rng.IntN(10) > 0 {
			continue
		} else {
			t = d.Add(6*time.Hour + g.jitter(14*time.Hour))
		}
		if !t.Before(lo) && t.Before(hi) {
			return t
		}
	}
	return g.uniform(lo, hi)
}

// uniform draws a time in [lo, hi).
func (g *gen) uniform(lo, hi time.Time) time.Time {
	if !lo.Before(hi) {
		return lo
	}
	return lo.Add(time.Duration(g.rng.Int64N(int64(hi.Sub(lo)))))
}

// jitter draws a duration in [0, d).
func (g *gen) jitter(d time.Duration) time.Duration {
	return time.Duration(g.rng.Int64N(int64(d)))
}

// at returns a working time of m near the point f (0 = start, 1 = now) of
// the history: on that local day, or the next weekday, between 9:00 and
// 17:00. Stories use it to place their first event.
func (g *gen) at(m *member, f float64) time.Time {
	base := g.lo.Add(time.Duration(f * float64(g.hi.Sub(g.lo))))
	zone := time.FixedZone("", m.tz*60)
	d := midnight(base.In(zone))
	for weekend(d) {
		d = d.AddDate(0, 0, 1)
	}
	t := d.Add(9*time.Hour + g.jitter(8*time.Hour))
	return g.clamp(t)
}

// clamp moves t into the history [lo, hi).
func (g *gen) clamp(t time.Time) time.Time {
	return minTime(maxTime(t, g.lo), g.hi.Add(-time.Millisecond))
}

func midnight(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func weekend(t time.Time) bool {
	wd := t.Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
