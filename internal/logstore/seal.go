// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"
)

// Sealing turns the oldest events of an org's tail into a block: build it
// off every lock, append it to a block file and fdatasync, commit its
// catalog row with the daily counts and the tiles it completes in one
// SQLite transaction, then swap it in for the tail's events under the
// org's lock. A crash before the commit leaves an orphan the next Open
// cuts off (the events are still in the log); after it, replay skips the
// sealed seqs. Log segments whose events are all sealed are then removed.

func (s *Store) kickSealer() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// sealer runs sealDue when kicked by an append and every second.
func (s *Store) sealer() {
	defer s.done.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-t.C:
		}
		if err := s.sealDue(context.Background()); err != nil {
			if errors.Is(err, errNotDurable) {
				slog.Error("logstore: an fsync failed; sealing and appends stop until Trail restarts", "err", err)
				return
			}
			s.mu.Lock()
			s.sealErr = err
			s.mu.Unlock()
			slog.Error("logstore: sealing failed; the events stay in the log and are retried", "err", err)
		}
	}
}

// sealDue seals full blocks, then whole tails while the tails hold more
// than MaxTailBytes or the log has more than MaxSegments segments.
func (s *Store) sealDue(ctx context.Context) error {
	for _, o := range s.orgList() {
		for {
			o.mu.RLock()
			full := o.size-o.sealed >= int64(s.opts.BlockEvents)
			upto := o.sealed + int64(s.opts.BlockEvents)
			o.mu.RUnlock()
			if !full {
				break
			}
			if err := s.sealOrg(ctx, o, upto); err != nil {
				return err
			}
		}
	}
	for s.totalTail() > s.opts.MaxTailBytes/2 && s.totalTail() > 0 {
		if err := s.sealOrg(ctx, s.largestTail(), -1); err != nil {
			return err
		}
	}
	for {
		s.appendMu.Lock()
		var pin []string
		if len(s.wal.segs) > s.opts.MaxSegments {
			pin = s.wal.pinning(s.sealedOf)
		}
		s.appendMu.Unlock()
		if len(pin) == 0 {
			return nil
		}
		for _, name := range pin {
			if err := s.sealOrg(ctx, s.org(name), -1); err != nil {
				return err
			}
		}
	}
}

// Seal seals every org's whole tail and then starts a new log segment,
// so that every older segment is removed (for tests, backups and
// benchmarks).
func (s *Store) Seal(ctx context.Context) error {
	if err := s.sealAll(ctx); err != nil {
		return err
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	if s.reader || s.wal.failed != nil {
		return nil
	}
	// An empty newest segment is kept, but older ones whose events are
	// now sealed are still given back (after an Open that replayed
	// nothing, the segment before the new one is such).
	if s.wal.size > 0 {
		if err := s.wal.startSegment(s.wal.segs[len(s.wal.segs)-1].num + 1); err != nil {
			return err
		}
	}
	return s.wal.release(s.sealedOf)
}

func (s *Store) sealAll(ctx context.Context) error {
	for _, o := range s.orgList() {
		for {
			o.mu.RLock()
			left := o.size - o.sealed
			o.mu.RUnlock()
			if left == 0 {
				break
			}
			if err := s.sealOrg(ctx, o, -1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) orgList() []*orgLog {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*orgLog, 0, len(s.orgs))
	for _, o := range s.orgs {
		out = append(out, o)
	}
	return out
}

func (s *Store) totalTail() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tailBytes
}

func (s *Store) largestTail() *orgLog {
	var best *orgLog
	var most int64 = -1
	for _, o := range s.orgList() {
		o.mu.RLock()
		if o.bytes > most {
			best, most = o, o.bytes
		}
		o.mu.RUnlock()
	}
	return best
}

func (s *Store) sealedOf(org string) int64 {
	o := s.org(org)
	if o == nil {
		return 0
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.sealed
}

// sealOrg seals o's tail up to seq upto (exclusive; -1: the whole tail, at
// most BlockEvents).
func (s *Store) sealOrg(ctx context.Context, o *orgLog, upto int64) error {
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	s.appendMu.Lock()
	failed := s.wal.failed
	s.appendMu.Unlock()
	if failed != nil && !s.reader {
		return failed // after a failed fsync nothing more is written
	}
	o.mu.RLock()
	from := o.sealed
	if upto < 0 || upto > o.size {
		upto = o.size
	}
	upto = min(upto, from+int64(s.opts.BlockEvents))
	if upto <= from {
		// Sealed meanwhile (Seal and the background sealer asked for the
		// same events).
		o.mu.RUnlock()
		return nil
	}
	events := o.tail[:upto-from]
	tree := o.tree.snapshot()
	o.mu.RUnlock()
	in := make([]sealEvent, len(events))
	hashes := make([]uint32, len(events))
	daily := map[dayCat]int64{}
	var bytes int64
	for i, e := range events {
		d, err := e.getDoc()
		if err != nil {
			return internalErr("sealing %s seq %d: %v", o.name, from+int64(i), err)
		}
		in[i] = sealEvent{data: e.data, doc: d, id: e.id, chash: chashOf(e.hash)}
		hashes[i] = idHash32(e.id)
		daily[dayCat{dayOf(d.occurred), d.category}]++
		bytes += int64(len(e.data))
	}
	data, hdr, err := buildBlock(from, in, s.opts.PageEvents)
	if err != nil {
		return err
	}
	file, off, err := s.blocks.append(data)
	if errors.Is(err, errNotDurable) {
		// Never retry an fsync and carry on: the log fails closed too.
		s.appendMu.Lock()
		if s.wal.failed == nil {
			s.wal.failed = err
		}
		s.appendMu.Unlock()
	}
	if err != nil {
		return err
	}
	b := &blockRef{first: from, n: int64(len(events)), file: file, off: off, size: int64(len(data)),
		sum: sumOf(hdr, s.cat.strs)} // stored with the block's row (writeSeal)
	s.blocks.keep(b, hdr)
	groups, err := s.sealIDs(o, b, hashes)
	if err != nil {
		return err
	}
	st := &sealTx{org: o, block: b, daily: daily, tiles: tree.tileRows(from, upto),
		ids: groups, idsFrom: len(groups) - 1}
	st.edge, st.nodes = sealTree(o, events)
	if err := s.cat.writeSeal(ctx, st); err != nil {
		return err
	}
	o.mu.Lock()
	o.num = st.orgNum
	o.blocks = append(o.blocks, b)
	o.tail = slices.Clone(o.tail[len(events):])
	for _, e := range events {
		delete(o.tailID, e.id)
	}
	o.sealed = upto
	o.ids.groups = groups
	o.sealedEdge = st.edge
	o.bytes -= bytes
	o.mu.Unlock()
	s.mu.Lock()
	s.tailBytes -= bytes
	s.mu.Unlock()
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	return s.wal.release(s.sealedOf)
}
