// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
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
	// Full blocks, org by org: an org's blocks full when the pass reaches
	// it, consecutive ones built at once and committed in order.
	orgs := s.orgList()
	sched := map[*orgLog]int64{}
	limit := map[*orgLog]int64{}
	i := 0
	err := s.runSeals(ctx, false, func() *sealJob {
		for ; i < len(orgs); i++ {
			o := orgs[i]
			o.mu.RLock()
			from, ok := sched[o]
			if !ok {
				from, limit[o] = o.sealed, o.size
			}
			from = max(from, o.sealed)
			full := limit[o]-from >= int64(s.opts.BlockEvents)
			o.mu.RUnlock()
			if full {
				j := s.newJob(o, from, from+int64(s.opts.BlockEvents))
				sched[o] = j.upto
				return j
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Then the largest tails (a block of each), as many as bring the
	// tails under half of MaxTailBytes, built at once.
	for over := s.totalTail() - s.opts.MaxTailBytes/2; over > 0; over = s.totalTail() - s.opts.MaxTailBytes/2 {
		largest := s.largestTails()
		made := 0
		err := s.runSeals(ctx, false, func() *sealJob {
			for over > 0 && len(largest) > 0 {
				j := s.newJob(largest[0], 0, -1)
				largest = largest[1:]
				if j != nil {
					over -= j.bytes
					made++
					return j
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if made == 0 {
			break
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
		// One block of each org that keeps the oldest segment, built at once.
		made := 0
		err := s.runSeals(ctx, false, func() *sealJob {
			for len(pin) > 0 {
				o := s.org(pin[0])
				pin = pin[1:]
				if o == nil {
					continue
				}
				if j := s.newJob(o, 0, -1); j != nil {
					made++
					return j
				}
			}
			return nil
		})
		if err != nil || made == 0 {
			return err
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

// sealAll seals every org's tail as it is when sealAll reaches the org,
// blocks built at once. A block another seal sealed meanwhile (the
// background sealer's) is not committed twice; what that leaves unsealed
// is sealed in a next round.
func (s *Store) sealAll(ctx context.Context) error {
	orgs := s.orgList()
	until := map[*orgLog]int64{}
	for _, o := range orgs {
		o.mu.RLock()
		until[o] = o.size
		o.mu.RUnlock()
	}
	for {
		sched := map[*orgLog]int64{}
		var left []*orgLog
		for _, o := range orgs {
			if s.sealedOf(o.name) < until[o] {
				left = append(left, o)
			}
		}
		if len(left) == 0 {
			return nil
		}
		err := s.runSeals(ctx, true, func() *sealJob {
			for len(left) > 0 {
				o := left[0]
				from, ok := sched[o]
				if !ok {
					from = 0 // newJob starts at the org's sealed seq
				}
				if from < until[o] {
					if j := s.newJob(o, from, until[o]); j != nil {
						sched[o] = j.upto
						return j
					}
				}
				left = left[1:]
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
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

// largestTails returns the orgs with unsealed events, the most bytes
// first.
func (s *Store) largestTails() []*orgLog {
	type tail struct {
		o     *orgLog
		bytes int64
	}
	var tails []tail
	for _, o := range s.orgList() {
		o.mu.RLock()
		if o.bytes > 0 {
			tails = append(tails, tail{o, o.bytes})
		}
		o.mu.RUnlock()
	}
	slices.SortFunc(tails, func(a, b tail) int { return cmp.Compare(b.bytes, a.bytes) })
	out := make([]*orgLog, len(tails))
	for i, t := range tails {
		out[i] = t.o
	}
	return out
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

// sealWorkers is how many blocks are built at once (zenc has as many
// encoders).
var sealWorkers = min(runtime.GOMAXPROCS(0), 4)

// sealJob is one block being sealed: the events [from, upto) of an org's
// tail, built off every lock (build), then committed (commit).
type sealJob struct {
	o          *orgLog
	from, upto int64
	events     []*tailEvent
	tree       treeState // the org's tree when the job was made (upto or more leaves)
	bytes      int64     // the events' bytes

	// Set by build, before done is closed.
	data   []byte
	hdr    *blockHeader
	hashes []uint32 // the events' id hashes
	daily  map[dayCat]int64
	err    error
	done   chan struct{}
}

// newJob makes the job sealing o's events from seq from (or its first
// unsealed one, if later) up to upto (exclusive; -1: its size), at most
// BlockEvents; nil when there are none.
func (s *Store) newJob(o *orgLog, from, upto int64) *sealJob {
	o.mu.RLock()
	defer o.mu.RUnlock()
	from = max(from, o.sealed)
	if upto < 0 || upto > o.size {
		upto = o.size
	}
	upto = min(upto, from+int64(s.opts.BlockEvents))
	if upto <= from {
		return nil
	}
	j := &sealJob{o: o, from: from, upto: upto, events: o.tail[from-o.sealed : upto-o.sealed],
		tree: o.tree.snapshot(), done: make(chan struct{})}
	for _, e := range j.events {
		j.bytes += int64(len(e.data))
	}
	return j
}

// runSeals builds the blocks of the jobs next makes on up to sealWorkers
// goroutines at once and commits them one by one in the order next made
// them (so an org's blocks are committed in seq order). next is called
// from this goroutine only; nil means no more jobs. After an error no job
// is started or committed; the ones started are waited for.
//
// Background sealing (all false) builds one block at a time while the
// tails hold under a quarter of MaxTailBytes: the sealer keeps up, and
// the other cores are left to appends (their latency); past it, it uses
// every worker so that appends are not held back (waitForSealer). A Seal
// (all true) always uses every worker.
func (s *Store) runSeals(ctx context.Context, all bool, next func() *sealJob) error {
	var queue []*sealJob
	var err error
	for {
		workers := sealWorkers
		if !all && s.totalTail() <= s.opts.MaxTailBytes/4 {
			workers = 1
		}
		// One more than the workers: they build while the head commits
		// (a write, an fdatasync and a transaction, mostly waiting).
		for err == nil && len(queue) <= workers {
			j := next()
			if j == nil {
				break
			}
			go s.build(j)
			queue = append(queue, j)
		}
		if len(queue) == 0 {
			return err
		}
		j := queue[0]
		queue = queue[1:]
		<-j.done
		if err == nil {
			err = s.commit(ctx, j)
		}
	}
}

// build encodes the job's block, off every lock.
func (s *Store) build(j *sealJob) {
	defer close(j.done)
	in := make([]sealEvent, len(j.events))
	j.hashes = make([]uint32, len(j.events))
	j.daily = map[dayCat]int64{}
	for i, e := range j.events {
		d, err := e.getDoc()
		if err != nil {
			j.err = internalErr("sealing %s seq %d: %v", j.o.name, j.from+int64(i), err)
			return
		}
		in[i] = sealEvent{data: e.data, doc: d, id: e.id, hash: e.hash, bits: e.bits}
		j.hashes[i] = idHash32(e.id)
		j.daily[dayCat{dayOf(d.occurred), d.category}]++
	}
	j.data, j.hdr, j.err = buildBlockOf(blockVersion, j.from, in, s.opts.PageEvents, s.opts.PageLevel.encoder())
}

// commit writes a built block durably, commits its catalog row, and swaps
// it in for the tail's events; a job whose first seq was sealed meanwhile
// (by another seal) is dropped.
func (s *Store) commit(ctx context.Context, j *sealJob) error {
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	s.appendMu.Lock()
	failed := s.wal.failed
	s.appendMu.Unlock()
	if failed != nil && !s.reader {
		return failed // after a failed fsync nothing more is written
	}
	o := j.o
	o.mu.RLock()
	current := o.sealed == j.from
	o.mu.RUnlock()
	if !current {
		return nil
	}
	if j.err != nil {
		return j.err
	}
	file, off, err := s.blocks.append(j.data)
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
	b := &blockRef{first: j.from, n: int64(len(j.events)), file: file, off: off, size: int64(len(j.data)),
		sum: sumOf(j.hdr, s.cat.strs)} // stored with the block's row (writeSeal)
	s.blocks.keep(b, j.hdr)
	groups, err := s.sealIDs(o, b, j.hashes)
	if err != nil {
		return err
	}
	st := &sealTx{org: o, block: b, daily: j.daily, tiles: j.tree.tileRows(j.from, j.upto),
		ids: groups, idsFrom: len(groups) - 1}
	st.edge, st.nodes = sealTree(o, j.events)
	if err := s.cat.writeSeal(ctx, st); err != nil {
		return err
	}
	o.mu.Lock()
	o.num = st.orgNum
	o.blocks = append(o.blocks, b)
	o.tail = slices.Clone(o.tail[len(j.events):])
	if len(o.tail) == 0 {
		clear(o.tailID) // the whole tail sealed (a small org's, often)
	} else {
		for _, e := range j.events {
			delete(o.tailID, e.id)
		}
	}
	o.sealed = j.upto
	o.ids.groups = groups
	o.sealedEdge = st.edge
	o.bytes -= j.bytes
	o.mu.Unlock()
	s.mu.Lock()
	s.tailBytes -= j.bytes
	s.mu.Unlock()
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	return s.wal.release(s.sealedOf)
}

// PageLevel is how sealed pages are compressed (Options.PageLevel; the
// encoders and their measures are in page.go). Every level gives frames
// any reader of format 3 decodes. PageLevelDefault compresses full pages at
// zstd's SpeedBetterCompression without the page dictionary (small,
// quick to decode) and small ones at SpeedDefault with it;
// PageLevelBetter compresses every page at SpeedBetterCompression with
// the dictionary: ~4.7 bytes per event smaller, ~1.3 µs more per event
// to seal, ~1.5 times slower to decode; PageLevelFast every page at
// SpeedDefault with the dictionary (the default before): ~3.3 bytes per
// event bigger, ~2 µs per event less to seal, ~1.6 times slower to
// decode, for an ingest that the sealer's CPU limits.
type PageLevel int

const (
	PageLevelDefault PageLevel = iota // the default
	PageLevelBetter                   // smaller, slower to decode
	PageLevelFast                     // less CPU to seal, bigger, slower to decode
)

// ParsePageLevel reads a page level by name: "default", "better" or
// "fast".
func ParsePageLevel(name string) (PageLevel, error) {
	switch name {
	case "better":
		return PageLevelBetter, nil
	case "default":
		return PageLevelDefault, nil
	case "fast":
		return PageLevelFast, nil
	}
	return 0, fmt.Errorf("logstore: unknown page level %q (default, better and fast are known)", name)
}

// encoder is the page encoder of the level.
func (l PageLevel) encoder() pageEncoder {
	switch l {
	case PageLevelBetter:
		return pageEncoder{small: zpage}
	case PageLevelFast:
		return pageEncoder{small: zpageDefault}
	}
	return pageEncoder{small: zpageDefault, large: zpagePlain}
}
