// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trailaudit/trail/internal/audit"
)

// Query implements audit.EventStore.
func (s *Store) Query(ctx context.Context, org string, q audit.Query) (audit.Page, error) {
	return audit.CollectPage(ctx, s.each, org, q)
}

// each runs q (asking for q.Limit+1 rows) and calls fn for every row with
// the stored bytes, valid only during the call; it returns the rows read.
func (s *Store) each(ctx context.Context, org string, q audit.Query, fn func(seq int64, data []byte) error) (int, error) {
	num, ok, err := s.orgNum(ctx, org)
	if err != nil || !ok {
		return 0, err
	}
	if refDriver(q.Filter.Terms) < 0 {
		switch {
		case positiveText(num, q.Filter.Terms) != "":
			return s.eachTwoStep(ctx, num, q, planGIN, fn)
		case positiveRange(q.Filter.Terms):
			return s.eachTwoStep(ctx, num, q, planRange, fn)
		}
	}
	sqlText, args := buildQuery(num, q)
	rows, err := s.pool.Query(ctx, sqlText, args...)
	if err != nil {
		return 0, storeErr("querying events", err)
	}
	return readRows(rows, fn)
}

// textWindow is how many of the newest (or, ascending, oldest) events of
// the range a text or time-range query tests in seq order before it turns
// to the selective index.
const textWindow = 5000

// eachTwoStep runs a query with free text (second planGIN) or a time range
// (planRange). Two plans answer it, each fast where the other is slow:
// walking the seq index in order and testing each event finds a page of a
// common word (or of a range that holds the newest events) at once but
// reads the whole log for a rare one; fetching every match from the GIN
// (or occurred) index and sorting them is instant for few matches but
// sorts millions for many. The planner cannot tell which well enough
// (prefix words and ranges correlated with seq least of all), so: first
// the window of the textWindow events at the page's end of the range, in
// seq order (seqs are dense, so the window is a seq range); if that fills
// the page, done; if not, the rest of the range from the selective index,
// sorted.
func (s *Store) eachTwoStep(ctx context.Context, num int64, q audit.Query, second int, fn func(int64, []byte) error) (int, error) {
	lo, hi := seqRange(q)
	var size int64
	if err := s.pool.QueryRow(ctx, `SELECT size FROM orgs WHERE num = $1`, num).Scan(&size); err != nil {
		return 0, storeErr("querying events", err)
	}
	hi = min(hi, size-1)
	if lo > hi {
		return 0, nil
	}
	w, rest := q, q
	wlo, whi := lo, hi
	if q.Order == audit.Asc {
		whi = min(hi, lo+textWindow-1)
		rest.After = whi
	} else {
		wlo = max(lo, hi-textWindow+1)
		rest.Before = wlo
	}
	w.After, w.Before = wlo-1, whi+1
	sqlText, args := buildQueryText(num, w, planWindow)
	rows, err := s.pool.Query(ctx, sqlText, args...)
	if err != nil {
		return 0, storeErr("querying events", err)
	}
	n, err := readRows(rows, fn)
	if err != nil || n > q.Limit || wlo == lo && whi == hi {
		return n, err
	}
	rest.Limit = q.Limit - n
	sqlText, args = buildQueryText(num, rest, second)
	if second == planRange {
		rows, err := s.pool.Query(ctx, sqlText, args...)
		if err != nil {
			return n, storeErr("querying events", err)
		}
		m, err := readRows(rows, fn)
		return n + m, err
	}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		for _, set := range []string{"SET LOCAL enable_indexscan = off", "SET LOCAL enable_seqscan = off"} {
			if _, err := tx.Exec(ctx, set); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, sqlText, args...)
		if err != nil {
			return err
		}
		m, err := readRows(rows, fn)
		n += m
		return err
	})
	if err != nil {
		return n, storeErr("querying events", err)
	}
	return n, nil
}

