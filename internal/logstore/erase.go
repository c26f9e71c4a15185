// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/sqlite"
)

// Erasure (issue 11) rewrites the blocks that hold the redacted events:
// the org's tail is sealed first and the log rotated, so that every
// redacted event is in a block and no log segment holds its old bytes;
// each affected block is then written anew through buildBlock (same
// seqs, ids and content hashes, the new bytes, their summaries and
// filters), the catalog row is switched to it in one transaction, and the
// old block's bytes are punched out of its file once no read that began
// before the switch can still read them (retire, reclaim.go). The tree
// is unchanged: a redacted event carries its original leaf hash.

// Redact implements audit.Eraser.
func (s *Store) Redact(ctx context.Context, org string, rs []audit.Redaction) error {
	if s.reader {
		return &audit.Error{Code: audit.CodeUnavailable, Message: "the data directory " + s.dir + " is in use by a running trail serve: erase through its API"}
	}
	o := s.org(org)
	if o == nil || len(rs) == 0 {
		return nil
	}
	if err := s.sealOut(ctx); err != nil {
		return err
	}
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	o.mu.RLock()
	blocks, sealed := o.blocks, o.sealed
	o.mu.RUnlock()
	byBlock := map[*blockRef]map[int64][]byte{}
	for _, r := range rs {
		if r.Seq >= sealed || r.Seq < o.pruned {
			return internalErr("erasure: seq %d of %s is not in a block", r.Seq, org)
		}
		b := findBlock(blocks, r.Seq)
		if byBlock[b] == nil {
			byBlock[b] = map[int64][]byte{}
		}
		byBlock[b][r.Seq] = r.Data
	}
	var old []*blockRef
	for b, repl := range byBlock {
		nb, err := s.rewriteBlock(b, repl)
		if err != nil {
			return err
		}
		ids, err := s.cat.setIDs(ctx, s.cat.w, nb) // each value's row commits on its own
		if err != nil {
			return sqlite.StoreErr("erasure: switching a block", err)
		}
		s.cat.strs.learn(ids)
		if _, err := s.cat.w.ExecContext(ctx, `UPDATE blocks SET file = ?, off = ?, len = ?, summary = ? WHERE org = ? AND first = ?`,
			nb.file, nb.off, nb.size, encodeSummary(o.num, nb, ids), o.num, b.first); err != nil {
			return sqlite.StoreErr("erasure: switching a block", err)
		}
		o.mu.Lock()
		o.blocks = slices.Clone(o.blocks)
		if i := slices.Index(o.blocks, b); i >= 0 {
			o.blocks[i] = nb
		}
		groups := slices.Clone(o.ids.groups)
		for gi := range groups {
			if i := slices.Index(groups[gi].blocks, b); i >= 0 {
				groups[gi].blocks = slices.Clone(groups[gi].blocks)
				groups[gi].blocks[i] = nb
			}
		}
		o.ids.groups = groups
		o.mu.Unlock()
		old = append(old, b)
	}
	s.retire(old)
	return nil
}

