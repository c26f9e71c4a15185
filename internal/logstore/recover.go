// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// recover rebuilds the in-memory state at Open: the catalog's orgs,
// blocks, counts and tiles, then the log's records replayed over them.
//
// The log is read record by record. A record that is not intact (short,
// or its CRC does not match) ends the log if nothing intact follows it:
// that is a write torn by a crash, never acknowledged (an ack follows the
// fdatasync of the whole record), and it is cut off. If an intact record
// follows, acknowledged data was damaged: Open fails and says which org's
// seqs are lost, and nothing is cut or skipped.
func (s *Store) recover() error {
	ctx := context.Background()
	orgs, err := s.cat.load(ctx)
	if err != nil {
		return err
	}
	pruned, err := s.cat.prunedPoints(ctx)
	if err != nil {
		return err
	}
	for num, p := range pruned {
		if co := orgs[num]; co != nil {
			co.pruned = p
		}
	}
	var lastFile, end int64
	var repaired []*orgLog
	var rebuiltSums []orgBlocks
	defer func() { s.rebuilt = len(repaired) }()
	s.rebuiltSums, s.upgradedSums = 0, 0
	var buf []byte // the last blocks' bytes, one after the other
	for _, co := range orgs {
		sums, upgraded := s.restoreSummaries(co)
		s.upgradedSums += upgraded
		o, repair, err := s.loadOrg(co, &buf)
		if err != nil {
			return err
		}
		s.orgs[o.name] = o
		if repair {
			repaired = append(repaired, o)
		}
		if len(sums) > 0 {
			rebuiltSums = append(rebuiltSums, orgBlocks{co.num, sums})
			s.rebuiltSums += len(sums) - upgraded
		}
		for _, b := range co.blocks {
			if b.file > lastFile || b.file == lastFile && b.off+b.size > end {
				lastFile, end = b.file, b.off+b.size
			}
		}
	}
	if !s.reader {
		if err := s.blocks.open(lastFile, end); err != nil {
			return err
		}
		if err := s.cat.repair(ctx, repaired, rebuiltSums); err != nil {
			return err
		}
		if len(repaired) > 0 {
			slog.Info("logstore: rebuilt id filters or tree edges from the blocks and stored them in the catalog", "orgs", len(repaired))
		}
		if s.upgradedSums > 0 {
			slog.Info("logstore: gave block summaries their pages' sets from the blocks' headers (summary version 3) and stored them in the catalog", "blocks", s.upgradedSums)
		}
		if s.rebuiltSums > 0 {
			slog.Info("logstore: rebuilt block summaries from the blocks (format 3: their headers and events) and stored them in the catalog", "blocks", s.rebuiltSums)
		}
	}
	if err := s.replay(); err != nil {
		return err
	}
	for _, o := range s.orgs {
		if o.broken != nil {
			continue
		}
		leaves := make([]ledger.Hash, len(o.tail))
		for i, e := range o.tail {
			leaves[i] = e.leaf
		}
		if o.tree, err = o.tree.grow(leaves); err != nil {
			return fmt.Errorf("logstore: rebuilding the tree of %s: %w", o.name, err)
		}
		s.tailBytes += o.bytes
	}
	return nil
}

// loadOrg restores an org's sealed part from the catalog: its blocks,
// counts and tiles, its id filters and its tree's edge as stored by the
// seals (rebuilt from the blocks only if missing or damaged: repair then
// says the org's rows are to be written again). It reads one block, the
// last, to check it (into *buf): a damaged one keeps the org from taking
// appends.
func (s *Store) loadOrg(co *catalogOrg, buf *[]byte) (o *orgLog, repair bool, err error) {
	o = newOrgLog(co.name)
	o.num, o.blocks, o.daily = co.num, co.blocks, co.daily
	o.sealed, o.pruned = co.pruned, co.pruned
	for _, b := range co.blocks {
		if b.first != o.sealed {
			return nil, false, fmt.Errorf("logstore: the catalog's blocks of %s jump from seq %d to %d", co.name, o.sealed, b.first)
		}
		o.sealed += b.n
	}
	o.size = o.sealed
	if err := o.tree.loadTiles(co.tiles); err != nil {
		return nil, false, err
	}
	if len(o.blocks) > 0 {
		if *buf, err = s.checkBlock(o.blocks[len(o.blocks)-1], *buf); err != nil {
			// A damaged block: the org stays readable where it can be and
			// refuses appends; the service quarantines it (its root does
			// not come out) and trail check names the block.
			o.broken = err
			return o, false, nil
		}
	}
	if o.ids.groups, repair, err = s.restoreIDs(o, co.ids); err != nil {
		return nil, false, err
	}
	edge, ok := decodeEdge(o.num, co.edge, o.sealed)
	if !ok {
		repair = true
		if edge, err = s.computeEdge(o); err != nil {
			o.broken = err
			return o, false, nil
		}
	}
	o.sealedEdge, o.tree.edge = edge, edge
	return o, repair, nil
}

