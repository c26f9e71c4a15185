// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/trailaudit/trail/internal/audit"
)

// The write-ahead log is a directory of segment files, wal/NNNNNNNNNNNNNNNN.log,
// numbered in write order. Append writes one record per group commit to the
// newest segment and fdatasyncs it before any event of the group is
// acknowledged or visible. A segment is removed once every event in it has
// been sealed into a block (seal.go).

// walSeg is one segment and, per org, the end (exclusive) of the seqs of
// the events it holds: it can go once every org has sealed that far.
type walSeg struct {
	num  uint64
	ends map[string]int64
}

type wal struct {
	dir      string
	segBytes int64
	f        *os.File // the newest segment, open for appending
	size     int64    // bytes in f
	segs     []*walSeg
	buf      []byte // the last record's buffer, reused (writeGroup)
	// failed is set by an fsync error: the log's durability is unknown, so
	// nothing is acknowledged again until the process restarts.
	failed error
}

func segName(num uint64) string { return fmt.Sprintf("%016x.log", num) }

// listSegments returns the segment numbers in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var nums []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(name, 16, 64)
		if err != nil {
			continue
		}
		nums = append(nums, n)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	return nums, nil
}

// startSegment creates segment num and makes its directory entry durable.
func (w *wal) startSegment(num uint64) error {
	f, err := os.OpenFile(filepath.Join(w.dir, segName(num)), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("logstore: creating log segment: %w", err)
	}
	if err := syncDir(w.dir); err != nil {
		f.Close()
		return err
	}
	if w.f != nil {
		w.f.Close()
	}
	w.f, w.size = f, 0
	w.segs = append(w.segs, &walSeg{num: num, ends: map[string]int64{}})
	return nil
}

// writeGroup encodes g as one record and writes it (write). The record is
// built in w.buf, reused from group to group (appends are serial) unless
// it grew past maxKeptBuf.
func (w *wal) writeGroup(g *walGroup, ends map[string]int64) error {
	need := frameHeader + g.size()
	buf := w.buf[:0]
	if cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	buf = g.encode(buf[:frameHeader])
	binary.LittleEndian.PutUint32(buf, uint32(len(buf)-frameHeader))
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(buf[frameHeader:], castagnoli))
	err := w.writeFrame(buf, ends)
	w.buf = nil
	if cap(buf) <= maxKeptBuf {
		w.buf = buf[:0]
	}
	return err
}

// maxKeptBuf bounds the record buffer kept between groups: a group of a
// few batches fits; a rare larger one gets a buffer of its own.
const maxKeptBuf = 4 << 20

// writeFrame appends one record and syncs it. ends gives, per org, the
// end of the record's seqs. A failed write (disk full) is undone and
// reported as unavailable; a failed sync fails the log closed.
func (w *wal) writeFrame(frame []byte, ends map[string]int64) error {
	if w.failed != nil {
		return w.failed
	}
	if w.size >= w.segBytes {
		if err := w.startSegment(w.segs[len(w.segs)-1].num + 1); err != nil {
			return unavailable("starting a log segment", err)
		}
	}
	if _, err := writeFile(w.f, frame); err != nil {
		// Nothing of the record may stay: a later record after a partial
		// one would make the partial one look like damage.
		if terr := w.f.Truncate(w.size); terr != nil {
			w.failed = failClosed(fmt.Errorf("writing the log: %w; removing the partial record: %w", err, terr))
			return w.failed
		}
		return unavailable("writing the log", err)
	}
	if err := fdatasync(w.f); err != nil {
		w.failed = failClosed(fmt.Errorf("syncing the log: %w", err))
		return w.failed
	}
	w.size += int64(len(frame))
	seg := w.segs[len(w.segs)-1]
	for org, end := range ends {
		seg.ends[org] = max(seg.ends[org], end)
	}
	return nil
}

// release removes the segments, oldest first and never the newest, whose
// events are all sealed.
func (w *wal) release(sealed func(org string) int64) error {
	for len(w.segs) > 1 {
		seg := w.segs[0]
		for org, end := range seg.ends {
			if sealed(org) < end {
				return nil
			}
		}
		if err := os.Remove(filepath.Join(w.dir, segName(seg.num))); err != nil {
			return fmt.Errorf("logstore: removing a sealed log segment: %w", err)
		}
		w.segs = w.segs[1:]
	}
	return nil
}

// pinning returns the orgs whose unsealed events keep the oldest segment.
func (w *wal) pinning(sealed func(org string) int64) []string {
	if len(w.segs) < 2 {
		return nil
	}
	var orgs []string
	for org, end := range w.segs[0].ends {
		if sealed(org) < end {
			orgs = append(orgs, org)
		}
	}
	return orgs
}

// close writes the close record, syncs and closes the newest segment.
func (w *wal) close() error {
	if w.f == nil {
		return nil
	}
	var err error
	if w.failed == nil {
		_, err = w.f.Write(appendFrame(nil, []byte{kindClose}))
		if err == nil {
			err = fdatasync(w.f)
		}
	}
	return errors.Join(err, w.f.Close())
}

// The two system calls durability rests on, replaceable by tests that
// inject a full disk or a failing device.
var (
	writeFile = func(f *os.File, b []byte) (int, error) { return f.Write(b) }
	fdatasync = func(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
)

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("logstore: syncing %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("logstore: syncing %s: %w", dir, err)
	}
	return nil
}

// errNotDurable marks a failed fdatasync (of the log or of a block): after
// one the kernel may have dropped dirty pages, so nothing written since can
// be trusted and the store fails closed.
var errNotDurable = errors.New("logstore: an fdatasync failed")

// failClosed is the error of every append after an fsync failure.
func failClosed(err error) error {
	return &audit.Error{Code: audit.CodeStoreFailed,
		Message: "the store could not make its data durable (an fsync failed) and accepts no events until Trail restarts",
		Err:     fmt.Errorf("%w: %w", errNotDurable, err)}
}

func unavailable(what string, err error) error {
	return &audit.Error{Code: audit.CodeUnavailable, Message: "the store is unavailable; nothing was stored; retry",
		Err: fmt.Errorf("logstore: %s: %w", what, err)}
}

func internalErr(format string, args ...any) error {
	return &audit.Error{Code: audit.CodeInternal, Message: "internal error", Err: fmt.Errorf("logstore: "+format, args...)}
}
