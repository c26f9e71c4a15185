// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"strings"

	"github.com/trailaudit/trail/internal/audit"
)

// rows collects the rows one batch adds to events, refs and events_fts,
// so they go in as multi-row INSERTs: per-statement overhead, not SQLite's
// b-tree work, dominates single-row inserts.
type rows struct {
	events, refs, text []any
	leaves             [][]byte // each event's stored bytes, for the Merkle tree (tree.go)
}

func newRows() *rows { return &rows{} }

// add encodes the event at seq and queues its rows.
func (r *rows) add(num, seq int64, p *audit.Pending) {
	k := num<<seqBits | seq
	data := p.Encode(seq)
	ev := &p.Event
	country := ""
	if ev.Location != nil {
		country = ev.Location.CountryCode
	}
	var hash any
	if p.Hash != ([sha256.Size]byte{}) {
		hash = p.Hash[:]
	}
	r.events = append(r.events, k, num, ev.ID, ev.Type, ev.Category, country,
		ev.OccurredAt.UnixMicro(), ev.ReceivedAt.UnixMicro(), hash, data)
	r.leaves = append(r.leaves, data)
	r.ref(num, k, refActor, ev.Actor.ID, ev.Actor.Name)
	for _, t := range ev.Targets {
		r.ref(num, k, refTarget, t.ID, t.Name)
	}
	r.text = append(r.text, k, ev.SearchText())
}

// ref queues the id and, when different, the name of an actor or target.
func (r *rows) ref(num, k int64, kind, id, name string) {
	if id != "" {
		r.refs = append(r.refs, num, kind, id, k)
	}
	if name != "" && name != id {
		r.refs = append(r.refs, num, kind, name, k)
	}
}

// table is one multi-row INSERT: its text before VALUES, its column count.
type table struct {
	insert string
	cols   int
}

var (
	eventsTable = table{`INSERT INTO events (k, org, id, type, category, country, occurred, received, hash, data) VALUES `, 10}
	refsTable   = table{`INSERT OR IGNORE INTO refs (org, kind, value, k) VALUES `, 4}
	textTable   = table{`INSERT INTO events_fts (rowid, text) VALUES `, 2}
)

// maxRows is the most rows one INSERT statement carries.
const maxRows = 100

// bulkStmts holds the full-size multi-row INSERTs, prepared at Open. A
// batch's remainder is prepared inside its transaction: the write pool has
// one connection, which the transaction holds.
type bulkStmts map[*table]*sql.Stmt

func prepareBulk(db *sql.DB) (bulkStmts, error) {
	b := bulkStmts{}
	for _, t := range []*table{&eventsTable, &refsTable, &textTable, &treeTable} {
		st, err := db.Prepare(t.sql(maxRows))
		if err != nil {
			b.close()
			return nil, err
		}
		b[t] = st
	}
	return b, nil
}

func (t *table) sql(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", t.cols), ",") + ")"
	return t.insert + strings.TrimSuffix(strings.Repeat(row+",", n), ",")
}

// flush inserts the queued rows inside tx.
func (b bulkStmts) flush(ctx context.Context, tx *sql.Tx, r *rows) error {
	for _, part := range []struct {
		t    *table
		args []any
	}{{&eventsTable, r.events}, {&refsTable, r.refs}, {&textTable, r.text}} {
		if err := b.insert(ctx, tx, part.t, part.args); err != nil {
			return err
		}
	}
	return nil
}

func (b bulkStmts) insert(ctx context.Context, tx *sql.Tx, t *table, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/t.cols, maxRows)
		var err error
		if n == maxRows {
			_, err = tx.StmtContext(ctx, b[t]).ExecContext(ctx, args[:n*t.cols]...)
		} else {
			_, err = tx.ExecContext(ctx, t.sql(n), args[:n*t.cols]...)
		}
		if err != nil {
			return err
		}
		args = args[n*t.cols:]
	}
	return nil
}

func (b bulkStmts) close() {
	for _, st := range b {
		st.Close()
	}
}

// Kinds of refs rows.
const (
	refActor  = "a"
	refTarget = "t"
)
