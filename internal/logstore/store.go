// SPDX-License-Identifier: Apache-2.0

// Package logstore is Trail's log engine: an embedded audit.Store built as
// a log database rather than a table.
//
// Each org's events are appended, as their exact canonical bytes, to a
// CRC-framed write-ahead log (wal.go, record.go) that is fdatasync'd once
// per group commit before any event of the group is acknowledged; the
// acknowledged events are kept in an in-memory tail per org (tail.go) so
// they are readable at once. In the background, runs of an org's events
// are sealed (seal.go) into immutable, seq-contiguous blocks (block.go) of
// small zstd pages (page.go) with summaries and Bloom filters (filter.go,
// doc.go) that let a query (search.go) skip blocks and pages; blocks are
// appended to segment files under blocks/ and listed in a SQLite catalog
// (catalog.go) with the Merkle tree's upper tiles (tiles.go), daily counts,
// checkpoints, keys and viewer state. Recovery (recover.go) replays the
// log over the catalog. docs/storage.md describes the formats.
//
// One process owns a data directory's log at a time (a lock file). A
// second process (the CLI beside a running server) opens the directory
// as a reader: it sees the events acknowledged when it opened, and keys,
// viewer links and checkpoints, which live in SQLite, are shared safely;
// it cannot append events.
package logstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/sqlite"
)

// Options configures Open; the zero value of each field is its default.
type Options struct {
	BlockEvents  int   // events per sealed block; default 4096
	PageEvents   int   // events per compressed page; default 128
	SegmentBytes int64 // log segment size before a new one starts; default 64 MiB
	// MaxTailBytes bounds the unsealed events kept in memory over all
	// orgs; past it the largest tails are sealed. Default 64 MiB.
	MaxTailBytes int64
	// MaxSegments is how many log segments may exist before the orgs that
	// keep the oldest one are sealed; default 8.
	MaxSegments int
	// ManualSeal turns off background sealing (tests seal with Seal).
	ManualSeal bool
	// PageLevel is the zstd level new pages are compressed at:
	// PageLevelDefault (the default), PageLevelBetter (smaller, more
	// sealing CPU) or PageLevelFast (less sealing CPU, bigger): seal.go.
	// Readers do not depend on it.
	PageLevel PageLevel
}

func (o *Options) defaults() {
	if o.BlockEvents <= 0 {
		o.BlockEvents = 4096
	}
	o.BlockEvents = min(o.BlockEvents, maxBlockEvents)
	if o.PageEvents <= 0 {
		o.PageEvents = 128
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 64 << 20
	}
	if o.MaxTailBytes <= 0 {
		o.MaxTailBytes = 64 << 20
	}
	if o.MaxSegments <= 0 {
		o.MaxSegments = 8
	}
}

// Store is the log engine. It is safe for concurrent use.
type Store struct {
	sqlite.Meta // keys, viewer links and sessions, in the catalog
	dir         string
	opts        Options
	cat         *catalog
	lock        *os.File
	blocks      *blockFiles

	appendMu sync.Mutex // one group commit at a time
	wal      *wal

	mu        sync.RWMutex
	orgs      map[string]*orgLog
	tailBytes int64 // unsealed bytes over all orgs (under mu)

	// reader is set when another process owns the log: this one reads
	// what was acknowledged when it opened and appends nothing.
	reader bool
	// rebuilt is how many orgs' id filters or tree edges Open had to
	// rebuild from their blocks (missing or damaged in the catalog).
	rebuilt int
	// rebuiltSums is how many blocks' summaries Open had to rebuild from
	// their headers (missing or damaged in the catalog).
	rebuiltSums int
	// upgradedSums is how many summaries stored before version 3 Open
	// gave their pages' sets from the blocks' headers.
	upgradedSums int

	sealMu  sync.Mutex // one seal at a time; releasing retired blocks too
	reclaim reclaimer  // retired blocks not released yet (reclaim.go)
	kick    chan struct{}
	stop    chan struct{}
	warmed  chan struct{} // closed when Open's warmIDs is done; nil in a reader (tests and benchmarks wait on it)
	done    sync.WaitGroup
	sealErr error // the last background seal failure, for Ping
}

