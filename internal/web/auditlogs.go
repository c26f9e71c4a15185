// SPDX-License-Identifier: Apache-2.0

package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// auditPage is what the audit-log page shows.
type auditPage struct {
	layout
	Base            string // the page's path
	ExportPath      string
	StreamsPath     string // the Streaming page; "" when this server does not stream
	Form            filterForm
	FormError       *formError
	Filtered        bool
	FilterQuery     string // the filters as one search string (query.Format)
	CategoryOptions template.HTML
	CategoryList    string // the catalog's category slugs, for the search help
	TypeOptions     template.HTML
	CountryOptions  template.HTML
	Presets         []preset
	Chart           *chartView
	Events          []eventView
	Detail          *eventView // ?event=ID
	Quarantine      string     // why the org is quarantined, "" when it is not
	Retention       string     // the org's retention policy and pruned range, "" when kept forever
	DetailError     string
	CountText       string // "24,012 events"; "" when not cheap to know
	State           string // "rows", "empty" (no events at all), "pruned" (all removed by retention), "nomatch", "invalid"
	NewerURL        string
	OlderURL        string
	NewestURL       string
	ClearURL        string
	CloseURL        string // the page without ?event
	HelpOpen        bool
	loc             *time.Location // the zone times are shown in (zone.go)
}

// auditLogs serves GET /orgs/{org}/settings/audit-logs: the chart, the
// filters, one page of the table and the downloads.
func (h *Handler) auditLogs(w http.ResponseWriter, r *http.Request) error {
	si, err := h.sessionFor(r)
	if err != nil {
		return err
	}
	ctx, org := r.Context(), si.sess.Org
	v := r.URL.Query()
	cur, err := readCursor(v)
	if err != nil {
		return err
	}
	p := &auditPage{
		layout: h.signedInLayout("Audit logs · "+org, si),
		Base:   pagePath(org), ExportPath: pagePath(org) + "/export",
		Form: readForm(v), State: "rows", loc: h.viewerZone(r),
	}
	p.TimeZone = p.loc.String()
	p.ClearURL = p.Base
	if h.streams != nil {
		p.StreamsPath = streamsPath(org)
	}
	p.CategoryOptions = h.categoryOptions(p.Form.Category)
	p.CategoryList = h.categoryList()
	p.TypeOptions = h.typeOptions(p.Form.Type)
	p.CountryOptions = countryOptions(p.Form.Country)
	p.Presets = h.presets(p)
	filter, ferr := h.filter(p.Form)
	p.FormError, p.Filtered = ferr, !p.Form.empty()
	if ferr == nil {
		p.FilterQuery = formatFilter(filter)
	}
	if err := h.recordView(ctx, si, p.FilterQuery); err != nil {
		return err
	}
	if ferr != nil {
		p.State, p.HelpOpen = "invalid", ferr.Field == "q"
		h.render(w, r, http.StatusBadRequest, "auditlogs", p)
		return nil
	}
	if err := h.fill(ctx, p, org, filter, cur, v.Get("event")); err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "auditlogs", p)
	return nil
}

// fill reads what the page shows for a valid filter.
func (h *Handler) fill(ctx context.Context, p *auditPage, org string, f audit.Filter, c cursor, eventID string) error {
	st := h.svc.Store()
	now := h.now()
	size, err := st.Size(ctx, org)
	if err != nil {
		return err
	}
	if err := h.fillChart(ctx, p, org, f, now); err != nil {
		return err
	}
	pruned, err := h.svc.PrunedBefore(ctx, org)
	if err != nil {
		return err
	}
	if n, ok, err := h.cheapCount(ctx, org, f, size-pruned); err != nil {
		return err
	} else if ok {
		p.CountText = eventsText(n)
	}
	if p.Retention, err = h.retentionText(ctx, org, pruned); err != nil {
		return err
	}
	rs, err := h.loadRows(ctx, org, f, c)
	if err != nil {
		return err
	}
	cp := h.checkpoint(ctx, p, org)
	for _, data := range rs.events {
		ev, err := newEventView(data, h.svc.Catalog(), now, p.loc)
		if err != nil {
			return err
		}
		ev.Integrity = integrityText(cp, ev.Seq)
		if ev.HasLocation {
			p.ShowAttr = h.attr.Text != ""
		}
		ev.Link = p.url(p.Form.values(), "event", ev.ID)
		p.Events = append(p.Events, ev)
	}
	switch {
	case size == 0:
		p.State = "empty"
	case size == pruned:
		p.State = "pruned" // every event was removed by retention (the line says so)
	case len(p.Events) == 0:
		p.State = "nomatch"
	}
	base := p.Form.values()
	if rs.newer && len(rs.seqs) > 0 {
		p.NewerURL = p.url(base, "after", strconv.FormatInt(rs.seqs[0], 10))
	}
	if rs.older && len(rs.seqs) > 0 {
		p.OlderURL = p.url(base, "before", strconv.FormatInt(rs.seqs[len(rs.seqs)-1], 10))
	}
	if c.before >= 0 || c.after >= 0 {
		p.NewestURL = p.url(base)
	}
	if eventID != "" {
		p.CloseURL = p.url(base)
		h.fillDetail(ctx, p, org, eventID, now)
		if p.Detail != nil {
			p.Detail.Integrity = integrityText(cp, p.Detail.Seq)
			p.Detail.Link = p.url(base, "event", p.Detail.ID)
			p.ShowAttr = p.ShowAttr || (p.Detail.HasLocation && h.attr.Text != "")
		}
	}
	p.Attr = h.attr
	return nil
}

