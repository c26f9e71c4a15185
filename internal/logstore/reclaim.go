// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Reclaiming the space of retired blocks. A block leaves the log when it
// is pruned (prune.go) or replaced by its rewrite for an erasure
// (erase.go), but a read that took its view before (a query walking the
// blocks, the tree hashes of a proof, a backup) may still be reading it.
// Its bytes are given back (its range punched out of its file, the file
// removed once it holds no live block) only when no such read is left:
//
//   - In this process every read pins the epoch it starts in before it
//     takes its view (Store.view, unpin). Retiring blocks, after they are
//     out of the catalog and the in-memory log, starts a new epoch; the
//     blocks retired at epoch e are released once no read pinned before e
//     is left.
//   - Another process reading the directory beside the owner (trail
//     backup or trail check beside trail serve) holds a shared lock
//     (flock) on the file READERS from before it reads the catalog until
//     it closes. The owner releases blocks only while it holds that lock
//     exclusively, never waiting for it: it tries again every
//     reclaimRetry.
//
// Until then the retired bytes stay on disk, outside the log. Close
// releases what is left; a crash leaves them, and the next Open gives
// them back (a sweep over every block file: ranges outside the live
// blocks that still hold data are punched, files without one removed).
type reclaimer struct {
	mu      sync.Mutex
	epoch   uint64
	pins    map[uint64]int // reads in progress, by the epoch they pinned
	pending []retired      // oldest first (epochs increase)
	sweep   bool           // every block file is to be checked (Open)
	kick    chan struct{}
	// released is closed (and replaced) whenever retired blocks gave
	// their bytes back: awaitReleased waits on it.
	released chan struct{}
	readers  *os.File // READERS
}

// retired is a set of blocks out of the log since epoch.
type retired struct {
	epoch  uint64
	blocks []*blockRef
}

// ReadersFile is the lock file that processes reading a data directory
// owned by another hold shared (reclaim.go).
const ReadersFile = "READERS"

// reclaimRetry is how often the owner tries again to release retired
// blocks while another process reads the directory.
var reclaimRetry = 5 * time.Second