// restoreSummaries sets the summary of each of co's blocks from its
// stored row, or, where the row is missing (a catalog written before
// summaries were kept), of another version, damaged or not the block's,
// from the block's header (and, for a format 3 block, whose header
// holds no block filter, its filter from its events); a row stored
// before summary version 3 is read and given its pages' sets from the
// block's header (upgraded counts those). It returns the blocks whose
// summaries were rebuilt or upgraded, to be stored again. A block whose
// header or pages cannot be read keeps no summary (or, if its row is of
// an older version, the row's): a search reading it fails, naming it.
func (s *Store) restoreSummaries(co *catalogOrg) (rebuilt []*blockRef, upgraded int) {
	for i, b := range co.blocks {
		sum, err := decodeBlockSum(co.num, b, co.sums[i], s.cat.strs)
		if err == nil && sum.pageBits == nil {
			// Stored before version 3: the pages' sets from the header. A
			// header that cannot be read now leaves the summary as it is
			// (a walk of the block reads the header); one that describes
			// other pages or sets makes the summary rebuilt.
			h, herr := s.blocks.peekHeader(b)
			switch {
			case herr != nil:
				slog.Warn("logstore: a block's summary cannot be given its pages' sets", "org", co.name, "err", herr)
			case !sum.describes(h):
				err = fmt.Errorf("the summary does not describe the block's header")
			default:
				sum.setPageBits(h)
				rebuilt = append(rebuilt, b)
				upgraded++
			}
		}
		if err == nil {
			b.sum = sum
			continue
		}
		if b.sum, err = s.rebuildSummary(b); err != nil {
			slog.Warn("logstore: a block's summary cannot be rebuilt", "org", co.name, "err", err)
			continue
		}
		rebuilt = append(rebuilt, b)
	}
	co.sums = nil
	return rebuilt, upgraded
}

// rebuildSummary makes b's summary from its header and, if the header
// holds no block filter (format 3), the filter from b's events, as
// buildBlock made it.
func (s *Store) rebuildSummary(b *blockRef) (*blockSum, error) {
	h, err := s.blocks.header(b)
	if err != nil {
		return nil, err
	}
	sum := sumOf(h, s.cat.strs)
	if h.version < 3 {
		return sum, nil
	}
	pages, err := s.blocks.pagesOf(b, h)
	if err != nil {
		return nil, err
	}
	var keys keySet
	words := map[string]struct{}{}
	var buf []byte
	for p := range h.pages {
		var events [][]byte
		if events, buf, err = s.blocks.pageInto(b, h, p, pages, buf); err != nil {
			return nil, err
		}
		for _, data := range events {
			d, err := scanDoc(data)
			if err != nil {
				return nil, damaged(b, err)
			}
			d.fieldKeys(keys.add)
			for _, w := range d.words {
				words[w] = struct{}{}
			}
		}
	}
	sum.filter = blockFilter(keys, words)
	return sum, nil
}

// computeEdge computes the edge of o's tree at its sealed size from the
// tiles and the blocks (at most 255 leaves per edge hash).
func (s *Store) computeEdge(o *orgLog) (*ledger.Edge, error) {
	v := view{o: o, size: o.sealed, sealed: o.sealed, pruned: o.pruned, blocks: o.blocks, tree: o.tree}
	c := &leafCache{s: s, v: &v, pages: map[pageKey]*leafPage{}}
	idx := ledger.EdgeIndexes(o.sealed)
	hashes := make([]ledger.Hash, len(idx))
	for i, x := range idx {
		level, n := ledger.SplitIndex(x)
		var err error
		if hashes[i], err = c.node(level, n); err != nil {
			return nil, err
		}
	}
	return ledger.NewEdge(o.sealed, hashes)
}

