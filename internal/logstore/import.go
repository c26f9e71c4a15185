// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"crypto/sha256"
)

// Imported is an event copied from another store (trail migrate-store):
// its seq, its exact stored bytes and the producer content hash kept for
// idempotent retries.
type Imported struct {
	Seq  int64
	Data []byte
	Hash [sha256.Size]byte
}

// Import appends events that already have their seqs and bytes to org's
// log, like Append (one log record, one fdatasync, then visible). evs must
// continue the log exactly: evs[0].Seq is the org's size and seqs are
// consecutive. The bytes are kept as given, so the tree built from them
// has the source's hashes. It waits while the events not sealed yet are
// over MaxTailBytes.
func (s *Store) Import(ctx context.Context, org string, evs []Imported) error {
	if len(evs) == 0 {
		return nil
	}
	// Like an append, an import waits while the sealer is behind (memory
	// stays bounded however large the source), but for as long as it
	// takes: a conversion has no client to retry it.
	for {
		err := s.waitForSealer(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil || s.Ping(ctx) != nil {
			return err
		}
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	if s.wal.failed != nil {
		return s.wal.failed
	}
	g := &group{s: s, orgs: map[string]*groupOrg{}}
	po := g.org(org)
	for i, im := range evs {
		if im.Seq != po.next {
			return internalErr("import into %s: event %d has seq %d, the log continues at %d", org, i, im.Seq, po.next)
		}
		d, err := scanDoc(im.Data)
		if err != nil {
			return internalErr("import into %s seq %d: %v", org, im.Seq, err)
		}
		e := &tailEvent{id: replayedID(im.Data), data: im.Data, hash: im.Hash}
		e.doc.Store(d)
		po.events = append(po.events, e)
		po.daily[dayCat{dayOf(d.occurred), d.category}]++
		po.bytes += int64(len(im.Data))
		po.next++
	}
	g.order = []*groupOrg{po}
	return g.commit()
}