// readRows calls fn for each (seq, data) row and closes rows.
func readRows(rows pgx.Rows, fn func(seq int64, data []byte) error) (int, error) {
	defer rows.Close()
	n := 0
	for rows.Next() {
		raw := rows.RawValues()
		seq, err := decodeInt8(raw[0])
		if err != nil {
			return n, internalErr("reading a seq: %v", err)
		}
		n++
		if err := fn(seq, raw[1]); err != nil {
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

// decodeInt8 reads a bigint in binary format.
func decodeInt8(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, errors.New("not an int8")
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return int64(v), nil
}

// Scan implements audit.EventStore in chunks of audit.ScanChunk events,
// each its own short read.
func (s *Store) Scan(ctx context.Context, org string, from, to int64, f audit.Filter, fn func(int64, []byte) error) error {
	return audit.ScanChunks(ctx, s.each, org, from, to, f, fn)
}

// Size implements audit.EventStore.
func (s *Store) Size(ctx context.Context, org string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT size FROM orgs WHERE name = $1`, org).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
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
	var seq int64
	var data []byte
	err = s.pool.QueryRow(ctx, `SELECT i.seq, e.data FROM ids i JOIN events e ON e.org = i.org AND e.seq = i.seq
		WHERE i.org = $1 AND i.id = $2`, num, id).Scan(&seq, &data)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, audit.ErrNotFound
	}
	if err != nil {
		return 0, nil, storeErr("reading event", err)
	}
	return seq, data, nil
}

// DailyCounts implements audit.EventStore.
func (s *Store) DailyCounts(ctx context.Context, org string, from, to time.Time) ([]audit.DayCount, error) {
	num, ok, err := s.orgNum(ctx, org)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT day, category, n FROM daily WHERE org = $1 AND day >= $2 AND day < $3 ORDER BY day, category`,
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
	if err := rows.Err(); err != nil {
		return nil, storeErr("reading daily counts", err)
	}
	return out, nil
}

// Orgs implements audit.EventStore.
func (s *Store) Orgs(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name FROM orgs WHERE size > 0 ORDER BY name`)
	if err != nil {
		return nil, storeErr("listing orgs", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, storeErr("listing orgs", err)
	}
	return names, nil
}

// buildQuery turns a query into SQL. A positive actor or target term
// drives from refs (its (org, kind, value, seq) index gives the matches in
// seq order); anything else reads events, where the planner picks among
// (org, seq), (org, type|category|country|occurred, seq) and the
// (org, tsv) GIN index. Every plan can return the first page in seq order
// without sorting the whole match.
func buildQuery(num int64, q audit.Query) (string, []any) {
	return buildQueryText(num, q, planAny)
}

// Plans a query may be confined to (see eachTwoStep).
const (
	planAny    = iota // the planner chooses
	planWindow        // the seq index in order; text is a filter, never a GIN lookup
	planGIN           // the GIN index only; no other index serves org and seq
	planRange         // sorted by seq, never read in seq order: the range's index serves
)

// seqRange is the seq range of q: lo <= seq <= hi.
func seqRange(q audit.Query) (lo, hi int64) {
	lo, hi = 0, 1<<62
	if q.After >= 0 {
		lo = max(lo, q.After+1)
	}
	if q.Before >= 0 {
		hi = min(hi, q.Before-1)
	}
	return lo, hi
}

// buildQueryText is buildQuery confined to a plan (see eachTwoStep).
func buildQueryText(num int64, q audit.Query, plan int) (string, []any) {
	lo, hi := seqRange(q)
	b := &qb{textFilter: plan == planWindow}
	numArg := b.arg(num)
	var from, key string
	driver := refDriver(q.Filter.Terms)
	if i := driver; i >= 0 {
		t := q.Filter.Terms[i]
		from = "refs r JOIN events e ON e.org = r.org AND e.seq = r.seq"
		key = "r.seq"
		b.conds = append(b.conds, "r.org = "+numArg+" AND r.kind = "+b.arg(refKind(t.Field))+` AND r.value = `+b.arg(t.Value))
	} else {
		from, key = "events e", "e.seq"
	}
	if plan == planGIN {
		b.conds = append(b.conds, "e.org + 0 = "+numArg, key+" + 0 BETWEEN "+b.arg(lo)+" AND "+b.arg(hi))
	} else {
		b.conds = append(b.conds, "e.org = "+numArg, key+" BETWEEN "+b.arg(lo)+" AND "+b.arg(hi))
	}
	b.text(num, q.Filter.Terms)
	for i, t := range q.Filter.Terms {
		if i != driver {
			b.term(numArg, t)
		}
	}
	order := " DESC"
	if q.Order == audit.Asc {
		order = " ASC"
	}
	if plan == planRange {
		key += " + 0"
	}
	return "SELECT e.seq, e.data FROM " + from + " WHERE " + strings.Join(b.conds, " AND ") +
		" ORDER BY " + key + order + " LIMIT " + strconv.Itoa(q.Limit+1), b.args
}

type qb struct {
	conds      []string
	args       []any
	textFilter bool // positive text only as a filter: no GIN lookup
}

// arg adds a parameter and returns its placeholder.
func (b *qb) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

func (b *qb) term(num string, t audit.Term) {
	not := ""
	if t.Negate {
		not = "NOT "
	}
	switch t.Field {
	case audit.FieldType:
		b.conds = append(b.conds, not+"(e.type"+b.in(t)+")")
	case audit.FieldTypePrefix:
		var ors []string
		for _, v := range t.Values() {
			ors = append(ors, "e.type LIKE "+b.arg(likePrefix(v)))
		}
		b.conds = append(b.conds, not+"("+strings.Join(ors, " OR ")+")")
	case audit.FieldCategory:
		b.conds = append(b.conds, not+"(e.category"+b.in(t)+")")
	case audit.FieldCountry:
		b.conds = append(b.conds, not+"(e.country"+b.in(t)+")")
	case audit.FieldActor, audit.FieldTarget:
		b.conds = append(b.conds, not+"EXISTS (SELECT 1 FROM refs x WHERE x.org = "+num+" AND x.kind = "+
			b.arg(refKind(t.Field))+` AND x.value`+b.in(t)+" AND x.seq = e.seq AND x.received = e.received)")
	case audit.FieldOccurred:
		b.timeRange(not, "e.occurred", t)
	case audit.FieldReceived:
		b.timeRange(not, "e.received", t)
	}
}

// in adds the term's values as parameters and returns the comparison with
// them: " = $n" for one value (the form the indexes serve best),
// " IN ($n, ...)" for several.
func (b *qb) in(t audit.Term) string {
	if len(t.Or) == 0 {
		return " = " + b.arg(t.Value)
	}
	ph := make([]string, 0, len(t.Or)+1)
	for _, v := range t.Values() {
		ph = append(ph, b.arg(v))
	}
	return " IN (" + strings.Join(ph, ", ") + ")"
}

func (b *qb) timeRange(not, col string, t audit.Term) {
	var parts []string
	if !t.From.IsZero() {
		parts = append(parts, col+" >= "+b.arg(t.From.UnixMicro()))
	}
	if !t.To.IsZero() {
		parts = append(parts, col+" < "+b.arg(t.To.UnixMicro()))
	}
	if len(parts) > 0 {
		b.conds = append(b.conds, not+"("+strings.Join(parts, " AND ")+")")
	}
}

// text adds the free-text terms: the positive ones as one tsquery (one
// GIN lookup), each negated one as NOT @@. A term with no word in it
// matches no event, so it and its negation still split the log.
func (b *qb) text(num int64, terms []audit.Term) {
	for _, t := range terms {
		if t.Field != audit.FieldText {
			continue
		}
		tq := tsQuery(num, t)
		switch {
		case tq == "" && t.Negate:
		case tq == "":
			b.conds = append(b.conds, "false")
		case t.Negate:
			b.conds = append(b.conds, "NOT (e.tsv @@ "+b.arg(tq)+"::tsquery)")
		}
	}
	if tq := positiveText(num, terms); tq != "" && b.textFilter {
		b.conds = append(b.conds, "(e.tsv @@ "+b.arg(tq)+"::tsquery) IS TRUE")
	} else if tq != "" {
		b.conds = append(b.conds, "e.tsv @@ "+b.arg(tq)+"::tsquery")
	}
}

// likePrefix is a LIKE pattern matching strings that start with p.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(p) + "%"
}

func refKind(f audit.Field) byte {
	if f == audit.FieldActor {
		return refActor
	}
	return refTarget
}

// positiveRange reports whether terms hold a positive occurred or received
// range.
func positiveRange(terms []audit.Term) bool {
	for _, t := range terms {
		if !t.Negate && (t.Field == audit.FieldOccurred || t.Field == audit.FieldReceived) && (!t.From.IsZero() || !t.To.IsZero()) {
			return true
		}
	}
	return false
}

// refDriver returns the index of the first positive actor or target term
// of one value. A list of values is a filter instead: driving from refs
// would read each value's matches and sort them all for the first page.
func refDriver(terms []audit.Term) int {
	for i, t := range terms {
		if !t.Negate && len(t.Or) == 0 && (t.Field == audit.FieldActor || t.Field == audit.FieldTarget) {
			return i
		}
	}
	return -1
}
