// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"sort"
	"sync"
)

// Every sealed block's summary is kept in memory, in its blockRef, for
// as long as the block is in the log: its time ranges, its type,
// category and country sets (as indexes into the store's table of those
// values), its block filter (actor, target and word keys), its header's
// length and where each of its pages is. A search tests it before it
// reads anything of the block, so a block that cannot match costs no
// I/O however few headers the cache holds; an event read by seq or id,
// and a proof's leaves, find their page without the header.
//
// Each seal stores the summary in the catalog (blocks.summary) in its
// transaction, so that Open reads it instead of every block's header:
//
//	version (1 byte, summaryVersion) | block format (1 byte) | header length (uvarint)
//	min/max occurred_at, min/max received_at (4 varints, Unix µs)
//	types, categories, countries: each a count (uvarint) then the values' ids in the
//	catalog's strs table (uvarint each; version 1: the values, uvarint length + bytes)
//	block filter (uvarint length + bytes)
//	pages: a count (uvarint), the first's offset in the block (uvarint), then per page
//	its length (uvarint), events (uvarint) and CRC-32C (u32), and (version 3) which of the
//	block's types, categories and countries it holds: three bitsets over the sets above,
//	(len(set)+7)/8 bytes each, as the page's header summary holds them; pages are contiguous
//	CRC-32C (u32)
//
// The CRC-32C covers the org number and the block's first seq, event
// count, file, offset and length (six u64) then everything before it: a
// summary that is missing (written before summaries were kept, or by an
// older binary), of another version, damaged, or describing another copy
// of the block (an erasure by an older binary) is rebuilt from the
// block's header at Open and stored again; so is one naming a value the
// strs table does not hold. Version 1 summaries (the values spelled out
// in each: ~400 bytes of a 100-event block's ~2 KB) are read as they are;
// version 1 and 2 summaries, which have no pages' sets, get them from the
// block's header at the owner's Open and are stored again (version 3).
//
// With the pages' sets in memory, a search whose terms are all type,
// category or country terms (search.go) picks a block's pages without
// its header: ~19 bytes per page of a full block (~0.15 bytes per event).
const summaryVersion = 3

// blockSum is a block's summary as kept in memory.
type blockSum struct {
	version                        byte // the block's format (which word keys its filter holds)
	hl                             int  // the header's length
	minOcc, maxOcc, minRec, maxRec int64
	sets                           [3][]uint32 // types, categories, countries: strTable indexes
	filter                         bloom
	pages                          []pageLoc
	pagesEnd                       int64 // where the last page ends, within the block
	// pageBits holds each page's type, category and country bitsets over
	// sets (as its header summary), one page after another: nil for a
	// summary stored before version 3 and not yet given them.
	pageBits []byte
}

// bitsWidths is how many bytes each of a page's three bitsets takes.
func (s *blockSum) bitsWidths() (w [3]int) {
	for k, set := range s.sets {
		w[k] = (len(set) + 7) / 8
	}
	return w
}

// pageSets returns page p's type, category and country bitsets, from
// pageBits (not nil).
func (s *blockSum) pageSets(p int) (bits [3][]byte) {
	w := s.bitsWidths()
	at := p * (w[0] + w[1] + w[2])
	for k := range bits {
		bits[k] = s.pageBits[at : at+w[k] : at+w[k]]
		at += w[k]
	}
	return bits
}

// describes reports whether h, its block's header, has the pages and
// set sizes s has (setPageBits takes the pages' sets from it).
func (s *blockSum) describes(h *blockHeader) bool {
	return len(h.pages) == len(s.pages) && len(h.sum.types) == len(s.sets[0]) &&
		len(h.sum.categories) == len(s.sets[1]) && len(h.sum.countries) == len(s.sets[2])
}

// setPageBits fills s.pageBits from the pages' summaries of its block's
// header h.
func (s *blockSum) setPageBits(h *blockHeader) {
	w := s.bitsWidths()
	bits := make([]byte, 0, len(h.pages)*(w[0]+w[1]+w[2]))
	for _, p := range h.pages {
		for k := range p.sum.bits {
			bits = append(bits, p.sum.bits[k]...)
		}
	}
	s.pageBits = bits
}

// pageLoc is where a page is: pages are contiguous, from the first's
// offset to pagesEnd.
type pageLoc struct {
	off uint32 // within the block
	crc uint32
	end uint32 // seqs [prev end, end) from the block's first
}

// strTable interns the type, category and country values of summaries:
// a few hundred distinct values however many blocks hold them.
type strTable struct {
	mu   sync.RWMutex
	ids  map[string]uint32
	strs []string
	// The values' ids in the catalog's strs table (committed rows), and
	// back.
	catID map[uint32]int64
	byCat map[int64]uint32
}