// openReaders opens READERS; a reader process locks it shared at once
// (waiting while the owner releases blocks, which is short).
func (r *reclaimer) openReaders(dir string, reader bool) error {
	f, err := os.OpenFile(filepath.Join(dir, ReadersFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("logstore: %w", err)
	}
	if reader {
		if err := flockRetry(f, syscall.LOCK_SH); err != nil {
			f.Close()
			return fmt.Errorf("logstore: locking %s shared: %w", f.Name(), err)
		}
	}
	r.readers, r.pins, r.kick, r.released = f, map[uint64]int{}, make(chan struct{}, 1), make(chan struct{})
	return nil
}

func flockRetry(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

func (r *reclaimer) close() error {
	if r.readers == nil {
		return nil
	}
	return r.readers.Close() // drops the lock
}

// view returns a view of o for a read that reads blocks, pinned: the
// caller calls s.unpin(v) when the read is done, and until then no block
// of the view gives its bytes back.
func (s *Store) view(o *orgLog) view {
	r := &s.reclaim
	r.mu.Lock()
	e := r.epoch
	r.pins[e]++
	r.mu.Unlock()
	v := o.view()
	v.pin = e
	return v
}

// unpin ends the read of a view from Store.view.
func (s *Store) unpin(v *view) { s.unpinEpoch(v.pin) }

// pinEpoch pins the current epoch for a read that is not of one org (a
// backup); unpinEpoch ends it.
func (s *Store) pinEpoch() uint64 {
	r := &s.reclaim
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pins[r.epoch]++
	return r.epoch
}

func (s *Store) unpinEpoch(e uint64) {
	r := &s.reclaim
	r.mu.Lock()
	if r.pins[e]--; r.pins[e] <= 0 {
		delete(r.pins, e)
	}
	kick := len(r.pending) > 0 && r.pending[0].epoch <= r.oldestPin()
	r.mu.Unlock()
	if kick {
		s.kickReclaim()
	}
}

// oldestPin is the oldest epoch a read holds (MaxUint64: none). The
// caller holds r.mu.
func (r *reclaimer) oldestPin() uint64 {
	oldest := uint64(math.MaxUint64)
	for e := range r.pins {
		oldest = min(oldest, e)
	}
	return oldest
}

// heldUpTo reports whether a block retired at or before epoch upto has
// not given its bytes back yet, and returns the channel closed when more
// retired blocks do.
func (r *reclaimer) heldUpTo(upto uint64) (bool, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending) > 0 && r.pending[0].epoch <= upto, r.released
}

func (s *Store) kickReclaim() {
	select {
	case s.reclaim.kick <- struct{}{}:
	default:
	}
}

// retire hands blocks that are out of the catalog and of every org's
// in-memory log to the reclaimer, and releases what no read holds any
// more. The caller holds sealMu.
func (s *Store) retire(blocks []*blockRef) {
	r := &s.reclaim
	r.mu.Lock()
	r.epoch++
	r.pending = append(r.pending, retired{epoch: r.epoch, blocks: blocks})
	r.mu.Unlock()
	if s.reclaimReady(false) {
		s.kickReclaim() // another process reads: the loop tries again later
	}
}

// reclaimLoop releases retired blocks when the reads that held them end
// (kicked by unpin), retrying while another process reads the directory;
// at Close, it releases what is left.
func (s *Store) reclaimLoop() {
	defer s.done.Done()
	var retry <-chan time.Time
	for {
		select {
		case <-s.stop:
			s.sealMu.Lock()
			s.reclaimReady(true)
			s.sealMu.Unlock()
			return
		case <-s.reclaim.kick:
		case <-retry:
		}
		s.sealMu.Lock()
		again := s.reclaimReady(false)
		s.sealMu.Unlock()
		retry = nil
		if again {
			retry = time.After(reclaimRetry)
		}
	}
}

// reclaimReady releases the retired blocks no read of this process holds
// (all of them if closing), and sweeps every block file if asked. It
// reports whether some were left because another process reads the
// directory. The caller holds sealMu: no block is written meanwhile.
func (s *Store) reclaimReady(closing bool) (blocked bool) {
	r := &s.reclaim
	r.mu.Lock()
	oldest := r.oldestPin()
	if closing {
		oldest = math.MaxUint64
	}
	n := 0
	for n < len(r.pending) && r.pending[n].epoch <= oldest {
		n++
	}
	ready := slices.Clone(r.pending[:n])
	var held []*blockRef
	for _, p := range r.pending[n:] {
		held = append(held, p.blocks...)
	}
	sweep := r.sweep
	r.mu.Unlock()
	if n == 0 && !sweep {
		return false
	}
	if err := syscall.Flock(int(r.readers.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			slog.Warn("logstore: locking READERS to give retired blocks' space back", "err", err)
		}
		return true
	}
	defer syscall.Flock(int(r.readers.Fd()), syscall.LOCK_UN)
	var blocks []*blockRef
	for _, p := range ready {
		blocks = append(blocks, p.blocks...)
	}
	s.releaseBlocks(blocks, held, sweep)
	r.mu.Lock()
	r.pending = slices.Delete(r.pending, 0, n) // only appended to meanwhile
	if sweep {
		r.sweep = false
	}
	if n > 0 {
		close(r.released)
		r.released = make(chan struct{})
	}
	r.mu.Unlock()
	return false
}

// releaseBlocks gives the disk space of retired blocks back: a block file
// that holds no live block any more (and is not the one being appended
// to) is removed; in the others every range outside the live blocks and
// the blocks still held is punched out where it still holds data (so
// that neighbouring dead blocks of different orgs free the file-system
// pages they share). With all, every block file is checked (Open's
// sweep). The caller holds sealMu: nothing is appended meanwhile.
// Failures are logged: the blocks are out of the log already.
func (s *Store) releaseBlocks(gone, held []*blockRef, all bool) {
	live := map[int64][][2]int64{} // file → live [off, end) ranges
	s.mu.RLock()
	for _, o := range s.orgs {
		o.mu.RLock()
		for _, b := range o.blocks {
			live[b.file] = append(live[b.file], [2]int64{b.off, b.off + b.size})
		}
		o.mu.RUnlock()
	}
	s.mu.RUnlock()
	for _, b := range held {
		live[b.file] = append(live[b.file], [2]int64{b.off, b.off + b.size})
	}
	f := s.blocks
	f.mu.Lock()
	defer f.mu.Unlock()
	files := map[int64]bool{}
	for _, b := range gone {
		files[b.file] = true
		if h := b.hdr.Swap(nil); h != nil {
			f.cost -= headerCost(h)
		}
	}
	if all {
		ents, err := os.ReadDir(f.dir)
		if err != nil {
			slog.Warn("logstore: listing the block files", "err", err)
		}
		for _, e := range ents {
			if n, ok := strings.CutSuffix(e.Name(), ".blk"); ok {
				if num, err := strconv.ParseInt(n, 10, 64); err == nil {
					files[num] = true
				}
			}
		}
	}
	removed := false
	for file := range files {
		path := filepath.Join(f.dir, blockFileName(file))
		current := f.cur != nil && file == f.curN
		if len(live[file]) == 0 && !current {
			if r := f.files[file]; r != nil {
				r.Close()
				delete(f.files, file)
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				slog.Warn("logstore: could not remove a block file without live blocks", "file", path, "err", err)
			}
			removed = true
			continue
		}
		end := int64(-1)
		if current {
			end = f.curSz
		}
		if err := punchDead(path, live[file], end); err != nil {
			slog.Warn("logstore: could not free retired blocks' space", "file", path, "err", err)
		}
	}
	if removed {
		if err := syncDir(f.dir); err != nil {
			slog.Warn("logstore: syncing the blocks directory", "err", err)
		}
	}
	if len(gone) > 0 {
		if _, err := s.cat.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			slog.Warn("logstore: checkpointing the catalog", "err", err)
		}
	}
}

