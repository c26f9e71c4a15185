// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// Query implements audit.EventStore.
func (s *Store) Query(ctx context.Context, org string, q audit.Query) (audit.Page, error) {
	return audit.CollectPage(ctx, s.each, org, q)
}

// each runs q (which asks for q.Limit+1 rows) and calls fn for every row
// with the stored bytes, valid only during the call. It returns the number
// of rows read.
func (s *Store) each(ctx context.Context, org string, q audit.Query, fn func(seq int64, data []byte) error) (int, error) {
	num, ok, err := s.orgNum(ctx, org)
	if err != nil || !ok {
		return 0, err
	}
	sqlText, args := buildQuery(num, q)
	rows, err := s.r.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return 0, storeErr("querying events", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k int64
		var data sql.RawBytes
		if err := rows.Scan(&k, &data); err != nil {
			return n, storeErr("reading events", err)
		}
		n++
		if err := fn(k&(1<<seqBits-1), data); err != nil {
			if err == audit.ErrStop {
				return n, nil
			}
			return n, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, storeErr("reading events", err)
	}
	return n, nil
}

// Scan implements audit.EventStore in chunks of audit.ScanChunk events,
// each its own short read.
func (s *Store) Scan(ctx context.Context, org string, from, to int64, f audit.Filter, fn func(int64, []byte) error) error {
	return audit.ScanChunks(ctx, s.each, org, from, to, f, fn)
}

// Size implements audit.EventStore.
func (s *Store) Size(ctx context.Context, org string) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT size FROM orgs WHERE name = ?`, org).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, storeErr("reading size", err)
	}
	return n, nil
}

// Event implements audit.EventStore.
func (s *Store) Event(ctx context.Context, org, id string) (int64, []byte, error) {
	num, ok, err := s.orgNum(ctx, org)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, audit.ErrNotFound
	}
	var k int64
	var data []byte
	err = s.r.QueryRowContext(ctx, `SELECT k, data FROM events WHERE org = ? AND id = ?`, num, id).Scan(&k, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, audit.ErrNotFound
	}
	if err != nil {
		return 0, nil, storeErr("reading event", err)
	}
	return k & (1<<seqBits - 1), data, nil
}

// DailyCounts implements audit.EventStore.
func (s *Store) DailyCounts(ctx context.Context, org string, from, to time.Time) ([]audit.DayCount, error) {
	num, ok, err := s.orgNum(ctx, org)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT day, category, n FROM daily WHERE org = ? AND day >= ? AND day < ? ORDER BY day, category`,
		num, dayOf(from.UnixMicro()), dayOf(to.Add(-time.Microsecond).UnixMicro())+1)
	if err != nil {
		return nil, storeErr("reading daily counts", err)
	}
	defer rows.Close()
	var out []audit.DayCount
	for rows.Next() {
		var d audit.DayCount
		var day int64
		if err := rows.Scan(&day, &d.Category, &d.Count); err != nil {
			return nil, storeErr("reading daily counts", err)
		}
		d.Day = time.UnixMicro(day * microsPerDay).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// Orgs implements audit.EventStore.
func (s *Store) Orgs(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM orgs WHERE size > 0 ORDER BY name`)
	if err != nil {
		return nil, storeErr("listing orgs", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, storeErr("listing orgs", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// buildQuery turns a query into SQL over events e. It picks the access
// path: full text drives from the FTS index, an actor or target from
// refs, anything else from events and its indexes, always in key order
// so the first page never sorts the whole match.
func buildQuery(num int64, q audit.Query) (string, []any) {
	// Bounds are clamped to the seq range first: a seq bound past 2^40
	// would otherwise spill into the org bits of the key.
	const maxSeq = 1<<seqBits - 1
	lo, hi := num<<seqBits, num<<seqBits|maxSeq
	if q.After >= 0 {
		lo = max(lo, num<<seqBits+min(q.After, maxSeq)+1)
	}
	if q.Before >= 0 {
		hi = min(hi, num<<seqBits+min(q.Before, maxSeq+1)-1)
	}
	b := &qb{num: num, lo: lo, hi: hi}
	var from, key string
	match, exclude := ftsMatch(q.Filter.Terms)
	if match != "" {
		from, key = "events_fts f CROSS JOIN events e ON e.k = f.rowid", "f.rowid"
		b.where("events_fts MATCH ?", match)
	} else if i := refDriver(q.Filter.Terms); i >= 0 {
		t := q.Filter.Terms[i]
		from, key = "refs r CROSS JOIN events e ON e.k = r.k", "r.k"
		b.where("r.org = ? AND r.kind = ? AND r.value = ?", num, refKind(t.Field), t.Value)
	} else {
		from, key = "events e", "e.k"
	}
	b.keyRange(key, lo, hi, q.Filter.Terms)
	// The org column lets the (org, type|category|country|occurred, k)
	// indexes serve a filter in k order; without it only the key range
	// applies and a rare type means scanning the whole org.
	b.where("e.org = ?", num)
	if exclude != "" {
		b.where("e.k NOT IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ? AND rowid BETWEEN ? AND ?)", exclude, lo, hi)
	}
	for _, t := range q.Filter.Terms {
		b.term(t)
	}
	order := " DESC"
	if q.Order == audit.Asc {
		order = " ASC"
	}
	sqlText := "SELECT e.k, e.data FROM " + from + " WHERE " + strings.Join(b.conds, " AND ") +
		" ORDER BY " + key + order + " LIMIT " + strconv.Itoa(q.Limit+1)
	return sqlText, b.args
}

// keyRange bounds the key to [lo, hi]. A positive occurred_at range also
// bounds it to the keys of the events in that range, found through the
// (org, occurred, k) index, so a range in the past does not scan
// every newer event; an empty range gives an empty key range at once.
func (b *qb) keyRange(key string, lo, hi int64, terms []audit.Term) {
	for _, t := range terms {
		col := "occurred" // received has no index of its own: it stays a filter
		if t.Field != audit.FieldOccurred || t.Negate || (t.From.IsZero() && t.To.IsZero()) {
			continue
		}
		var conds []string
		var args []any
		if !t.From.IsZero() {
			conds, args = append(conds, col+" >= ?"), append(args, t.From.UnixMicro())
		}
		if !t.To.IsZero() {
			conds, args = append(conds, col+" < ?"), append(args, t.To.UnixMicro())
		}
		in := "FROM events WHERE org = ? AND " + strings.Join(conds, " AND ")
		b.where(key+" BETWEEN max(?, coalesce((SELECT min(k) "+in+"), ?)) AND min(?, coalesce((SELECT max(k) "+in+"), -1))",
			append(append(append([]any{lo, b.num}, args...), hi, hi, b.num), args...)...)
		return
	}
	b.where(key+" BETWEEN ? AND ?", lo, hi)
}

type qb struct {
	num   int64
	lo    int64 // the key range, [lo, hi]
	hi    int64
	conds []string
	args  []any
}

func (b *qb) where(cond string, args ...any) {
	b.conds = append(b.conds, cond)
	b.args = append(b.args, args...)
}

// term adds the condition of one term; text terms are handled by the FTS
// match unless negated alone (see ftsMatch).
func (b *qb) term(t audit.Term) {
	not := ""
	if t.Negate {
		not = "NOT "
	}
	switch t.Field {
	case audit.FieldType:
		b.where(not+"(e.type"+in(t)+")", values(t)...)
	case audit.FieldTypePrefix:
		var ors []string
		var args []any
		for _, v := range t.Values() {
			ors, args = append(ors, "e.type >= ? AND e.type < ?"), append(args, v, prefixEnd(v))
		}
		b.where(not+"("+strings.Join(ors, " OR ")+")", args...)
	case audit.FieldCategory:
		b.where(not+"(e.category"+in(t)+")", values(t)...)
	case audit.FieldCountry:
		b.where(not+"(e.country"+in(t)+")", values(t)...)
	case audit.FieldActor, audit.FieldTarget:
		if len(t.Or) > 0 && !t.Negate {
			// A list: the set of its matches' keys in the key range, which
			// SQLite reads in key order, so the first page neither scans
			// the org (as EXISTS would for rare values) nor sorts.
			b.where("e.k IN (SELECT x.k FROM refs x WHERE x.org = ? AND x.kind = ? AND x.value"+in(t)+" AND x.k BETWEEN ? AND ?)",
				append(append([]any{b.num, refKind(t.Field)}, values(t)...), b.lo, b.hi)...)
			return
		}
		b.where(not+"EXISTS (SELECT 1 FROM refs x WHERE x.org = ? AND x.kind = ? AND x.value"+in(t)+" AND x.k = e.k)",
			append([]any{b.num, refKind(t.Field)}, values(t)...)...)
	case audit.FieldOccurred:
		b.timeRange(not, "e.occurred", t)
	case audit.FieldReceived:
		b.timeRange(not, "e.received", t)
	}
}

// in is the comparison with the term's values: " = ?" for one value
// (the form the indexes serve best), " IN (?, ...)" for several.
func in(t audit.Term) string {
	if len(t.Or) == 0 {
		return " = ?"
	}
	return " IN (?" + strings.Repeat(", ?", len(t.Or)) + ")"
}

// values are the term's values as arguments, in the order of in's
// placeholders.
func values(t audit.Term) []any {
	vs := t.Values()
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	return args
}

func (b *qb) timeRange(not, col string, t audit.Term) {
	var parts []string
	var args []any
	if !t.From.IsZero() {
		parts = append(parts, col+" >= ?")
		args = append(args, t.From.UnixMicro())
	}
	if !t.To.IsZero() {
		parts = append(parts, col+" < ?")
		args = append(args, t.To.UnixMicro())
	}
	if len(parts) > 0 {
		b.where(not+"("+strings.Join(parts, " AND ")+")", args...)
	}
}

func refKind(f audit.Field) string {
	if f == audit.FieldActor {
		return refActor
	}
	return refTarget
}

// refDriver returns the index of the first positive actor or target term
// of one value. A list of values is a set of keys instead (see term):
// driving from refs would read each value's matches and sort them all.
func refDriver(terms []audit.Term) int {
	for i, t := range terms {
		if !t.Negate && len(t.Or) == 0 && (t.Field == audit.FieldActor || t.Field == audit.FieldTarget) {
			return i
		}
	}
	return -1
}

// prefixEnd returns the smallest string greater than every string with
// prefix p.
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\U0010FFFF"
}

// ftsMatch builds FTS5 expressions from the text terms: match ANDs the
// positive terms and subtracts the negated ones with NOT; when no term is
// positive, match is "" and exclude ORs the negated terms, for a NOT IN.
func ftsMatch(terms []audit.Term) (match, exclude string) {
	var pos, neg []string
	for _, t := range terms {
		if t.Field != audit.FieldText {
			continue
		}
		if t.Negate {
			neg = append(neg, ftsTerm(t))
		} else {
			pos = append(pos, ftsTerm(t))
		}
	}
	if len(pos) == 0 {
		return "", strings.Join(neg, " OR ")
	}
	match = "(" + strings.Join(pos, " AND ") + ")"
	for _, n := range neg {
		match += " NOT " + n
	}
	return match, ""
}

// ftsTerm quotes a word (as a prefix query) or a phrase for FTS5. A value
// with no word in it (blank or punctuation only) becomes an empty phrase,
// which matches no event, so the term and its negation still split the log.
func ftsTerm(t audit.Term) string {
	quoted := `"` + strings.ReplaceAll(t.Value, `"`, `""`) + `"`
	if t.Phrase {
		return quoted
	}
	return quoted + "*"
}
