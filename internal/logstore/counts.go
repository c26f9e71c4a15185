// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The counts of sealed events per UTC day and category are kept in the
// catalog's counts table, one row per org and span of 256 days (span =
// day >> 8), not one row per day and category: most rows of the daily
// table they replace (format version 1) held a count of 1 or 2 of a small
// org, at ~22 bytes a row with the category's name in each (1.9 bytes
// per event on the bench's 1M-event store). A row's data:
//
//	version (1 byte, countsVersion)
//	categories: a count (uvarint), then each (uvarint length + bytes), sorted
//	entries: a count (uvarint), then each: the day − 256·span (1 byte),
//	the category's index (uvarint), the count (uvarint); sorted by day
//	then category, counts > 0
//
// A seal adds its events' counts to the rows in its transaction (read,
// changed, written back); a prune takes its blocks' counts out.
const countsVersion = 1

// spanDays is how many days one counts row covers.
const spanDays = 256

var countsSchema = `CREATE TABLE IF NOT EXISTS counts (
		org  INTEGER NOT NULL,
		span INTEGER NOT NULL,
		data BLOB NOT NULL,
		PRIMARY KEY (org, span)
	) WITHOUT ROWID`

func spanOf(day int64) int64 { return day >> 8 }

// encodeCounts is a counts row of span holding the entries of m in it
// (those with a count > 0); nil if there are none.
func encodeCounts(span int64, m map[dayCat]int64) []byte {
	var keys []dayCat
	cats := map[string]int{}
	for k, n := range m {
		if n > 0 && spanOf(k.day) == span {
			keys = append(keys, k)
			cats[k.category] = 0
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b dayCat) int {
		return cmp.Or(cmp.Compare(a.day, b.day), strings.Compare(a.category, b.category))
	})
	names := make([]string, 0, len(cats))
	for c := range cats {
		names = append(names, c)
	}
	slices.Sort(names)
	out := []byte{countsVersion}
	out = binary.AppendUvarint(out, uint64(len(names)))
	for i, c := range names {
		cats[c] = i
		out = appendBytes(out, []byte(c))
	}
	out = binary.AppendUvarint(out, uint64(len(keys)))
	for _, k := range keys {
		out = append(out, byte(k.day-span*spanDays))
		out = binary.AppendUvarint(out, uint64(cats[k.category]))
		out = binary.AppendUvarint(out, uint64(m[k]))
	}
	return out
}

// decodeCounts adds the counts of a row of span to m.
func decodeCounts(span int64, data []byte, m map[dayCat]int64) error {
	if len(data) == 0 || data[0] != countsVersion {
		return fmt.Errorf("daily counts of another version")
	}
	r := reader{b: data[1:]}
	names := make([]string, r.count(1))
	for i := range names {
		names[i] = string(r.bytes())
	}
	n := r.count(3)
	for i := 0; i < n && r.err == nil; i++ {
		day := r.byte()
		c, v := r.int(), r.int()
		if r.err == nil && (c < 0 || c >= int64(len(names)) || v <= 0) {
			r.err = fmt.Errorf("daily count entry %d out of range", i)
		}
		if r.err == nil {
			m[dayCat{span*spanDays + int64(day), names[c]}] += v
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes past the daily counts", len(r.b))
	}
	return r.err
}

// addCounts adds delta (negative to take counts out) to org's counts
// rows in tx: each row delta touches is read, changed and written back
// (deleted when no count is left in it).
func addCounts(ctx context.Context, tx writer, org int64, delta map[dayCat]int64) error {
	spans := map[int64]map[dayCat]int64{}
	for k, n := range delta {
		s := spanOf(k.day)
		if spans[s] == nil {
			spans[s] = map[dayCat]int64{}
		}
		spans[s][k] += n
	}
	for span, d := range spans {
		var data []byte
		err := tx.QueryRowContext(ctx, `SELECT data FROM counts WHERE org = ? AND span = ?`, org, span).Scan(&data)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		m := map[dayCat]int64{}
		if data != nil {
			if err := decodeCounts(span, data, m); err != nil {
				return fmt.Errorf("the daily counts of org %d, days from %d: %w", org, span*spanDays, err)
			}
		}
		for k, n := range d {
			m[k] += n
		}
		if data = encodeCounts(span, m); data == nil {
			_, err = tx.ExecContext(ctx, `DELETE FROM counts WHERE org = ? AND span = ?`, org, span)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO counts (org, span, data) VALUES (?, ?, ?)`, org, span, data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// convertDaily moves the rows of the daily table (catalog format 1) into
// counts rows, in tx.
func convertDaily(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT org, day, category, n FROM daily`)
	if err != nil {
		return err
	}
	orgs := map[int64]map[dayCat]int64{}
	for rows.Next() {
		var org, n int64
		var k dayCat
		if err := rows.Scan(&org, &k.day, &k.category, &n); err != nil {
			rows.Close()
			return err
		}
		if orgs[org] == nil {
			orgs[org] = map[dayCat]int64{}
		}
		orgs[org][k] += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for org, m := range orgs {
		if err := addCounts(ctx, tx, org, m); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM daily`)
	return err
}
