// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bufio"
	"errors"
	"io"
	"os"

	"github.com/trailaudit/trail/internal/ledger"
)

// LeavesFromEvents is implemented by a store that keeps no level-0 tree
// hashes: its ReadHashes computes a leaf hash from the event's stored
// bytes (ledger.LeafHash), reading the event again. A complete export with
// an integrity block then hashes the bytes it streams instead, and writes
// those hashes after the events (leafSpool): one read of the log, not two.
// A store that stores its leaf hashes does not implement it, so that its
// exports list the hashes as stored and a damaged event is named by the
// verifier.
type LeavesFromEvents interface {
	LeavesFromEvents() bool
}

// leavesFromEvents tells whether the export hashes what it streams.
func (x *Export) leavesFromEvents() bool {
	if !exportLeaves || x.checkpoint == nil || !x.req.Filter.Empty() {
		return false
	}
	if x.req.Format == FormatNDJSON && !x.req.Integrity || x.req.Format == FormatCSV {
		return false
	}
	l, ok := x.s.store.(LeavesFromEvents)
	return ok && l.LeavesFromEvents()
}

// exportLeaves turns the hashing of streamed events on (tests compare
// both ways).
var exportLeaves = true

// spoolMemory is how many leaf hashes a spool keeps in memory (4 MiB)
// before it writes the rest to a temporary file.
var spoolMemory = 128 << 10

// leafSpool keeps the leaf hashes an export computes while it streams the
// events, for the integrity block written after them: the first
// spoolMemory in memory, the rest in an unlinked temporary file, so that
// the memory an export holds is bounded at any size. A failure (no room
// for the file) is kept: the export then reads the hashes from the store
// as a store without this would.
type leafSpool struct {
	mem []ledger.Hash
	f   *os.File
	w   *bufio.Writer
	n   int64
	err error
}

// newLeafSpool returns a spool for n hashes, its memory sized once (not
// grown by doubling).
func newLeafSpool(n int64) *leafSpool {
	return &leafSpool{mem: make([]ledger.Hash, 0, min(max(n, 0), int64(spoolMemory)))}
}

func (s *leafSpool) add(h ledger.Hash) {
	s.n++
	if s.err != nil {
		return
	}
	if len(s.mem) < spoolMemory {
		s.mem = append(s.mem, h)
		return
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "trail-export-leaves-*")
		if err != nil {
			s.err = err
			return
		}
		os.Remove(f.Name()) // gone from the directory; the open file stays until closed
		s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	// Appended to the writer's buffer: h[:] handed to Write would move
	// every hash to the heap (32 B of garbage per event).
	if _, err := s.w.Write(append(s.w.AvailableBuffer(), h[:]...)); err != nil {
		s.err = err
	}
}

// each hands the hashes to fn in order, up to hashChunk at a time. An
// error before the first call (the spool failed, or its file cannot be
// read back) leaves the caller free to get the hashes elsewhere.
func (s *leafSpool) each(fn func([]ledger.Hash)) error {
	if s.err != nil {
		return s.err
	}
	if s.f != nil {
		if err := s.w.Flush(); err != nil {
			return err
		}
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	for i := 0; i < len(s.mem); i += hashChunk {
		fn(s.mem[i:min(i+hashChunk, len(s.mem))])
	}
	if s.f == nil {
		return nil
	}
	raw := make([]byte, hashChunk*len(ledger.Hash{}))
	buf := make([]ledger.Hash, hashChunk)
	for left := s.n - int64(len(s.mem)); left > 0; {
		k := int(min(left, hashChunk))
		if _, err := io.ReadFull(s.f, raw[:k*len(ledger.Hash{})]); err != nil {
			return errors.Join(errors.New("audit: reading back an export's leaf hashes"), err)
		}
		for i := range buf[:k] {
			copy(buf[i][:], raw[i*len(ledger.Hash{}):])
		}
		fn(buf[:k])
		left -= int64(k)
	}
	return nil
}

func (s *leafSpool) close() {
	if s.f != nil {
		s.f.Close()
	}
	s.mem = nil
}
