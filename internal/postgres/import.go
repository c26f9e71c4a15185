// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"crypto/sha256"

	"github.com/trailaudit/trail/internal/audit"
)

// Imported is an event copied from another store: its seq, its exact
// stored bytes, the producer content hash kept for idempotent retries, and
// the event decoded from the bytes (for the index columns).
type Imported struct {
	Seq   int64
	Data  []byte
	Hash  [sha256.Size]byte
	Event audit.Event
}

// Import appends events that already have their seqs and bytes to org's
// log, with their index rows, tree hashes and daily counts, in one
// transaction under the org's lock, like Append. evs must continue the log
// exactly: evs[0].Seq is the org's size and seqs are consecutive. The
// bytes are stored as given, so the tree, rebuilt from them, has the same
// hashes as the source's.
func (s *Store) Import(ctx context.Context, org string, evs []Imported) error {
	if len(evs) == 0 {
		return nil
	}
	months := map[int64]bool{}
	for i := range evs {
		months[monthOf(evs[i].Event.ReceivedAt.UnixMicro())] = true
	}
	if err := s.ensurePartitions(ctx, months); err != nil {
		return err
	}
	if err := s.ensureOrgs(ctx, []string{org}); err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return storeErr("beginning import", err)
	}
	defer tx.Rollback(context.Background())
	a := &appendTx{s: s, tx: tx, ctx: ctx, orgs: map[string]*orgState{}, daily: map[dayKey]int64{}}
	if err := a.lockOrgs([]string{org}); err != nil {
		return err
	}
	st := a.orgs[org]
	if evs[0].Seq != st.size {
		return internalErr("import into %q: the log has %d events, the import starts at seq %d", org, st.size, evs[0].Seq)
	}
	e, err := a.loadEdge(st)
	if err != nil {
		return err
	}
	st.edge = e.Clone()
	for i := range evs {
		ev := &evs[i]
		if ev.Seq != st.size {
			return internalErr("import into %q: seq %d follows seq %d", org, ev.Seq, st.size-1)
		}
		a.rows.add(st.num, ev.Seq, &audit.Pending{Event: ev.Event, Hash: ev.Hash}, ev.Data)
		if err := a.rows.addLeaf(st.num, st.edge, ev.Data); err != nil {
			return internalErr("growing the tree of %q: %v", org, err)
		}
		a.daily[dayKey{st.num, dayOf(ev.Event.OccurredAt.UnixMicro()), ev.Event.Category}]++
		st.size++
	}
	if err := a.write(); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return storeErr("committing import", err)
	}
	s.mu.Lock()
	s.orgs[org] = st.num
	s.trees[st.num] = st.edge
	s.mu.Unlock()
	return nil
}

// ImportKey stores a key copied from another store, with its secret's
// hash and its state (last use, revocation). A key with the same id
// already here is left as it is; ImportKey reports whether it stored k.
func (s *Store) ImportKey(ctx context.Context, k audit.Key, hash [sha256.Size]byte) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO keys (id, hash, name, scope, org, created, expires, last_used, revoked)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
		k.ID, hash[:], k.Name, string(k.Scope), k.Org, micros(k.CreatedAt), micros(k.ExpiresAt), micros(k.LastUsedAt), micros(k.RevokedAt))
	if err != nil {
		return false, storeErr("importing key", err)
	}
	return tag.RowsAffected() == 1, nil
}
