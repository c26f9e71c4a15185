package api

import (
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

// activity serves GET /api/v1/orgs/{org}/activity?from=YYYY-MM-DD&to=YYYY-MM-DD:
// events per UTC day (by occurred_at) and category, from the counts the
// ingest transaction maintains, so its cost does not grow with the log.
// Both ends are included; to defaults to today, from to 29 days before to;
// at most 400 days. Every day of the range is present, and every category
// of the catalog in each day's counts, zeros included.
func (a *API) activity(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := checkParams(r, "from", "to"); err != nil {
		return err
	}
	from, to, err := a.activityRange(r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	if err != nil {
		return err
	}
	counts, err := a.store.DailyCounts(r.Context(), c.Org, from, to.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Days []activityDay `json:"days"`
	}{a.fillDays(from, to, counts)})
	return nil
}

// activityRange parses and checks the inclusive day range.
func (a *API) activityRange(fromS, toS string) (from, to time.Time, err error) {
	to = a.now().UTC().Truncate(24 * time.Hour)
	if toS != "" {
		if to, err = time.Parse(dayFormat, toS); err != nil {
			return from, to, audit.Errorf(audit.CodeInvalid, "to must be a day as YYYY-MM-DD")
		}
	}
	from = to.AddDate(0, 0, 1-defaultActivityDays)
	if fromS != "" {
		if from, err = time.Parse(dayFormat, fromS); err != nil {
			return from, to, audit.Errorf(audit.CodeInvalid, "from must be a day as YYYY-MM-DD")
		}
	}
	switch days := int(to.Sub(from).Hours()/24) + 1; {
	case days < 1:
		return from, to, audit.Errorf(audit.CodeInvalid, "from must not be after to")
	case days > maxActivityDays:
		return from, to, audit.Errorf(audit.CodeInvalid, "the range from %s to %s has %d days; at most %d are allowed", from.Format(dayFormat), to.Format(dayFormat), days, maxActivityDays)
	}
	return from, to, nil
}

// fillDays lays the counts out over every day from..to.
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
		if d := byDay[dc.Day.UTC().Format(dayFormat)]; d != nil {
			d.Counts[dc.Category] += dc.Count
			d.Total += dc.Count
		}
	}
	return days
}
