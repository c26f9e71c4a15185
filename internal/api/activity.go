// SPDX-License-Identifier: Apache-2.0

package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// Activity ranges, in days, both ends included.
const (
	defaultActivityDays = 30
	maxActivityDays     = 400
)

const dayFormat = "2006-01-02"

// activityDay is one day of GET /api/v1/orgs/{org}/activity.
type activityDay struct {
	Day    string           `json:"day"`
	Counts map[string]int64 `json:"counts"`
	Total  int64            `json:"total"`
}

// activity serves GET /api/v1/orgs/{org}/activity?from=YYYY-MM-DD&to=YYYY-MM-DD[&tz=ZONE]:
// events per day (by occurred_at) and category. Days are UTC days unless
// tz names another IANA time zone. UTC days come from the counts the
// ingest transaction maintains, so their cost does not grow with the log;
// days of another zone are counted from the events of the range. Both
// ends are included; to defaults to today, from to 29 days before to; at
// most 400 days. Every day of the range is present, and every category of
// the catalog in each day's counts, zeros included.
func (a *API) activity(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := checkParams(r, "from", "to", "tz"); err != nil {
		return err
	}
	loc, err := tzParam(r)
	if err != nil {
		return err
	}
	from, to, err := a.activityRange(r.URL.Query().Get("from"), r.URL.Query().Get("to"), loc)
	if err != nil {
		return err
	}
	var counts []audit.DayCount
	if loc == time.UTC {
		counts, err = a.store.DailyCounts(r.Context(), c.Org, from, to.AddDate(0, 0, 1))
	} else {
		counts, err = a.zoneCounts(r.Context(), c.Org, from, to.AddDate(0, 0, 1))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Days []activityDay `json:"days"`
	}{a.fillDays(from, to, counts)})
	return nil
}

// zoneCounts counts org's events by day of from's location and category,
// for the events that occurred from from (a midnight) until end (another
// midnight), reading the events themselves.
func (a *API) zoneCounts(ctx context.Context, org string, from, end time.Time) ([]audit.DayCount, error) {
	size, err := a.store.Size(ctx, org)
	if err != nil {
		return nil, err
	}
	f := audit.Filter{Terms: []audit.Term{{Field: audit.FieldOccurred, From: from.UTC(), To: end.UTC()}}}
	type key struct {
		day      string
		category string
	}
	n := map[key]int64{}
	err = a.store.Scan(ctx, org, 0, size, f, func(seq int64, data []byte) error {
		var ev struct {
			Category   string    `json:"category"`
			OccurredAt time.Time `json:"occurred_at"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			return fmt.Errorf("api: decoding stored event %d of %s: %w", seq, org, err)
		}
		n[key{ev.OccurredAt.In(from.Location()).Format(dayFormat), ev.Category}]++
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]audit.DayCount, 0, len(n))
	for k, c := range n {
		d, _ := time.ParseInLocation(dayFormat, k.day, from.Location())
		out = append(out, audit.DayCount{Day: d, Category: k.category, Count: c})
	}
	return out, nil
}

// activityRange parses and checks the inclusive day range; the days are
// midnights of loc.
func (a *API) activityRange(fromS, toS string, loc *time.Location) (from, to time.Time, err error) {
	y, m, d := a.now().In(loc).Date()
	to = time.Date(y, m, d, 0, 0, 0, 0, loc)
	if toS != "" {
		if to, err = time.ParseInLocation(dayFormat, toS, loc); err != nil {
			return from, to, audit.Errorf(audit.CodeInvalid, "to must be a day as YYYY-MM-DD")
		}
	}
	from = to.AddDate(0, 0, 1-defaultActivityDays)
	if fromS != "" {
		if from, err = time.ParseInLocation(dayFormat, fromS, loc); err != nil {
			return from, to, audit.Errorf(audit.CodeInvalid, "from must be a day as YYYY-MM-DD")
		}
	}
	switch days := daysBetween(from, to) + 1; {
	case days < 1:
		return from, to, audit.Errorf(audit.CodeInvalid, "from must not be after to")
	case days > maxActivityDays:
		return from, to, audit.Errorf(audit.CodeInvalid, "the range from %s to %s has %d days; at most %d are allowed", from.Format(dayFormat), to.Format(dayFormat), days, maxActivityDays)
	}
	return from, to, nil
}

// daysBetween counts calendar days from a to b (midnights of one zone),
// whatever the length of each day (DST).
func daysBetween(a, b time.Time) int {
	ua := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua).Hours() / 24)
}

// fillDays lays the counts out over every day from..to (midnights of one
// zone; each count's Day is a midnight of the same zone).
func (a *API) fillDays(from, to time.Time, counts []audit.DayCount) []activityDay {
	cats := a.svc.Catalog().Categories()
	var days []activityDay
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		day := activityDay{Day: d.Format(dayFormat), Counts: make(map[string]int64, len(cats))}
		for _, ci := range cats {
			day.Counts[string(ci.Slug)] = 0
		}
		days = append(days, day)
	}
	byDay := make(map[string]*activityDay, len(days))
	for i := range days {
		byDay[days[i].Day] = &days[i]
	}
	for _, dc := range counts {
		if d := byDay[dc.Day.In(from.Location()).Format(dayFormat)]; d != nil {
			d.Counts[dc.Category] += dc.Count
			d.Total += dc.Count
		}
	}
	return days
}
