// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/trailaudit/trail/internal/audit"
)

type writeStmts struct {
	findID *sql.Stmt
}

func (s *Store) prepare() error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.w.Prepare(q)
		return st
	}
	s.stmts = writeStmts{
		findID: prep(`SELECT k, hash FROM events WHERE org = ? AND id = ?`),
	}
	if err != nil {
		return fmt.Errorf("sqlite: preparing statements: %w", err)
	}
	return nil
}

func (w *writeStmts) close() {
	if w.findID != nil {
		w.findID.Close()
	}
}

// appendTx is the state of one group commit.
type appendTx struct {
	s     *Store
	tx    *sql.Tx
	ctx   context.Context
	ins   writeStmts
	orgs  map[string]*orgState
	daily map[dayKey]int64
}

type orgState struct {
	num  int64
	size int64
	tree treeState // the org's Merkle tree edge (tree.go)
}

type dayKey struct {
	org      int64
	day      int64
	category string
}

// Append implements audit.EventStore.
func (s *Store) Append(ctx context.Context, batches []*audit.Batch) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return storeErr("beginning append", err)
	}
	defer tx.Rollback()
	a := &appendTx{s: s, tx: tx, ctx: ctx, orgs: map[string]*orgState{}, daily: map[dayKey]int64{}}
	a.ins = writeStmts{findID: tx.StmtContext(ctx, s.stmts.findID)}
	for _, b := range batches {
		if err := a.batch(b); err != nil {
			return err
		}
	}
	if err := a.finish(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return storeErr("committing", err)
	}
	for org, st := range a.orgs {
		s.remember(org, st.num)
	}
	a.keepTrees()
	return nil
}

// batch appends one batch inside a savepoint. A failure of the batch's
// own (a conflicting id) is recorded in b.Err; a returned error fails the
// whole transaction.
func (a *appendTx) batch(b *audit.Batch) error {
	st, err := a.org(b.Org)
	if err != nil {
		return err
	}
	if err := a.exec("SAVEPOINT batch"); err != nil {
		return err
	}
	daily := map[dayKey]int64{}
	results, size, err := a.insertAll(st, b.Events, nil, daily)
	if isUniqueViolation(err) {
		// Some ids exist already: start again, resolving them first.
		if err = a.exec("ROLLBACK TO batch"); err == nil {
			var known map[int]int64
			if known, err = a.resolve(st.num, b); err == nil && b.Err == nil {
				clear(daily)
				results, size, err = a.insertAll(st, b.Events, known, daily)
			}
		}
	}
	if err == nil && b.Err == nil {
		if err := a.exec("RELEASE batch"); err != nil {
			return err
		}
		b.Results, st.size = results, size
		for k, n := range daily {
			a.daily[k] += n
		}
		return nil
	}
	if rerr := a.exec("ROLLBACK TO batch"); rerr != nil {
		return rerr
	}
	if rerr := a.exec("RELEASE batch"); rerr != nil {
		return rerr
	}
	if err != nil && b.Err == nil {
		b.Err = storeErr("appending batch", err)
	}
	return nil
}

func (a *appendTx) exec(stmt string) error {
	if _, err := a.tx.ExecContext(a.ctx, stmt); err != nil {
		return storeErr(stmt, err)
	}
	return nil
}

// org returns the state of org in this transaction, creating the org.
func (a *appendTx) org(name string) (*orgState, error) {
	if st, ok := a.orgs[name]; ok {
		return st, nil
	}
	st := &orgState{}
	_, err := a.tx.ExecContext(a.ctx, `INSERT INTO orgs (name) VALUES (?) ON CONFLICT (name) DO NOTHING`, name)
	if err == nil {
		err = a.tx.QueryRowContext(a.ctx, `SELECT num, size FROM orgs WHERE name = ?`, name).Scan(&st.num, &st.size)
	}
	if err != nil {
		return nil, storeErr("reading org", err)
	}
	a.orgs[name] = st
	return st, nil
}

// resolve looks up the batch's ids already stored: known maps an event's
// index to its original seq. A stored id with other content fails the
// batch with a conflict.
func (a *appendTx) resolve(num int64, b *audit.Batch) (map[int]int64, error) {
	known := map[int]int64{}
	var conflicts []audit.Detail
	for i, p := range b.Events {
		var k int64
		var hash []byte
		err := a.ins.findID.QueryRowContext(a.ctx, num, p.Event.ID).Scan(&k, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !sameHash(hash, p.Hash) {
			conflicts = append(conflicts, audit.Detail{Index: i, Field: "id", Expected: "the same content as the stored event with this id, or a new id"})
			continue
		}
		known[i] = k & (1<<seqBits - 1)
	}
	if len(conflicts) > 0 {
		b.Err = &audit.Error{Code: audit.CodeConflict, Message: conflictMessage(conflicts), Details: conflicts}
	}
	return known, nil
}

func conflictMessage(d []audit.Detail) string {
	return "event " + strconv.Itoa(d[0].Index) + " reuses an id already stored with different content; nothing was stored"
}

// sameHash compares a stored hash with h; a zero hash is stored as NULL.
func sameHash(stored []byte, h [sha256.Size]byte) bool {
	if stored == nil {
		return h == [sha256.Size]byte{}
	}
	return len(stored) == sha256.Size && [sha256.Size]byte(stored) == h
}

// insertAll stores the events not in known, with consecutive seqs after
// st.size; it returns each event's ack and the org's new size.
func (a *appendTx) insertAll(st *orgState, events []*audit.Pending, known map[int]int64, daily map[dayKey]int64) ([]audit.Ack, int64, error) {
	acks := make([]audit.Ack, len(events))
	size := st.size
	rows := newRows()
	for i, p := range events {
		if seq, ok := known[i]; ok {
			acks[i] = audit.Ack{ID: p.Event.ID, Seq: seq}
			continue
		}
		rows.add(st.num, size, p)
		acks[i] = audit.Ack{ID: p.Event.ID, Seq: size}
		ev := &p.Event
		daily[dayKey{st.num, dayOf(ev.OccurredAt.UnixMicro()), ev.Category}]++
		size++
	}
	if err := a.s.bulk.flush(a.ctx, a.tx, rows); err != nil {
		return nil, 0, err
	}
	if err := a.growTree(st, rows); err != nil {
		return nil, 0, err
	}
	return acks, size, nil
}

const microsPerDay = 86400 * 1000000

// DayOf is the UTC day (days since 1970-01-01) of a time in Unix
// microseconds, the key of the per-day counts.
func DayOf(micros int64) int64 { return dayOf(micros) }

func dayOf(micros int64) int64 {
	d := micros / microsPerDay
	if micros < 0 && micros%microsPerDay != 0 {
		d--
	}
	return d
}

// finish writes the orgs' new sizes and the per-day counts.
func (a *appendTx) finish() error {
	for _, st := range a.orgs {
		if _, err := a.tx.ExecContext(a.ctx, `UPDATE orgs SET size = ? WHERE num = ?`, st.size, st.num); err != nil {
			return storeErr("updating org size", err)
		}
	}
	for k, n := range a.daily {
		if _, err := a.tx.ExecContext(a.ctx, `INSERT INTO daily (org, day, category, n) VALUES (?, ?, ?, ?)
			ON CONFLICT (org, day, category) DO UPDATE SET n = n + excluded.n`, k.org, k.day, k.category, n); err != nil {
			return storeErr("updating daily counts", err)
		}
	}
	return nil
}
