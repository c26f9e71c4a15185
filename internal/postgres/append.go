// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// Append implements audit.EventStore in one transaction:
//
//  1. lock the orgs rows of every batch (FOR UPDATE, in name order) and
//     read their sizes: from here on no other writer, in this process or
//     another replica, appends to these orgs until the commit;
//  2. look up, per org, the ids of the batches that are stored already;
//  3. decide each batch in memory, in order: retries get their original
//     seq, a reused id with other content fails the batch alone (nothing
//     of it is written), the rest get consecutive seqs;
//  4. write every kept event, ref, id and tree hash with one binary COPY
//     per table, and the sizes and daily counts in one round trip;
//  5. commit (synchronous_commit on).
//
// Because the ids are resolved under the org locks before anything is
// written, a batch never needs a savepoint to be undone: a failed batch
// simply contributes no rows. A database error fails the transaction and
// so every batch, as the interface allows.
func (s *Store) Append(ctx context.Context, batches []*audit.Batch) error {
	if len(batches) == 0 {
		return nil
	}
	months := map[int64]bool{}
	var names []string
	for _, b := range batches {
		names = append(names, b.Org)
		for _, p := range b.Events {
			months[monthOf(p.Event.ReceivedAt.UnixMicro())] = true
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if err := s.ensurePartitions(ctx, months); err != nil {
		return err
	}
	if err := s.ensureOrgs(ctx, names); err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return storeErr("beginning append", err)
	}
	defer tx.Rollback(context.Background())
	a := &appendTx{s: s, tx: tx, ctx: ctx, orgs: map[string]*orgState{}, daily: map[dayKey]int64{}}
	if err := a.lockOrgs(names); err != nil {
		return err
	}
	if err := a.resolve(batches); err != nil {
		return err
	}
	for _, b := range batches {
		if err := a.batch(b); err != nil {
			return err
		}
	}
	if err := a.write(); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return storeErr("committing", err)
	}
	s.mu.Lock()
	for name, st := range a.orgs {
		s.orgs[name] = st.num
		if st.edge != nil {
			s.trees[st.num] = st.edge
		}
	}
	s.mu.Unlock()
	return nil
}

// appendTx is the state of one Append.
type appendTx struct {
	s     *Store
	tx    pgx.Tx
	ctx   context.Context
	orgs  map[string]*orgState
	daily map[dayKey]int64
	rows  rows
}

type orgState struct {
	num, size int64
	stored    map[string]storedID // ids of this Append's events already in the log
	edge      *ledger.Edge        // the tree at size, loaded when first needed
}

type storedID struct {
	seq  int64
	hash []byte
}

type dayKey struct {
	org, day int64
	category string
}