// checkBlock checks a block for damage, as far as its checksums go: its
// header (CRC, and the seqs the catalog gives it), its id section (CRC
// and layout) and the CRC-32C of each page, in two reads (the header,
// kept in the header cache, then the rest of the block into buf, which
// it returns for the next block). It does not decompress the pages: a
// page whose CRC matches holds the bytes its seal wrote and fdatasync'd
// before the block's catalog row was committed. trail check decodes
// every page (it re-derives each org's tree from its events), and every
// read decodes the pages it needs, naming a damaged one.
func (s *Store) checkBlock(b *blockRef, buf []byte) ([]byte, error) {
	h, err := s.blocks.header(b)
	if err != nil {
		return buf, err
	}
	at := h.idsOff(h.hl)
	rest, err := s.blocks.readInto(b, at, b.size-at, buf)
	if err != nil {
		return buf, err
	}
	buf = keepRead(rest, 1)
	if _, err := decodeIDs(rest[:h.idsSize()], h.version, h.n); err != nil {
		return buf, damaged(b, err)
	}
	for _, sec := range []struct {
		section
		what string
	}{{h.pairs, "pair filter"}, {h.dict, "word dictionary"}, {h.columns, "columns"}} {
		// Format 2 on; a format 1 block has none (size 0).
		if sec.size > 0 && crc32.Checksum(rest[sec.off-at:sec.off-at+sec.size], castagnoli) != sec.crc {
			return buf, damaged(b, fmt.Errorf("%s CRC mismatch", sec.what))
		}
	}
	for p := range h.pages {
		pi := &h.pages[p]
		if err := pi.checkCRC(rest[pi.off-at : pi.off-at+pi.size]); err != nil {
			return buf, pageDamaged(b, p, pi, err)
		}
	}
	return buf, nil
}

// replay reads every log segment, rebuilding the tails, then starts a new
// segment for appends.
func (s *Store) replay() error {
	nums, err := listSegments(s.wal.dir)
	if err != nil {
		return fmt.Errorf("logstore: reading the log: %w", err)
	}
	var buf []byte // one buffer for every segment: replayed events are copied out of it
	for i, num := range nums {
		seg := &walSeg{num: num, ends: map[string]int64{}}
		s.wal.segs = append(s.wal.segs, seg)
		if buf, err = s.replaySegment(seg, i == len(nums)-1, buf); err != nil {
			return err
		}
	}
	if s.reader {
		return nil
	}
	next := uint64(0)
	if len(nums) > 0 {
		next = nums[len(nums)-1] + 1
	}
	return s.wal.startSegment(next)
}

func (s *Store) replaySegment(seg *walSeg, last bool, buf []byte) ([]byte, error) {
	path := filepath.Join(s.wal.dir, segName(seg.num))
	f, err := os.Open(path)
	if err != nil {
		return buf, fmt.Errorf("logstore: reading the log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return buf, fmt.Errorf("logstore: reading the log: %w", err)
	}
	r := &segReader{f: f, buf: buf, size: fi.Size()}
	err = s.replayRecords(seg, last, path, r)
	return r.buf, err
}

func (s *Store) replayRecords(seg *walSeg, last bool, path string, r *segReader) error {
	for off := 0; ; {
		var err error
		if off, err = r.have(off, frameHeader); err == nil && len(r.data)-off >= frameHeader {
			off, err = r.have(off, frameLen(r.data[off:]))
		}
		if err != nil {
			return fmt.Errorf("logstore: reading the log: %w", err)
		}
		if off == len(r.data) {
			return nil
		}
		at := r.base + int64(off) // the record's place in the segment
		payload, n, err := readFrame(r.data[off:])
		if err != nil {
			if s.reader && last {
				return nil // the owner may be writing here
			}
			if off, err = r.all(off); err != nil {
				return fmt.Errorf("logstore: reading the log: %w", err)
			}
			if next, ok := nextIntact(r.data[off+1:]); ok || !last {
				return s.damage(path, at, next, ok)
			}
			// A torn write: cut it off so no later record follows it.
			if err := os.Truncate(path, at); err != nil {
				return fmt.Errorf("logstore: cutting a torn record off the log: %w", err)
			}
			return nil
		}
		off += n
		if payload[0] == kindClose {
			continue
		}
		g, err := decodeGroup(payload)
		if err != nil {
			return fmt.Errorf("logstore: %s at %d: an intact record does not decode: %w", path, at, err)
		}
		if err := s.apply(g, seg); err != nil {
			return fmt.Errorf("logstore: %s at %d: %w", path, at, err)
		}
	}
}

// replayRead is how much of a log segment replay reads at a time (more
// when a record is longer): replayed events are copied out of it, so one
// buffer of this size serves every segment.
var replayRead = 4 << 20

// segReader is a log segment read piece by piece: data holds its bytes
// from base on, in buf's memory.
type segReader struct {
	f    *os.File
	size int64 // the segment's, when replay began
	buf  []byte
	data []byte
	base int64
	eof  bool
}

// have makes data[off:] hold at least n bytes, or all that is left of the
// segment, dropping the bytes before off; it returns off's new place. n
// is cut to what is left: a damaged frame's length (up to maxRecord)
// makes no buffer bigger than the segment.
func (r *segReader) have(off, n int) (int, error) {
	if left := r.size - r.base - int64(off); int64(n) > left {
		n = int(max(left, 0))
	}
	if len(r.data)-off >= n || r.eof {
		return off, nil
	}
	keep := len(r.data) - off
	if size := max(n, replayRead); cap(r.buf) < size {
		buf := make([]byte, size)
		copy(buf, r.data[off:])
		r.buf = buf
	} else {
		copy(r.buf[:keep], r.data[off:])
	}
	r.base += int64(off)
	m, err := io.ReadFull(r.f, r.buf[keep:cap(r.buf)])
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		r.eof, err = true, nil
	}
	r.data = r.buf[:keep+m]
	return 0, err
}