// rewriteBlock writes a copy of block b with some events' bytes replaced
// and returns it (durable, not yet in the catalog).
func (s *Store) rewriteBlock(b *blockRef, repl map[int64][]byte) (*blockRef, error) {
	h, err := s.blocks.header(b)
	if err != nil {
		return nil, err
	}
	x, err := s.blocks.ids(b, h)
	if err != nil {
		return nil, err
	}
	// What the new block keeps of each content hash: from a block of
	// format 4, each event's bits, or its whole hash, which a redacted
	// event's marker no longer gives back (hashed from its bytes before);
	// from an older block, the 8-byte prefixes, in a block of format 3.
	version := byte(blockVersion)
	kept := make([]sealEvent, h.n)
	for i, r := range x.rows {
		if x.prefix != nil {
			version = 3
			binary.LittleEndian.PutUint64(kept[r].hash[:8], x.prefix[i])
			kept[r].bits = hashPrefix
		} else if fh, ok := x.full[int(r)]; ok {
			kept[r].hash, kept[r].bits = fh, hashFull
		} else {
			kept[r].bits = x.flags[r] | bitsKnown
		}
	}
	in := make([]sealEvent, 0, h.n)
	for p := range h.pages {
		events, err := s.blocks.page(b, h, p)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			seq := b.first + int64(len(in))
			data := e
			k := kept[len(in)]
			if k.bits&bitsKnown != 0 {
				if k.hash, err = storedHash(e, k.bits); err != nil {
					return nil, internalErr("erasure: seq %d: %v", seq, err)
				}
			}
			if r, ok := repl[seq]; ok {
				data = r
				if k.bits&bitsKnown != 0 {
					k.bits = hashFull
				}
			}
			d, err := scanDoc(data)
			if err != nil {
				return nil, internalErr("erasure: seq %d: %v", seq, err)
			}
			in = append(in, sealEvent{data: slices.Clone(data), doc: d, id: eventID(data), hash: k.hash, bits: k.bits})
		}
	}
	data, hdr, err := buildBlockOf(version, b.first, in, s.opts.PageEvents, s.opts.PageLevel.encoder())
	if err != nil {
		return nil, err
	}
	file, off, err := s.blocks.append(data)
	if err != nil {
		return nil, err
	}
	nb := &blockRef{first: b.first, n: b.n, file: file, off: off, size: int64(len(data)), sum: sumOf(hdr, s.cat.strs)}
	s.blocks.keep(nb, hdr)
	return nb, nil
}

// sealOut seals every tail and rotates the log until no segment written
// before it holds an event: the old bytes of the events to redact then
// live only in blocks.
func (s *Store) sealOut(ctx context.Context) error {
	s.appendMu.Lock()
	start := s.wal.segs[len(s.wal.segs)-1].num
	s.appendMu.Unlock()
	for try := 0; try < 20; try++ {
		if err := s.Seal(ctx); err != nil {
			return err
		}
		s.appendMu.Lock()
		oldest, empty := s.wal.segs[0].num, len(s.wal.segs) == 1 && s.wal.size == 0
		s.appendMu.Unlock()
		if oldest > start || empty {
			return nil
		}
	}
	return &audit.Error{Code: audit.CodeUnavailable, Message: "erasure: the write-ahead log kept turning over under load; retry"}
}

// maxReleaseWait bounds how long an erasure waits, before it is recorded
// done, for the reads that hold its old blocks (reclaim.go).
var maxReleaseWait = time.Minute

// SaveErasure implements audit.Eraser. An erasure is recorded done once
// the old blocks of its rewrites gave their bytes back: the reads that
// began before (the erasure's own scan among them) have ended. A process
// reading the directory beside this one for longer than maxReleaseWait
// (a trail backup) keeps them until it closes: that is logged.
func (s *Store) SaveErasure(ctx context.Context, e audit.ErasureRecord) error {
	if e.State == audit.ErasureDone && !s.reader {
		if err := s.awaitReleased(ctx, maxReleaseWait); err != nil {
			slog.Warn("erasure: the old blocks of the rewritten events are out of the log; their bytes leave the disk when the reads that hold them end", "org", e.Org, "erasure", e.ID, "err", err)
		}
	}
	return s.Meta.SaveErasure(ctx, e)
}

// awaitReleased waits until every block retired so far has given its
// bytes back: it wakes when the reclaimer releases blocks (reclaimReady),
// when ctx is done, or after limit.
func (s *Store) awaitReleased(ctx context.Context, limit time.Duration) error {
	r := &s.reclaim
	r.mu.Lock()
	upto := r.epoch
	r.mu.Unlock()
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	s.kickReclaim() // a retry waiting for another process's lock goes now
	for {
		held, released := r.heldUpTo(upto)
		if !held {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return fmt.Errorf("retired blocks still read after %v", limit)
		case <-released:
		}
	}
}