// Open opens (creating if needed) the log engine's data in dir, replays
// its log and starts the background sealer.
func Open(dir string, opts Options) (*Store, error) {
	opts.defaults()
	if err := os.MkdirAll(filepath.Join(dir, "wal"), 0o700); err != nil {
		return nil, fmt.Errorf("logstore: creating data directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blocks"), 0o700); err != nil {
		return nil, fmt.Errorf("logstore: creating data directory: %w", err)
	}
	lock, busy, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	cat, err := openCatalogAs(filepath.Join(dir, CatalogFile), busy)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s := &Store{
		Meta: sqlite.NewMeta(cat.w, cat.r), dir: dir, opts: opts, cat: cat, lock: lock,
		blocks: &blockFiles{dir: filepath.Join(dir, "blocks"), files: map[int64]*os.File{}},
		orgs:   map[string]*orgLog{}, kick: make(chan struct{}, 1), stop: make(chan struct{}),
		wal:    &wal{dir: filepath.Join(dir, "wal"), segBytes: opts.SegmentBytes},
		reader: busy,
	}
	if err := s.reclaim.openReaders(dir, busy); err != nil {
		s.closeFiles()
		return nil, err
	}
	if busy {
		s.wal.failed = &audit.Error{Code: audit.CodeUnavailable,
			Message: "the data directory " + dir + " is in use by another trail process (a running trail serve?), which alone appends events: use its HTTP API, or stop it"}
	}
	err = s.recover()
	// A reader races the owner, which may seal and remove a log segment
	// between the reader's catalog read and its log read: start again.
	for try := 0; err != nil && busy && try < 5; try++ {
		s.orgs, s.tailBytes, s.wal.segs = map[string]*orgLog{}, 0, nil
		err = s.recover()
	}
	if err != nil {
		s.closeFiles()
		return nil, err
	}
	if !opts.ManualSeal && !busy {
		s.done.Add(1)
		go s.sealer()
	}
	if !busy {
		// Blocks retired before a crash (or while a reader process
		// held them at Close) give their space back.
		s.reclaim.sweep = true
		s.done.Add(1)
		go s.reclaimLoop()
		s.kickReclaim()
		orgs := make([]*orgLog, 0, len(s.orgs))
		for _, o := range s.orgs {
			orgs = append(orgs, o)
		}
		s.done.Add(1)
		s.warmed = make(chan struct{})
		go func() {
			defer s.done.Done()
			defer close(s.warmed)
			s.warmIDs(orgs)
		}()
	}
	return s, nil
}

// CatalogFile is the SQLite catalog inside the data directory.
const CatalogFile = "catalog.db"

// lockDir takes the data directory's lock: one process owns its log.
// busy means another process holds it.
func lockDir(dir string) (f *os.File, busy bool, err error) {
	f, err = os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("logstore: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return f, true, nil
		}
		f.Close()
		return nil, false, fmt.Errorf("logstore: locking %s: %w", dir, err)
	}
	return f, false, nil
}

// Reader reports whether another process (a running trail serve) owns
// the directory, so that this Store only reads and appends nothing.
func (s *Store) Reader() bool { return s.reader }

// Ping reports whether the store accepts events.
func (s *Store) Ping(ctx context.Context) error {
	s.appendMu.Lock()
	failed := s.wal.failed
	s.appendMu.Unlock()
	if failed != nil {
		return failed
	}
	return s.cat.r.PingContext(ctx)
}

// Close stops sealing, closes the log with a close record, and closes
// every file. Events not sealed stay in the log for the next Open.
func (s *Store) Close() error {
	close(s.stop)
	s.done.Wait()
	s.appendMu.Lock()
	var err error
	if !s.reader {
		err = s.wal.close()
	}
	s.wal.f = nil
	s.appendMu.Unlock()
	return errors.Join(err, s.closeFiles())
}

func (s *Store) closeFiles() error {
	err := errors.Join(s.blocks.close(), s.cat.close(), s.reclaim.close())
	if s.wal.f != nil {
		err = errors.Join(err, s.wal.f.Close())
	}
	return errors.Join(err, s.lock.Close())
}

// org returns the org's log, or nil.
func (s *Store) org(name string) *orgLog {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.orgs[name]
}

// orgOrNew returns the org's log, creating an empty one.
func (s *Store) orgOrNew(name string) *orgLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[name]
	if o == nil {
		o = newOrgLog(name)
		s.orgs[name] = o
	}
	return o
}

// Size implements audit.EventStore.
func (s *Store) Size(ctx context.Context, org string) (int64, error) {
	o := s.org(org)
	if o == nil {
		return 0, nil
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.size, nil
}

// Orgs implements audit.EventStore.
func (s *Store) Orgs(ctx context.Context) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for name, o := range s.orgs {
		o.mu.RLock()
		if o.size > 0 {
			out = append(out, name)
		}
		o.mu.RUnlock()
	}
	sort.Strings(out)
	return out, nil
}

var (
	_ audit.Store = (*Store)(nil)
	_             = sql.ErrNoRows
)

// maxSealerWait is how long an append waits for the sealer when the
// unsealed events in memory are over MaxTailBytes before it is refused
// (unavailable: retry).
var maxSealerWait = 10 * time.Second

// waitForSealer holds an append back while the unsealed events held in
// memory (all orgs' tails) are over MaxTailBytes, until the background
// sealer has brought them under it. Appends that outrun sealing are
// slowed to its pace instead of growing the tails (the process's memory,
// and the log a restart replays) without bound. After maxSealerWait (the
// sealer failing, say) the append is refused and nothing is stored.
func (s *Store) waitForSealer(ctx context.Context) error {
	if s.opts.ManualSeal || s.reader {
		return nil
	}
	var deadline time.Time
	for s.totalTail() > s.opts.MaxTailBytes {
		if deadline.IsZero() {
			deadline = time.Now().Add(maxSealerWait)
		} else if time.Now().After(deadline) {
			return &audit.Error{Code: audit.CodeUnavailable, Message: "the store is sealing a backlog of events; nothing was stored; retry",
				Err: fmt.Errorf("logstore: unsealed events over %d bytes for %v", s.opts.MaxTailBytes, maxSealerWait)}
		}
		s.kickSealer()
		select {
		case <-ctx.Done():
			return &audit.Error{Code: audit.CodeUnavailable, Message: "the append was cancelled; nothing was stored", Err: ctx.Err()}
		case <-s.stop:
			return nil
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}