// frameLen is the length of the record b starts with, as its frame says
// (a frame's header only, if that says nothing readFrame would take).
func frameLen(b []byte) int {
	size := binary.LittleEndian.Uint32(b)
	if size == 0 || size > maxRecord {
		return frameHeader
	}
	return frameHeader + int(size)
}

// all makes data[off:] hold the rest of the segment (to look past a
// damaged record); it returns off's new place.
func (r *segReader) all(off int) (int, error) {
	rest, err := io.ReadAll(r.f)
	r.data = append(r.data[off:], rest...)
	r.base += int64(off)
	r.eof = true
	return 0, err
}

// apply adds a replayed group's unsealed events to the tails.
func (s *Store) apply(g walGroup, seg *walSeg) error {
	for _, wo := range g.orgs {
		o := s.orgs[wo.name]
		if o == nil {
			o = newOrgLog(wo.name)
			o.tree.edge = &ledger.Edge{}
			s.orgs[wo.name] = o
		}
		if wo.first > o.size {
			return fmt.Errorf("org %s: the log continues at seq %d but holds events only up to %d: acknowledged events %d…%d are missing", wo.name, wo.first, o.size, o.size, wo.first-1)
		}
		for j, we := range wo.events {
			seq := wo.first + int64(j)
			if seq < o.size {
				continue // sealed already (or replayed twice: sealed)
			}
			// A copy: the tail must not keep the whole segment's bytes.
			data := bytes.Clone(we.data)
			// Only the id and the fields the daily counts need: the doc
			// with the words is made when the event is sealed or searched.
			id, d, err := countFields(data)
			if err != nil {
				return fmt.Errorf("org %s seq %d: %w", wo.name, seq, err)
			}
			e := &tailEvent{data: data, hash: we.hash, leaf: ledger.LeafHash(data), id: id}
			o.tail = append(o.tail, e)
			o.tailID[e.id] = seq
			o.daily[dayCat{dayOf(d.occurred), d.category}]++
			o.bytes += int64(len(we.data))
			o.size++
		}
		seg.ends[wo.name] = max(seg.ends[wo.name], wo.first+int64(len(wo.events)))
	}
	return nil
}

// nextIntact finds the first intact record in b (an events record is
// returned decoded; a close record gives an empty group).
func nextIntact(b []byte) (walGroup, bool) {
	for i := 0; i+frameHeader < len(b); i++ {
		if p, _, err := readFrame(b[i:]); err == nil {
			if len(p) == 1 && p[0] == kindClose {
				return walGroup{}, true
			}
			if g, err := decodeGroup(p); err == nil {
				return g, true
			}
		}
	}
	return walGroup{}, false
}

// damage is the error for a damaged record that acknowledged data
// follows: it names what the next intact record shows is missing.
func (s *Store) damage(path string, off int64, next walGroup, ok bool) error {
	msg := fmt.Sprintf("logstore: the log %s is damaged at byte %d (a record fails its CRC) and intact records follow it: acknowledged events are unreadable", path, off)
	if ok && len(next.orgs) == 0 {
		msg += "; they are the newest events of the orgs whose size is short of their last checkpoint"
		for name, o := range s.orgs {
			msg += fmt.Sprintf("; org %s: seqs from %d", name, o.size)
		}
	}
	if ok {
		for _, wo := range next.orgs {
			size := int64(0)
			if o := s.orgs[wo.name]; o != nil {
				size = o.size
			}
			if wo.first > size {
				msg += fmt.Sprintf("; org %s: seqs %d…%d", wo.name, size, wo.first-1)
			}
		}
	}
	return &audit.Error{Code: audit.CodeInternal, Message: msg + "; restore the data directory from a backup (docs/storage.md)",
		Err: fmt.Errorf("%s", msg)}
}

// replayedID is the id of canonical bytes (their first field), read by
// the canonical scanner, or by eventID's JSON decoding if the bytes are
// not as the scanner expects.
func replayedID(data []byte) string {
	s := &cscan{b: data, ok: true}
	s.lit(`{"id":`)
	if id := s.str(); s.ok {
		return id
	}
	return eventID(data)
}