// fillChart draws the activity chart for the filter's date range.
func (h *Handler) fillChart(ctx context.Context, p *auditPage, org string, f audit.Filter, now time.Time) error {
	from, to, clamped := chartRange(f, now.UTC().Truncate(24*time.Hour))
	counts, err := h.svc.Store().DailyCounts(ctx, org, from, to.AddDate(0, 0, 1))
	if err != nil {
		return err
	}
	base := p.Form.values()
	c := newChart(chartInput{
		From: from, To: to, Counts: counts, Categories: chartCategories(f, h.svc.Catalog()),
		Href: func(day time.Time) string {
			d := day.Format(time.DateOnly)
			v := cloneValues(base)
			v.Set("from", d)
			v.Set("to", d)
			return p.url(v)
		},
	})
	c.Clamped, c.Partial = clamped, chartPartial(f)
	p.Chart = &c
	return nil
}

// fillDetail shows one event by id above the table (?event=ID), for a
// link to it.
func (h *Handler) fillDetail(ctx context.Context, p *auditPage, org, id string, now time.Time) {
	if !audit.ValidEventID(id) {
		p.DetailError = "There is no event with this id in the log."
		return
	}
	_, data, err := h.svc.Store().Event(ctx, org, id)
	if errors.Is(err, audit.ErrNotFound) || audit.ErrorCode(err) == audit.CodeNotFound {
		p.DetailError = "There is no event with this id in the log."
		return
	}
	if err != nil {
		h.log.WarnContext(ctx, "reading an event failed", "org", org, "err", err)
		p.DetailError = "Trail could not read this event just now; reload the page in a moment."
		return
	}
	ev, err := newEventView(data, h.svc.Catalog(), now, p.loc)
	if err != nil {
		p.DetailError = "Trail could not read this event."
		return
	}
	ev.Anchor = "event"
	p.Detail = &ev
}

// recordView records an org.audit_log.view event for the session, at most
// once per audit.ViewEvery. A quarantined org's log takes no new events,
// its view records included; its admins must still read it (that is when
// they need it most), so the page is shown without recording the view
// and a warning is logged. The quarantine is checked before the session is
// marked as viewed, so the first view after it is lifted is recorded.
func (h *Handler) recordView(ctx context.Context, si signedIn, search string) error {
	org := si.sess.Org
	if qerr := h.svc.Quarantined(org); qerr != nil {
		h.unrecordedView(si, qerr)
		return nil
	}
	ok, err := h.viewers.ShouldRecordView(ctx, si.id)
	if err != nil || !ok {
		return err
	}
	meta := map[string]any{}
	if search != "" {
		meta["query"] = search
	}
	_, err = h.svc.Record(ctx, org, "org.audit_log.view", si.sess.User, meta)
	if audit.ErrorCode(err) == audit.CodeQuarantined { // quarantined since the check
		h.unrecordedView(si, err)
		return nil
	}
	return err
}

// unrecordedView logs a view of a quarantined org's log that could not
// be recorded in it.
func (h *Handler) unrecordedView(si signedIn, qerr error) {
	h.log.Warn("audit-log view not recorded: the org is quarantined",
		"org", si.sess.Org, "user", si.sess.User.ID, "reason", audit.ErrorMessage(qerr))
}

// presets are one-click date ranges ending today.
func (h *Handler) presets(p *auditPage) []preset {
	today := h.now().UTC().Truncate(24 * time.Hour)
	to := today.Format(time.DateOnly)
	var out []preset
	for _, d := range []struct {
		label string
		days  int
	}{{"24 hours", 1}, {"7 days", 7}, {"30 days", 30}, {"90 days", 90}, {"1 year", 365}} {
		from := today.AddDate(0, 0, 1-d.days).Format(time.DateOnly)
		v := p.Form.values()
		v.Set("from", from)
		v.Set("to", to)
		out = append(out, preset{Label: d.label, URL: p.url(v), Active: p.Form.From == from && p.Form.To == to})
	}
	v := p.Form.values()
	v.Del("from")
	v.Del("to")
	out = append(out, preset{Label: "All time", URL: p.url(v), Active: p.Form.From == "" && p.Form.To == ""})
	return out
}

// url returns the page's URL with v and then the given key-value pairs.
func (p *auditPage) url(v url.Values, kv ...string) string {
	v = cloneValues(v)
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	if len(v) == 0 {
		return p.Base
	}
	return p.Base + "?" + v.Encode()
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func (f filterForm) empty() bool { return f == filterForm{} }

// checkpoint returns the org's latest signed checkpoint for the details'
// integrity line (nil when there is none to show) and flags a quarantined
// org on the page.
func (h *Handler) checkpoint(ctx context.Context, p *auditPage, org string) *audit.SignedCheckpoint {
	if qerr := h.svc.Quarantined(org); qerr != nil {
		p.Quarantine = audit.ErrorMessage(qerr)
	}
	cp, err := h.svc.LatestCheckpoint(ctx, org)
	if err != nil {
		if audit.ErrorCode(err) != audit.CodeUnavailable {
			h.log.WarnContext(ctx, "reading the latest checkpoint failed", "org", org, "err", err)
		}
		return nil
	}
	return &cp
}

// integrityText says whether the event with seq is covered by cp.
func integrityText(cp *audit.SignedCheckpoint, seq int64) string {
	switch {
	case cp == nil:
		return ""
	case seq < cp.Size:
		return fmt.Sprintf("Included in the latest signed checkpoint (size %d, root %s…, signed %s UTC); GET …/events/{id}/proof proves it.",
			cp.Size, cp.Root.String()[:12], cp.SignedAt.UTC().Format("2006-01-02 15:04:05"))
	default:
		return fmt.Sprintf("Not yet in a signed checkpoint (the latest covers seq 0 … %d); the next one, within seconds, will include it.", cp.Size-1)
	}
}