// ensureOrgs creates the orgs this process does not know yet, each in its
// own statement outside the append transaction, so that the only locks an
// Append takes on orgs are the ordered FOR UPDATE ones. An org row whose
// first append then fails stays with size 0, which reads as no events.
func (s *Store) ensureOrgs(ctx context.Context, names []string) error {
	var missing []string
	s.mu.Lock()
	for _, n := range names {
		if _, ok := s.orgs[n]; !ok {
			missing = append(missing, n)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO orgs (name) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT (name) DO NOTHING`, missing)
	if err != nil {
		return storeErr("creating orgs", err)
	}
	return nil
}

func (a *appendTx) lockOrgs(names []string) error {
	rows, err := a.tx.Query(a.ctx, `SELECT num, name, size FROM orgs WHERE name = ANY($1) ORDER BY name FOR UPDATE`, names)
	if err != nil {
		return storeErr("locking orgs", err)
	}
	defer rows.Close()
	for rows.Next() {
		st := &orgState{stored: map[string]storedID{}}
		var name string
		if err := rows.Scan(&st.num, &name, &st.size); err != nil {
			return storeErr("locking orgs", err)
		}
		a.orgs[name] = st
	}
	if err := rows.Err(); err != nil {
		return storeErr("locking orgs", err)
	}
	for _, n := range names {
		if a.orgs[n] == nil {
			return internalErr("org %q vanished", n)
		}
	}
	return nil
}

// resolve reads, per org in one pipelined round trip, which of the
// batches' ids are stored already.
func (a *appendTx) resolve(batches []*audit.Batch) error {
	ids := map[string][]string{}
	for _, b := range batches {
		for _, p := range b.Events {
			ids[b.Org] = append(ids[b.Org], p.Event.ID)
		}
	}
	var pb pgx.Batch
	var order []string
	for org, list := range ids {
		order = append(order, org)
		pb.Queue(`SELECT id, seq, hash FROM ids WHERE org = $1 AND id = ANY($2)`, a.orgs[org].num, list)
	}
	res := a.tx.SendBatch(a.ctx, &pb)
	defer res.Close()
	for _, org := range order {
		st := a.orgs[org]
		rows, err := res.Query()
		if err != nil {
			return storeErr("resolving ids", err)
		}
		for rows.Next() {
			var id string
			var sid storedID
			if err := rows.Scan(&id, &sid.seq, &sid.hash); err != nil {
				rows.Close()
				return storeErr("resolving ids", err)
			}
			st.stored[id] = sid
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return storeErr("resolving ids", err)
		}
	}
	return res.Close()
}

// batch decides one batch: retries, conflicts, new events with their
// seqs, queued for write.
func (a *appendTx) batch(b *audit.Batch) error {
	st := a.orgs[b.Org]
	acks := make([]audit.Ack, len(b.Events))
	var conflicts []audit.Detail
	var fresh []int
	inBatch := map[string]int{}
	for i, p := range b.Events {
		id := p.Event.ID
		if sid, ok := st.stored[id]; ok {
			if !sameHash(sid.hash, p.Hash) {
				conflicts = append(conflicts, audit.Detail{Index: i, Field: "id", Expected: "the same content as the stored event with this id, or a new id"})
			}
			acks[i] = audit.Ack{ID: id, Seq: sid.seq}
			continue
		}
		if j, dup := inBatch[id]; dup {
			conflicts = append(conflicts, audit.Detail{Index: i, Field: "id", Expected: "an id not used by another event of this batch (event " + strconv.Itoa(j) + " has it)"})
			continue
		}
		inBatch[id] = i
		fresh = append(fresh, i)
	}
	if len(conflicts) > 0 {
		b.Err = &audit.Error{Code: audit.CodeConflict, Message: conflictMessage(conflicts), Details: conflicts}
		return nil
	}
	if len(fresh) > 0 && st.edge == nil {
		e, err := a.loadEdge(st)
		if err != nil {
			return err
		}
		st.edge = e.Clone()
	}
	for _, i := range fresh {
		p := b.Events[i]
		seq := st.size
		data := p.Encode(seq)
		a.rows.add(st.num, seq, p, data)
		if err := a.rows.addLeaf(st.num, st.edge, data); err != nil {
			return internalErr("growing the tree of %q: %v", b.Org, err)
		}
		acks[i] = audit.Ack{ID: p.Event.ID, Seq: seq}
		st.stored[p.Event.ID] = storedID{seq, hashBytes(p.Hash)}
		a.daily[dayKey{st.num, dayOf(p.Event.OccurredAt.UnixMicro()), p.Event.Category}]++
		st.size++
	}
	b.Results = acks
	return nil
}

func conflictMessage(d []audit.Detail) string {
	return "event " + strconv.Itoa(d[0].Index) + " reuses an id already stored with different content; nothing was stored"
}

// hashBytes stores a zero hash as NULL, like the SQLite engine.
func hashBytes(h [sha256.Size]byte) []byte {
	if h == ([sha256.Size]byte{}) {
		return nil
	}
	return h[:]
}

func sameHash(stored []byte, h [sha256.Size]byte) bool {
	if stored == nil {
		return h == [sha256.Size]byte{}
	}
	return bytes.Equal(stored, h[:])
}

const microsPerDay = 86400 * 1000000

func dayOf(micros int64) int64 {
	d := micros / microsPerDay
	if micros < 0 && micros%microsPerDay != 0 {
		d--
	}
	return d
}

// write sends every row of the transaction: one binary COPY per table,
// then the sizes and daily counts in one pipelined round trip.
func (a *appendTx) write() error {
	if err := a.rows.copyAll(a.ctx, a.tx); err != nil {
		return storeErr("writing events", err)
	}
	var pb pgx.Batch
	var nums, sizes []int64
	for _, st := range a.orgs {
		nums, sizes = append(nums, st.num), append(sizes, st.size)
	}
	pb.Queue(`UPDATE orgs SET size = u.size FROM unnest($1::bigint[], $2::bigint[]) AS u(num, size)
		WHERE orgs.num = u.num AND orgs.size <> u.size`, nums, sizes)
	if len(a.daily) > 0 {
		var org, day, n []int64
		var cat []string
		for k, c := range a.daily {
			org, day, cat, n = append(org, k.org), append(day, k.day), append(cat, k.category), append(n, c)
		}
		pb.Queue(`INSERT INTO daily (org, day, category, n)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[])
			ON CONFLICT (org, day, category) DO UPDATE SET n = daily.n + excluded.n`, org, day, cat, n)
	}
	if err := a.tx.SendBatch(a.ctx, &pb).Close(); err != nil {
		return storeErr("writing events", err)
	}
	return nil
}

// loadEdge returns the org's tree edge at st.size: this process's cached
// one when no other writer appended since, else read in the transaction.
func (a *appendTx) loadEdge(st *orgState) (*ledger.Edge, error) {
	a.s.mu.Lock()
	e := a.s.trees[st.num]
	a.s.mu.Unlock()
	if e != nil && e.Size() == st.size {
		return e, nil
	}
	hashes, err := readHashes(a.ctx, a.tx, st.num, ledger.EdgeIndexes(st.size))
	if err != nil {
		return nil, err
	}
	e, err = ledger.NewEdge(st.size, hashes)
	if err != nil {
		return nil, internalErr("loading a tree edge: %v", err)
	}
	return e, nil
}