// catalogID returns value i's id in the strs table, if it has one.
func (t *strTable) catalogID(i uint32) (int64, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	id, ok := t.catID[i]
	return id, ok
}

// fromCatalog returns the value whose id in the strs table is id.
func (t *strTable) fromCatalog(id int64) (uint32, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i, ok := t.byCat[id]
	return i, ok
}

// learn records values' ids in the strs table (rows committed).
func (t *strTable) learn(ids map[uint32]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.catID == nil {
		t.catID, t.byCat = map[uint32]int64{}, map[int64]uint32{}
	}
	for i, id := range ids {
		t.catID[i], t.byCat[id] = id, i
	}
}

func (t *strTable) id(s string) uint32 {
	t.mu.RLock()
	i, ok := t.ids[s]
	t.mu.RUnlock()
	if ok {
		return i
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.ids[s]; ok {
		return i
	}
	if t.ids == nil {
		t.ids = map[string]uint32{}
	}
	i = uint32(len(t.strs))
	t.ids[s] = i
	t.strs = append(t.strs, s)
	return i
}

func (t *strTable) str(i uint32) string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.strs[i]
}

// sumOf is the summary of a block whose header is h.
func sumOf(h *blockHeader, tab *strTable) *blockSum {
	s := &blockSum{version: h.version, hl: h.hl, minOcc: h.sum.minOcc, maxOcc: h.sum.maxOcc,
		minRec: h.sum.minRec, maxRec: h.sum.maxRec, filter: h.sum.filter}
	for k, set := range [3][]string{h.sum.types, h.sum.categories, h.sum.countries} {
		s.sets[k] = make([]uint32, len(set))
		for i, v := range set {
			s.sets[k][i] = tab.id(v)
		}
	}
	s.pages = make([]pageLoc, len(h.pages))
	for i, p := range h.pages {
		s.pages[i] = pageLoc{off: uint32(p.off), crc: p.crc, end: uint32(p.first + int64(p.n) - h.first)}
		s.pagesEnd = p.off + p.size
	}
	s.setPageBits(h)
	return s
}

func summaryCRC(org int64, b *blockRef, body []byte) uint32 {
	var key [48]byte
	for i, v := range []int64{org, b.first, b.n, b.file, b.off, b.size} {
		binary.LittleEndian.PutUint64(key[8*i:], uint64(v))
	}
	return crc32.Update(crc32.Checksum(key[:], castagnoli), castagnoli, body)
}

// encodeSummary is b's summary as the catalog stores it; ids holds the
// strs table's id of each value of its sets (setIDs). A summary without
// its pages' sets (read from a version 2 row and not given them) is
// stored as version 2.
func encodeSummary(org int64, b *blockRef, ids map[uint32]int64) []byte {
	v := byte(summaryVersion)
	if b.sum.pageBits == nil {
		v = 2
	}
	return appendSummary(org, b, v, func(out []byte, i uint32) []byte {
		return binary.AppendUvarint(out, uint64(ids[i]))
	})
}

// appendSummary is b's summary in version v, each value of its sets
// (strTable index) written by value.
func appendSummary(org int64, b *blockRef, v byte, value func(out []byte, i uint32) []byte) []byte {
	s := b.sum
	out := []byte{v, s.version}
	out = binary.AppendUvarint(out, uint64(s.hl))
	for _, v := range []int64{s.minOcc, s.maxOcc, s.minRec, s.maxRec} {
		out = binary.AppendVarint(out, v)
	}
	for _, set := range s.sets {
		out = binary.AppendUvarint(out, uint64(len(set)))
		for _, i := range set {
			out = value(out, i)
		}
	}
	out = appendBytes(out, s.filter)
	out = binary.AppendUvarint(out, uint64(len(s.pages)))
	out = binary.AppendUvarint(out, uint64(s.pages[0].off))
	for i, p := range s.pages {
		out = binary.AppendUvarint(out, uint64(b.pageSize(i)))
		out = binary.AppendUvarint(out, uint64(p.end-b.pageFirst(i)))
		out = binary.LittleEndian.AppendUint32(out, p.crc)
		if v >= 3 {
			for _, bits := range s.pageSets(i) {
				out = append(out, bits...)
			}
		}
	}
	return binary.LittleEndian.AppendUint32(out, summaryCRC(org, b, out))
}