// punchDead punches out every range of the file outside the live ranges,
// up to end (-1: the file's size), that still holds data.
func punchDead(path string, live [][2]int64, end int64) error {
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer w.Close()
	if end < 0 {
		info, err := w.Stat()
		if err != nil {
			return err
		}
		end = info.Size()
	}
	slices.SortFunc(live, func(a, b [2]int64) int { return int(a[0] - b[0]) })
	at, punched := int64(0), false
	for _, r := range append(live, [2]int64{end, end}) {
		if to := min(r[0], end); to > at && holdsData(w, at, to) {
			if err := punchHole(w, at, to-at); err != nil {
				return err
			}
			punched = true
		}
		at = max(at, r[1])
	}
	if !punched {
		return nil
	}
	return fdatasync(w)
}

// holdsData reports whether [off, end) of the file may hold data (it is
// not one hole); where the file system cannot say, it may.
func holdsData(f *os.File, off, end int64) bool {
	const seekData = 3 // SEEK_DATA
	next, err := syscall.Seek(int(f.Fd()), off, seekData)
	if errors.Is(err, syscall.ENXIO) {
		return false // no data at or after off
	}
	return err != nil || next < end
}

// punchHole frees [off, off+n) of a file, which then reads as zeros; where
// the file system cannot, the range is overwritten with zeros.
func punchHole(w *os.File, off, n int64) error {
	const punchHole, keepSize = 0x02, 0x01 // FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
	if err := syscall.Fallocate(int(w.Fd()), punchHole|keepSize, off, n); err != nil {
		if _, err := w.WriteAt(make([]byte, n), off); err != nil {
			return err
		}
	}
	return nil
}
