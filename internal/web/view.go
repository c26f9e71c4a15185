// SPDX-License-Identifier: Apache-2.0

package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/catalog"
)

// storedEvent is the decoding of an event's canonical bytes, for display.
type storedEvent struct {
	ID          string          `json:"id"`
	Org         string          `json:"org"`
	Seq         int64           `json:"seq"`
	Type        string          `json:"type"`
	Category    string          `json:"category"`
	Actor       audit.Actor     `json:"actor"`
	Targets     []audit.Target  `json:"targets"`
	Description string          `json:"description"`
	Client      *audit.Client   `json:"client"`
	Location    *locationJSON   `json:"location"`
	OccurredAt  time.Time       `json:"occurred_at"`
	ReceivedAt  time.Time       `json:"received_at"`
	Metadata    json.RawMessage `json:"metadata"`
	RecordedBy  string          `json:"recorded_by"`
}

type locationJSON struct {
	CountryCode string `json:"country_code"`
	Country     string `json:"country"`
	Region      string `json:"region"`
	City        string `json:"city"`
}

// eventView is one row of the table and its details, everything already
// text: the template escapes it for HTML.
type eventView struct {
	ID, Anchor      string
	Seq             int64
	Type            string
	Category        string // slug, for the colour class
	CategoryTitle   string
	ActorName       string
	ActorID         string
	ActorType       string
	Initials        string
	AvatarClass     string
	Description     string
	Targets         []audit.Target
	Flag            string // regional-indicator emoji, "" when unknown
	Place           string // "Paris, France"
	CountryCode     string
	Region, City    string
	Country         string
	IP              string // "81.2.69.0/24"
	UserAgent       string
	Occurred        timeView
	Received        timeView
	Metadata        []metaField
	RecordedByTrail bool
	JSON            string // the exact stored bytes
	Integrity       string // whether a signed checkpoint covers the event
	HasLocation     bool
	HasClient       bool
	TargetSummary   string
	FullPlace       string // "Paris, Île-de-France, France"
	Link            string // the page showing this event alone
}

// timeView is a time as the page shows it.
type timeView struct {
	Relative string // "3 hours ago"
	Short    string // "Nov 22, 14:03"
	Exact    string // "2026-11-22 14:03:05 UTC"
	Attr     string // RFC 3339, for <time datetime>
}

// metaField is one metadata key and its value as JSON text (strings bare).
type metaField struct{ Key, Value string }

// newEventView decodes stored bytes for display; now dates the relative
// times, which are shown in loc (the viewer's zone).
func newEventView(data []byte, cat *catalog.Catalog, now time.Time, loc *time.Location) (eventView, error) {
	var e storedEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return eventView{}, fmt.Errorf("web: decoding a stored event: %w", err)
	}
	v := eventView{
		ID: e.ID, Anchor: "ev-" + strconv.FormatInt(e.Seq, 10), Seq: e.Seq,
		Type: e.Type, Category: e.Category, CategoryTitle: e.Category,
		ActorName: firstNonEmpty(e.Actor.Name, e.Actor.ID), ActorID: e.Actor.ID, ActorType: e.Actor.Type,
		Description: e.Description, Targets: e.Targets,
		Occurred: newTimeView(e.OccurredAt, now, loc), Received: newTimeView(e.ReceivedAt, now, loc),
		RecordedByTrail: e.RecordedBy == audit.RecordedByTrail, JSON: string(data),
	}
	if ci, ok := cat.Category(e.Category); ok {
		v.CategoryTitle = ci.Title
	}
	v.Initials = initials(v.ActorName)
	v.AvatarClass = "av" + strconv.Itoa(int(hashOf(e.Actor.Type+"\x00"+e.Actor.ID)%8))
	if c := e.Client; c != nil {
		v.HasClient = true
		v.UserAgent = c.UserAgent
		if c.IP != "" {
			v.IP = c.IP + "/" + strconv.Itoa(c.IPPrefixLen)
		}
	}
	if l := e.Location; l != nil && *l != (locationJSON{}) {
		v.HasLocation = true
		v.CountryCode, v.Country, v.Region, v.City = l.CountryCode, l.Country, l.Region, l.City
		v.Flag = flagEmoji(l.CountryCode)
		v.Place = joinNonEmpty(", ", l.City, firstNonEmpty(l.Country, l.CountryCode))
		v.FullPlace = joinNonEmpty(", ", l.City, l.Region, firstNonEmpty(l.Country, l.CountryCode))
	}
	v.Metadata = metaFields(e.Metadata)
	v.TargetSummary = targetSummary(e.Targets)
	return v, nil
}

// newTimeView formats t in loc (UTC for nil) and relative to now. The
// datetime attribute stays UTC, as stored.
func newTimeView(t, now time.Time, loc *time.Location) timeView {
	if t.IsZero() {
		return timeView{}
	}
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	return timeView{Relative: relative(lt, now.In(loc)), Short: lt.Format("Jan 2, 2006 15:04"),
		Exact: lt.Format("2006-01-02 15:04:05 ") + zoneLabel(lt), Attr: t.UTC().Format(time.RFC3339Nano)}
}

// zoneLabel names t's zone: UTC, or its abbreviation and offset
// ("CET, UTC+01:00"), since abbreviations alone are ambiguous.
func zoneLabel(t time.Time) string {
	if t.Location() == time.UTC {
		return "UTC"
	}
	return t.Format("MST, UTC-07:00")
}

// relative says how long ago t was, in the words people use.
func relative(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < -time.Minute:
		return "in the future (" + t.Format("Jan 2 15:04") + ")"
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 48*time.Hour:
		return "yesterday"
	case d < 30*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	case t.Year() == now.Year():
		return t.Format("Jan 2")
	}
	return t.Format("Jan 2, 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// initials are up to two letters of a name: "Alice Martin" → "AM",
// "alice" → "AL", "ci-bot" → "CB".
func initials(name string) string {
	words := strings.FieldsFunc(name, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	var out []rune
	switch {
	case len(words) >= 2:
		for _, w := range words[:2] {
			r, _ := utf8.DecodeRuneInString(w)
			out = append(out, r)
		}
	case len(words) == 1:
		out = []rune(words[0])
		if len(out) > 2 {
			out = out[:2]
		}
	default:
		return "?"
	}
	return strings.ToUpper(string(out))
}

func hashOf(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// flagEmoji turns an ISO 3166-1 alpha-2 code into its flag: two regional
// indicator symbols. Anything else gives "".
func flagEmoji(code string) string {
	if len(code) != 2 {
		return ""
	}
	var b strings.Builder
	for _, c := range strings.ToUpper(code) {
		if c < 'A' || c > 'Z' {
			return ""
		}
		b.WriteRune(0x1F1E6 + c - 'A')
	}
	return b.String()
}

// metaFields lists the metadata's keys in order with their values: a
// string as itself, anything else as compact JSON.
func metaFields(raw json.RawMessage) []metaField {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]metaField, 0, len(keys))
	for _, k := range keys {
		var s string
		if json.Unmarshal(m[k], &s) == nil {
			out = append(out, metaField{k, s})
			continue
		}
		var buf bytes.Buffer
		if json.Compact(&buf, m[k]) != nil {
			buf.Reset()
			buf.Write(m[k])
		}
		out = append(out, metaField{k, buf.String()})
	}
	return out
}

func targetSummary(ts []audit.Target) string {
	parts := make([]string, 0, len(ts))
	for _, t := range ts {
		parts = append(parts, t.Type+" "+firstNonEmpty(t.Name, t.ID))
	}
	return strings.Join(parts, ", ")
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
