// SPDX-License-Identifier: Apache-2.0

package query

import (
	"strconv"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// maxYear is the last year a bound may fall in: time.RFC3339 and
// time.DateOnly cannot render later ones, and Format must.
const maxYear = 9999

// endpoint is one end of a range as written: a UTC day, an instant, or
// open ("*").
type endpoint struct {
	t    time.Time // the day's first instant, or the instant
	day  bool
	open bool
	pos  int // where it is written, for errors
}

// start returns the first instant e covers; the zero time when e is open.
// Since the zero time means open, a closed e cannot start at that instant
// (0001-01-01, or 0001-01-01T00:00:00Z): it is out of range. It can end
// there, as in *..0001-01-01.
func (e endpoint) start() (time.Time, *SyntaxError) {
	if !e.open && e.t.IsZero() {
		return e.t, errorf(e.pos, "date out of range: bounds must fall in the years 1 to %d", maxYear)
	}
	return e.t, nil
}

// end returns the first instant after all that e covers: the next day for
// a day, the next nanosecond for an instant; the zero time when e is open.
func (e endpoint) end() time.Time {
	switch {
	case e.open:
		return time.Time{}
	case e.day:
		return e.t.AddDate(0, 0, 1)
	}
	return e.t.Add(time.Nanosecond)
}

func dateTerm(f audit.Field) parseFunc {
	return func(p *parser, v string, pos int) (audit.Term, *SyntaxError) {
		from, to, err := p.dateRange(v, pos)
		if err != nil {
			return audit.Term{}, err
		}
		return audit.Term{Field: f, From: utc(from), To: utc(to)}, nil
	}
}

// utc returns t in UTC, keeping the zero time (an open end) zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// dateRange parses a RANGE into an inclusive From and an exclusive To.
func (p *parser) dateRange(v string, pos int) (from, to time.Time, err *SyntaxError) {
	if op := comparison(v); op != "" {
		from, to, err = p.compare(op, v[len(op):], pos+len(op))
	} else {
		from, to, err = p.interval(v, pos)
	}
	if err != nil {
		return from, to, err
	}
	if from.Year() > maxYear || to.Year() > maxYear {
		return from, to, errorf(pos, "date out of range: bounds must fall in the years 1 to %d", maxYear)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, errorf(pos, "the range ends before it starts")
	}
	return from, to, nil
}

func comparison(v string) string {
	for _, op := range []string{">=", "<=", ">", "<"} {
		if strings.HasPrefix(v, op) {
			return op
		}
	}
	return ""
}

// compare parses the date after a comparison operator.
func (p *parser) compare(op, v string, pos int) (from, to time.Time, err *SyntaxError) {
	e, err := p.endpoint(v, pos, false)
	if err != nil {
		return from, to, err
	}
	switch op {
	case ">=":
		from, err = e.start()
	case ">":
		from = e.end()
	case "<=":
		to = e.end()
	case "<":
		to, err = e.start()
	}
	return from, to, err
}

// interval parses DATE and START..END.
func (p *parser) interval(v string, pos int) (from, to time.Time, err *SyntaxError) {
	a, b, ok := strings.Cut(v, "..")
	ea, err := p.endpoint(a, pos, ok)
	eb := ea
	if ok && err == nil {
		eb, err = p.endpoint(b, pos+len(a)+len(".."), true)
	}
	if err != nil {
		return from, to, err
	}
	from, err = ea.start()
	return from, eb.end(), err
}

// endpoint parses one date, timestamp, relative day or, when openOK, "*".
func (p *parser) endpoint(s string, pos int, openOK bool) (endpoint, *SyntaxError) {
	var e endpoint
	var ok bool
	switch {
	case s == "":
		return e, errorf(pos, "missing date")
	case s == "*" && openOK:
		return endpoint{open: true}, nil
	case s == "*":
		return e, errorf(pos, `"*" may only stand for an open end of a range, as in 2026-01-01..*`)
	case strings.HasPrefix(s, "@"):
		if e, ok = p.relativeDay(s); !ok {
			return e, errorf(pos, "invalid relative date %s: want @today, @today-7d or @today-2w", quote(s))
		}
	default:
		if e, ok = absolute(s, p.opts.location()); !ok {
			return e, errorf(pos, "invalid date %s: want YYYY-MM-DD or an RFC 3339 timestamp such as 2026-01-01T10:00:00Z", quote(s))
		}
	}
	if y := e.t.Year(); y < 1 || y > maxYear {
		return e, errorf(pos, "date out of range: %s is not in the years 1 to %d", quote(s), maxYear)
	}
	e.pos = pos
	return e, nil
}

// absolute parses YYYY-MM-DD (a day in loc) or an RFC 3339 timestamp.
// The shape is checked first because time.Parse also takes one-digit
// hours, signed years and a comma before the fraction.
func absolute(s string, loc *time.Location) (endpoint, bool) {
	if matchShape(s, "dddd-dd-dd") {
		t, err := time.ParseInLocation(time.DateOnly, s, loc)
		return endpoint{t: t, day: true}, err == nil
	}
	if isRFC3339(s) {
		t, err := time.Parse(time.RFC3339Nano, s)
		return endpoint{t: t.UTC()}, err == nil
	}
	return endpoint{}, false
}

// isRFC3339 reports whether s is shaped YYYY-MM-DDTHH:MM:SS, then an
// optional fraction of one to nine digits, then Z or an offset ±HH:MM
// below 24 hours.
func isRFC3339(s string) bool {
	const shape = "dddd-dd-ddTdd:dd:dd"
	if len(s) <= len(shape) || !matchShape(s[:len(shape)], shape) {
		return false
	}
	rest := s[len(shape):]
	if frac, ok := strings.CutPrefix(rest, "."); ok {
		n := len(frac) - len(strings.TrimLeft(frac, "0123456789"))
		if n == 0 || n > 9 {
			return false
		}
		rest = frac[n:]
	}
	if rest == "Z" {
		return true
	}
	// time.Parse takes offsets up to +99:99.
	return len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && matchShape(rest[1:], "dd:dd") &&
		rest[1:3] < "24" && rest[4:6] < "60"
}

// matchShape reports whether s is shape with each 'd' standing for an
// ASCII digit.
func matchShape(s, shape string) bool {
	if len(s) != len(shape) {
		return false
	}
	for i := range len(s) {
		if shape[i] == 'd' && !isDigit(s[i]) || shape[i] != 'd' && s[i] != shape[i] {
			return false
		}
	}
	return true
}

// relativeDay parses @today, @today-Nd and @today-Nw: the UTC day of
// Options.Now, or N days or weeks before it.
func (p *parser) relativeDay(s string) (endpoint, bool) {
	rest, ok := strings.CutPrefix(s, "@today")
	days := 0
	if ok && rest != "" {
		days, ok = daysBack(rest)
	}
	if !ok {
		return endpoint{}, false
	}
	loc := p.opts.location()
	y, m, d := p.opts.now().In(loc).Date()
	return endpoint{t: time.Date(y, m, d-days, 0, 0, 0, 0, loc), day: true}, true
}

// daysBack parses -Nd or -Nw, N of one to six digits, into days.
func daysBack(s string) (int, bool) {
	num, ok := strings.CutPrefix(s, "-")
	if !ok || len(num) < 2 || len(num) > 7 || !allBytes(num[:len(num)-1], isDigit) {
		return 0, false
	}
	n, err := strconv.Atoi(num[:len(num)-1])
	switch num[len(num)-1] {
	case 'd':
		return n, err == nil
	case 'w':
		return 7 * n, err == nil
	}
	return 0, false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
