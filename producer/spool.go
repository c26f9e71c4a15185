// SPDX-License-Identifier: Apache-2.0

package producer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// item is one spooled event waiting for Trail's acknowledgement.
type item struct {
	org   string
	event json.RawMessage
	seg   uint64 // the segment holding it
	end   int64  // its end offset in that segment
	size  int64  // its framed size
	gpos  int64  // spool bytes appended up to and including it (in memory only)
}

// spool is the durable queue: append-only segment files of framed records,
// a cursor file naming how far Trail has acknowledged, and in memory the
// records not yet acknowledged. All fields below mu are guarded by it.
type spool struct {
	dir      string
	segBytes int64
	maxBytes int64
	failFull bool
	lock     *os.File

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever the state moves
	f       *os.File      // the segment being appended to
	seg     uint64
	segSize int64
	segs    []uint64 // segment numbers on disk, ascending
	written int64    // bytes appended (global position)
	synced  int64    // bytes known durable
	syncing bool     // a goroutine is in fsync, leading a group
	err     error    // sticky: a failed write or fsync breaks the spool
	queue   []item   // not yet acknowledged, in Send order
	used    int64    // framed bytes of queue
	closed  bool
}

// notify wakes every waiter. Callers hold mu.
func (s *spool) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait releases mu until the state moves or ctx ends, then takes it again.
func (s *spool) wait(ctx context.Context) error {
	ch := s.changed
	s.mu.Unlock()
	defer s.mu.Lock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// append writes one record and returns once it is durable. Concurrent
// appends share an fsync: the first waiter syncs for everyone written
// before it started, the others wait for it.
func (s *spool) append(ctx context.Context, org string, event json.RawMessage) error {
	payload, err := json.Marshal(record{Org: org, Event: event})
	if err != nil {
		return fmt.Errorf("producer: encoding event: %w", err)
	}
	if len(payload) > maxPayload {
		return fmt.Errorf("producer: event of %d bytes: larger than the spool's record limit of %d bytes (Trail takes 32 KiB by default)", len(event), maxPayload)
	}
	frame := appendFrame(nil, payload)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reserve(ctx, int64(len(frame))); err != nil {
		return err
	}
	if s.segSize > 0 && s.segSize+int64(len(frame)) > s.segBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	if _, err := s.f.Write(frame); err != nil {
		s.err = fmt.Errorf("producer: writing spool: %w", err)
		return s.err
	}
	s.segSize += int64(len(frame))
	s.written += int64(len(frame))
	s.used += int64(len(frame))
	s.queue = append(s.queue, item{org: org, event: event, seg: s.seg, end: s.segSize, size: int64(len(frame)), gpos: s.written})
	return s.syncTo(s.written)
}

// record is a spool record's payload.
type record struct {
	Org   string          `json:"org"`
	Event json.RawMessage `json:"event"`
}

// reserve waits for room for n more bytes, or fails with ErrSpoolFull.
// A record larger than the whole bound is let in when the spool is empty,
// so it cannot wait forever.
func (s *spool) reserve(ctx context.Context, n int64) error {
	for {
		switch {
		case s.err != nil:
			return s.err
		case s.closed:
			return ErrClosed
		case s.used == 0 || s.used+n <= s.maxBytes:
			return nil
		case s.failFull:
			return ErrSpoolFull
		}
		if err := s.wait(ctx); err != nil {
			return fmt.Errorf("producer: waiting for room in a full spool: %w", err)
		}
	}
}

// syncTo returns once the bytes up to pos are durable, leading a group
// fsync or waiting for the one in progress. An fsync is not interrupted:
// the caller's context is not consulted.
func (s *spool) syncTo(pos int64) error {
	for s.synced < pos {
		if s.err != nil {
			return s.err
		}
		if s.syncing {
			s.wait(context.Background())
			continue
		}
		s.syncing = true
		f, upto := s.f, s.written
		s.mu.Unlock()
		err := f.Sync()
		s.mu.Lock()
		s.syncing = false
		if err != nil {
			s.err = fmt.Errorf("producer: syncing spool: %w", err)
		} else if upto > s.synced {
			s.synced = upto
		}
		s.notify()
	}
	return s.err
}

// rotate syncs and closes the current segment and starts the next one.
func (s *spool) rotate() error {
	for s.syncing {
		s.wait(context.Background())
	}
	if err := s.f.Sync(); err != nil {
		s.err = fmt.Errorf("producer: syncing spool: %w", err)
		return s.err
	}
	s.synced = s.written
	s.f.Close()
	return s.create(s.seg + 1)
}

// create starts segment n, empty, and makes its name durable.
func (s *spool) create(n uint64) error {
	f, err := os.OpenFile(s.segPath(n), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		s.err = fmt.Errorf("producer: starting spool segment: %w", err)
		return s.err
	}
	s.f, s.seg, s.segSize = f, n, 0
	s.segs = append(s.segs, n)
	return nil
}

func (s *spool) segPath(n uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d.spool", n))
}

// peek returns the oldest durable records, all of one org, within the
// bounds; it does not remove them.
func (s *spool) peek(maxN int, maxBytes int) []item {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []item
	size := 0
	for _, it := range s.queue {
		if it.gpos > s.synced || len(out) == maxN || (len(out) > 0 && (it.org != out[0].org || size+len(it.event) > maxBytes)) {
			break
		}
		out = append(out, it)
		size += len(it.event) + 1
	}
	return out
}

// ack removes the n oldest records, acknowledged by Trail (or dead-
// lettered): it moves the cursor past them and deletes the segments it
// no longer needs.
func (s *spool) ack(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.queue[n-1]
	for _, it := range s.queue[:n] {
		s.used -= it.size
	}
	s.queue = append(s.queue[:0:0], s.queue[n:]...)
	s.notify()
	if err := writeCursor(s.dir, cursor{Seg: last.seg, Off: last.end}); err != nil {
		return err
	}
	for len(s.segs) > 0 && s.segs[0] < last.seg {
		if err := os.Remove(s.segPath(s.segs[0])); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("producer: removing sent spool segment: %w", err)
		}
		s.segs = s.segs[1:]
	}
	return nil
}

// state reports what the spool holds and how far it is written.
func (s *spool) state() (pending int, bytes int64, written int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue), s.used, s.written
}

// stopAppends makes every later append fail with ErrClosed and wakes
// the appends waiting for room.
func (s *spool) stopAppends() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.notify()
}

// waitAcked returns once every record up to global position pos is
// acknowledged, or ctx ends.
func (s *spool) waitAcked(ctx context.Context, pos int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) > 0 && s.queue[0].gpos <= pos {
		if err := s.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// changes returns a channel closed at the next change of state.
func (s *spool) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// close syncs and closes the segment and releases the directory. The
// sender must be stopped.
func (s *spool) close() error {
	s.stopAppends()
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.f.Sync()
	s.f.Close()
	s.lock.Close()
	if err != nil {
		return fmt.Errorf("producer: syncing spool: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