// decodeBlockSum returns the summary stored for b, or an error if it is
// missing, of another version, damaged or not b's.
func decodeBlockSum(org int64, b *blockRef, data []byte, tab *strTable) (*blockSum, error) {
	n := len(data)
	if n == 0 {
		return nil, fmt.Errorf("no summary")
	}
	if n < 2+4 || data[0] < 1 || data[0] > summaryVersion {
		return nil, fmt.Errorf("summary of version %d", data[0])
	}
	if binary.LittleEndian.Uint32(data[n-4:]) != summaryCRC(org, b, data[:n-4]) {
		return nil, fmt.Errorf("summary CRC mismatch")
	}
	r := reader{b: data[2 : n-4]}
	s := &blockSum{version: data[1], hl: int(r.int())}
	s.minOcc, s.maxOcc, s.minRec, s.maxRec = r.varint(), r.varint(), r.varint(), r.varint()
	for k := range s.sets {
		c := r.count(1)
		s.sets[k] = make([]uint32, 0, c)
		for i := 0; i < c && r.err == nil; i++ {
			if data[0] == 1 {
				s.sets[k] = append(s.sets[k], tab.id(string(r.bytes())))
				continue
			}
			id := r.int()
			v, ok := tab.fromCatalog(id)
			if !ok && r.err == nil {
				r.err = fmt.Errorf("the summary names value %d, which the catalog does not hold", id)
			}
			s.sets[k] = append(s.sets[k], v)
		}
	}
	s.filter = bloom(slices.Clone(r.bytes()))
	np := r.count(6)
	s.pages = make([]pageLoc, 0, np)
	first := r.int()
	off, end := first, int64(0)
	w := s.bitsWidths()
	if data[0] >= 3 {
		s.pageBits = make([]byte, 0, np*(w[0]+w[1]+w[2]))
	}
	for i := 0; i < np && r.err == nil; i++ {
		size, events, crc := r.int(), r.int(), r.u32()
		s.pages = append(s.pages, pageLoc{off: uint32(off), crc: crc, end: uint32(end + events)})
		off, end = off+size, end+events
		if data[0] >= 3 {
			s.pageBits = append(s.pageBits, r.fixed(w[0]+w[1]+w[2])...)
		}
	}
	s.pagesEnd = off
	if r.err == nil && (len(r.b) != 0 || end != b.n || np == 0 || first < int64(blockPrefix+s.hl) || off > b.size || s.version < 1 || s.version > blockVersion) {
		r.err = fmt.Errorf("the summary does not describe %d events in %d bytes", b.n, b.size)
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}

// wordKeys tells which word keys the block filter holds: the header's
// answer for the block's format.
func (s *blockSum) wordKeys() int {
	h := blockHeader{version: s.version}
	return h.wordKeys(true)
}

// pageFirst is the first seq of page p, from the block's first.
func (b *blockRef) pageFirst(p int) uint32 {
	if p == 0 {
		return 0
	}
	return b.sum.pages[p-1].end
}

// pageSize is the length of page p.
func (b *blockRef) pageSize(p int) int64 {
	if p+1 < len(b.sum.pages) {
		return int64(b.sum.pages[p+1].off) - int64(b.sum.pages[p].off)
	}
	return b.sum.pagesEnd - int64(b.sum.pages[p].off)
}

// idsHeader is a header holding what a lookup of the block's id
// section needs (version, length, first seq, event count): the cached
// header if there is one, else one made from the block's summary
// without a read (it has no pages, summaries or sections).
func (f *blockFiles) idsHeader(b *blockRef) (*blockHeader, error) {
	if h := b.hdr.Load(); h != nil || b.sum == nil {
		return f.header(b)
	}
	return &blockHeader{version: b.sum.version, hl: b.sum.hl, first: b.first, n: int(b.n)}, nil
}

// locate returns the page of b holding seq, where it is and the block's
// format version, from the block's summary (from its header if it has
// none).
func (f *blockFiles) locate(b *blockRef, seq int64) (int, pageInfo, byte, error) {
	if b.sum == nil {
		h, err := f.header(b)
		if err != nil {
			return 0, pageInfo{}, 0, err
		}
		p := findPage(h, seq)
		return p, h.pages[p], h.version, nil
	}
	p := b.locatePage(seq)
	return p, b.pageInfo(p), b.sum.version, nil
}

// eventAt returns the bytes of sealed event seq of b.
func (f *blockFiles) eventAt(b *blockRef, seq int64) ([]byte, error) {
	p, pi, version, err := f.locate(b, seq)
	if err != nil {
		return nil, err
	}
	events, _, err := f.readPage(b, version, p, &pi, nil, nil)
	if err != nil {
		return nil, err
	}
	return events[seq-pi.first], nil
}

// pageInfo is page p's place, CRC and seqs (no summary), from the
// block's summary.
func (b *blockRef) pageInfo(p int) pageInfo {
	first := b.pageFirst(p)
	return pageInfo{off: int64(b.sum.pages[p].off), size: b.pageSize(p), crc: b.sum.pages[p].crc,
		first: b.first + int64(first), n: int(b.sum.pages[p].end - first)}
}

// locatePage returns the page of b holding seq, from the block's summary.
func (b *blockRef) locatePage(seq int64) int {
	rel := uint32(seq - b.first)
	return sort.Search(len(b.sum.pages), func(i int) bool { return b.sum.pages[i].end > rel })
}
