// SPDX-License-Identifier: Apache-2.0

package producer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cursor is how far Trail has acknowledged the spool: every record before
// offset Off of segment Seg. It is written without fsync: after a crash an
// older cursor only re-sends events Trail already has, which their ids make
// harmless.
type cursor struct {
	Seg uint64 `json:"seg"`
	Off int64  `json:"off"`
}

const cursorFile = "cursor.json"

func writeCursor(dir string, c cursor) error {
	b, _ := json.Marshal(c)
	tmp := filepath.Join(dir, cursorFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("producer: writing spool cursor: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, cursorFile)); err != nil {
		return fmt.Errorf("producer: writing spool cursor: %w", err)
	}
	return nil
}

// readCursor returns the cursor; a missing or unreadable one is the start,
// which re-sends at worst.
func readCursor(dir string) cursor {
	var c cursor
	b, err := os.ReadFile(filepath.Join(dir, cursorFile))
	if err == nil && json.Unmarshal(b, &c) != nil {
		c = cursor{}
	}
	return c
}

// listSegments returns the numbers of the segment files in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.spool"))
	if err != nil {
		return nil, err
	}
	var segs []uint64
	for _, name := range names {
		n, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), ".spool"), 10, 64)
		if err == nil {
			segs = append(segs, n)
		}
	}
	slices.Sort(segs)
	return segs, nil
}

// openSpool locks dir and loads every record not yet acknowledged, in
// order. Damaged stretches (a torn last record, flipped bytes) are passed
// to torn and copied to the dead-letter file; the records around them are
// kept. Appends go to a new segment, never after a damaged tail.
func openSpool(dir string, cfg *Config, dl *deadLetters, torn func(error)) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("producer: creating spool directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := &spool{dir: dir, segBytes: cfg.SegmentBytes, maxBytes: cfg.MaxSpoolBytes, failFull: cfg.FailWhenFull, lock: lock, changed: make(chan struct{})}
	if err := s.load(readCursor(dir), dl, torn); err != nil {
		lock.Close()
		return nil, err
	}
	next := uint64(1)
	if len(s.segs) > 0 {
		next = s.segs[len(s.segs)-1] + 1
	}
	if err := s.create(next); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

// load reads the segments from cursor c on into the queue. A segment
// with nothing left to send is deleted; one with damage is rewritten
// without it, so that the damage is reported once.
func (s *spool) load(c cursor, dl *deadLetters, torn func(error)) error {
	segs, err := listSegments(s.dir)
	if err != nil {
		return fmt.Errorf("producer: listing spool: %w", err)
	}
	for _, n := range segs {
		start := int64(0)
		if n == c.Seg {
			start = c.Off
		}
		var recs []frameRec
		damaged := false
		if n >= c.Seg {
			if recs, damaged, err = s.readSegment(n, start, dl, torn); err != nil {
				return err
			}
		}
		if len(recs) == 0 {
			if err := os.Remove(s.segPath(n)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("producer: removing sent spool segment: %w", err)
			}
			continue
		}
		if damaged {
			if recs, err = s.rewrite(n, recs, n == c.Seg); err != nil {
				return err
			}
		}
		for _, r := range recs {
			s.written += r.size
			s.used += r.size
			s.queue = append(s.queue, item{org: r.rec.Org, event: r.rec.Event, seg: n, end: r.end, size: r.size, gpos: s.written})
		}
		s.segs = append(s.segs, n)
	}
	s.synced = s.written
	return nil
}

// frameRec is an intact record read back from a segment.
type frameRec struct {
	rec     record
	payload []byte
	end     int64 // its end offset in the segment
	size    int64 // its framed size
}

// readSegment returns the intact records of segment n from offset start,
// reporting and dead-lettering the damaged stretches between them.
func (s *spool) readSegment(n uint64, start int64, dl *deadLetters, torn func(error)) (recs []frameRec, damaged bool, err error) {
	path := s.segPath(n)
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, false, fmt.Errorf("producer: reading spool: %w", err)
	}
	start = min(start, int64(len(buf)))
	for _, sc := range scanFrames(buf, int(start)) {
		var rec record
		if sc.payload == nil || json.Unmarshal(sc.payload, &rec) != nil || rec.Org == "" {
			damaged = true
			bad := sc.damage(filepath.Base(path))
			torn(bad)
			if err := dl.add(DeadLetter{At: time.Now().UTC(), Raw: buf[sc.off:sc.end], Error: bad.Error()}); err != nil {
				return nil, false, err
			}
			continue
		}
		recs = append(recs, frameRec{rec: rec, payload: sc.payload, end: int64(sc.end), size: int64(sc.end - sc.off)})
	}
	return recs, damaged, nil
}

// rewrite replaces segment n by its intact records recs alone and returns
// them with their new offsets; when the cursor is in n (atCursor), it
// moves to n's start. The order of the steps keeps a crash at any point
// safe: at worst acknowledged events are sent again and the damage
// reported again.
func (s *spool) rewrite(n uint64, recs []frameRec, atCursor bool) ([]frameRec, error) {
	var buf []byte
	for i := range recs {
		buf = appendFrame(buf, recs[i].payload)
		recs[i].end = int64(len(buf))
	}
	tmp := s.segPath(n) + ".tmp"
	err := writeSynced(tmp, buf)
	if err == nil && atCursor {
		err = writeCursor(s.dir, cursor{Seg: n, Off: 0})
	}
	if err == nil {
		err = os.Rename(tmp, s.segPath(n))
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("producer: rewriting a damaged spool segment: %w", err)
	}
	return recs, nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
