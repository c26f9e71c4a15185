// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"sync"
)

// A sealed block holds consecutive events of one org:
//
//	"TRLB" | version (1 byte) | header length H (u32) | CRC-32C of header (u32)
//	header (H bytes, blockHeader.encode)
//	id section, version 1 and 2: n sorted xxh64(id) (u64) | n rows (u16) | n content-hash prefixes (u64) | CRC-32C (u32)
//	id section, version 3: n xxh64(id) cut to 32 bits (u32) | n content-hash prefixes (u64), both in row order | CRC-32C (u32)
//	id section, version 4: n xxh64(id) cut to 32 bits (u32) in row order | the rest's length (u32) |
//	       the rest: each event's hash bits (encodeFlags) and the full content hashes of the events
//	       whose bytes do not give theirs back (a redacted event) | CRC-32C (u32); see ids.go
//	versions 2 to 4: pair filter (Bloom) | word dictionary (zstd frame) | columns (zstd frame)
//	pages: each the zstd frame of up to PageEvents events (uvarint length + canonical bytes each);
//	       versions 3 and 4: with the dictionary pagedict1.zdict or without one, page by page
//	       (the page level's pageEncoder, page.go), and each event's bytes without the digits
//	       of its seq (appendPageEvent)
//
// Integers are little-endian; the header is uvarint/varint encoded. Each
// page's offset, length and CRC-32C are in the header, with its summary;
// in version 2 so are the word filter's and dictionary's lengths and
// CRC-32Cs. Version 1 blocks (whose Bloom filters hold the words too, and
// which have no word sections) are still read.
const (
	blockMagic   = "TRLB"
	blockVersion = 4
	blockPrefix  = 13
	// maxBlockEvents keeps rows in a u16.
	maxBlockEvents = 1 << 16
)

// summary is what a query tests before it reads a block or page.
type summary struct {
	minOcc, maxOcc, minRec, maxRec int64
	types, categories, countries   []string // sorted sets (blocks only)
	// bits (pages only): which of the block's types, categories and
	// countries the page holds, a bitset over each sorted set.
	bits [3][]byte
	// filter: version 1, every doc key of the events; version 2, their
	// actor and target keys, and for the block also their word keys
	// (doc.wordKeys). A version 3 block's header holds no block filter
	// (its catalog summary does, summary.go): nil there, which may match
	// every key.
	filter bloom
}

type pageInfo struct {
	off, size int64 // within the block
	crc       uint32
	first     int64 // seq of its first event
	n         int
	sum       summary
}

type blockHeader struct {
	version byte
	hl      int // header length, set when read
	// idLen is the id section's length (version 4; fixed by n before).
	idLen int64
	// filterOut is the length of the block filter taken out of sum when
	// the header is cached (the block's summary holds it).
	filterOut int
	first     int64
	n         int
	sum       summary
	pages     []pageInfo
	// Version 2: the word sections, between the id section and the pages.
	pairs   section // Bloom over the block's pairs of consecutive words
	dict    section // the sorted word dictionary with its pages (dict.go)
	columns section // each event's type, category, country and actor (columns.go)
}

// section is a part of a block checked by its own CRC-32C.
type section struct {
	off, size int64
	crc       uint32
}

// wordKeys tells which word keys the block's (block true) or its pages'
// filters hold: keysV1, keysV2 or none (0).
func (h *blockHeader) wordKeys(block bool) int {
	switch {
	case h.version == 1:
		return keysV1
	case block:
		return keysV2
	}
	return 0
}

// Word keys in filters: those of block format 1 (doc.go's keyWord,
// keyPrefix3, keyPrefix5) or 2 (doc.wordKeys: every prefix of 3 to 8 bytes).
const (
	keysV1 = 1
	keysV2 = 2
)

// idsSize is the length of the id section of a block of n events in
// format version v, up to 3 (version 4's is in the header).
func idsSize(v byte, n int) int64 {
	if v >= 3 {
		return int64(n)*12 + 4
	}
	return int64(n)*18 + 4
}

// idsSize is the length of h's id section.
func (h *blockHeader) idsSize() int64 {
	if h.version >= 4 {
		return h.idLen
	}
	return idsSize(h.version, h.n)
}

// idsOff is where the id section starts within the block.
func (h *blockHeader) idsOff(headerLen int) int64 { return int64(blockPrefix + headerLen) }

// sealEvent is one event going into a block.
type sealEvent struct {
	data []byte
	doc  *doc
	id   string
	// hash is the event's content hash (its first 8 bytes alone when bits
	// is hashPrefix), and bits how data gives it back (ids.go).
	hash [32]byte
	bits hashBits
}

// buildBlock encodes events (seqs first…) as a block of the current
// version, its pages compressed at the default page level.
func buildBlock(first int64, events []sealEvent, pageEvents int) ([]byte, *blockHeader, error) {
	return buildBlockOf(blockVersion, first, events, pageEvents, PageLevelDefault.encoder())
}

// buildBlockOf is buildBlock in format version 3 or 4 (they differ in
// the id section alone: an erasure rewrites a block of version 3 or
// before, which keeps content-hash prefixes only, in version 3), with the
// pages compressed by zp (a page level's: PageLevel.encoder).
func buildBlockOf(version byte, first int64, events []sealEvent, pageEvents int, zp pageEncoder) ([]byte, *blockHeader, error) {
	if len(events) == 0 || len(events) > maxBlockEvents {
		return nil, nil, fmt.Errorf("logstore: a block holds 1 to %d events, not %d", maxBlockEvents, len(events))
	}
	h := &blockHeader{version: version, first: first, n: len(events)}
	bb := builders.Get().(*blockBuilder)
	defer bb.release()
	pages := bb.pages[:0]
	h.sum = newSummary()
	for start := 0; start < len(events); start += pageEvents {
		part := events[start:min(start+pageEvents, len(events))]
		page := int32(len(h.pages))
		raw := bb.raw[:0]
		bb.pk = bb.pk[:0]
		ps := newSummary()
		for j, e := range part {
			var err error
			if raw, err = appendPageEvent(raw, e.data, first+int64(start+j)); err != nil {
				return nil, nil, err
			}
			e.doc.fieldKeys(bb.pk.add)
			bb.dict.add(page, e.doc.words)
			bb.cols.add(page, e.doc)
			ps.widen(e.doc)
		}
		bb.raw = raw
		off := len(pages)
		pages = zp.encode(raw, pages)
		comp := pages[off:]
		ps.filter = bb.pk.bloom()
		bb.blockKeys = append(bb.blockKeys, bb.pk...) // sorted and distinct by bloom
		h.sum.minOcc, h.sum.maxOcc = min(h.sum.minOcc, ps.minOcc), max(h.sum.maxOcc, ps.maxOcc)
		h.sum.minRec, h.sum.maxRec = min(h.sum.minRec, ps.minRec), max(h.sum.maxRec, ps.maxRec)
		h.pages = append(h.pages, pageInfo{off: int64(off), size: int64(len(comp)),
			crc: crc32.Checksum(comp, castagnoli), first: first + int64(start), n: len(part), sum: ps})
	}
	bb.pages = pages
	sets := bb.cols.sets()
	h.sum.types, h.sum.categories, h.sum.countries = sets[0], sets[1], sets[2]
	for i := range h.pages {
		h.pages[i].sum.bits = bb.cols.pageBits(i)
	}
	bb.dict.sortWords()
	bb.dict.wordKeys(bb.blockKeys.add)
	h.sum.filter = bb.blockKeys.bloom()
	var ids []byte
	if version >= 4 {
		ids = encodeIDs4(events)
		h.idLen = int64(len(ids))
	} else {
		ids = encodeIDs(events)
	}
	pairBytes := []byte(bb.dict.pairFilter())
	dictBytes := zenc.EncodeAll(bb.dict.encode(), nil)
	colBytes := zenc.EncodeAll(bb.cols.encode(), nil)
	rel := make([]int64, len(h.pages))
	for i := range h.pages {
		rel[i] = h.pages[i].off
	}
	// Sections and pages are placed from the block's start, past the
	// header that holds their offsets: encode until its length settles.
	hdr := h.encode()
	for {
		base := int64(blockPrefix+len(hdr)) + int64(len(ids))
		h.pairs = section{off: base, size: int64(len(pairBytes)), crc: crc32.Checksum(pairBytes, castagnoli)}
		base += h.pairs.size
		h.dict = section{off: base, size: int64(len(dictBytes)), crc: crc32.Checksum(dictBytes, castagnoli)}
		base += h.dict.size
		h.columns = section{off: base, size: int64(len(colBytes)), crc: crc32.Checksum(colBytes, castagnoli)}
		base += h.columns.size
		for i := range h.pages {
			h.pages[i].off = rel[i] + base
		}
		next := h.encode()
		if len(next) == len(hdr) {
			hdr = next
			break
		}
		hdr = next
	}
	h.hl = len(hdr)
	out := make([]byte, 0, blockPrefix+len(hdr)+len(ids)+len(pairBytes)+len(dictBytes)+len(colBytes)+len(pages))
	out = append(out, blockMagic...)
	out = append(out, version)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(hdr)))
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(hdr, castagnoli))
	out = append(out, hdr...)
	out = append(out, ids...)
	out = append(out, pairBytes...)
	out = append(out, dictBytes...)
	out = append(out, colBytes...)
	return append(out, pages...), h, nil
}

// blockFilter is the block filter of events whose actor and target keys
// are keys (reused) and whose words are words: the keys buildBlock puts
// in it (the dictionary's wordKeys gives the same word keys), for a
// summary rebuilt from a block's events.
func blockFilter(keys keySet, words map[string]struct{}) bloom {
	for w := range words {
		wordKeys(w, keys.add)
	}
	return keys.bloom()
}

// blockBuilder is buildBlock's working state, reused from block to block
// (builders): maps and buffers sized by the blocks before.
type blockBuilder struct {
	dict          dictBuilder
	cols          columnBuilder
	raw, pages    []byte
	pk, blockKeys keySet
}

var builders = sync.Pool{New: func() any {
	b := &blockBuilder{}
	b.dict.reset()
	b.cols.reset()
	return b
}}

// maxKeptPages bounds the page buffer a pooled builder keeps.
const maxKeptPages = 16 << 20

// release empties b and returns it to builders.
func (b *blockBuilder) release() {
	b.dict.reset()
	b.cols.reset()
	b.pk, b.blockKeys = b.pk[:0], b.blockKeys[:0]
	if cap(b.pages) > maxKeptPages || cap(b.raw) > maxKeptPages {
		b.pages, b.raw = nil, nil
	}
	builders.Put(b)
}

func newSummary() summary {
	return summary{minOcc: 1<<63 - 1, maxOcc: -1 << 63, minRec: 1<<63 - 1, maxRec: -1 << 63}
}

func (s *summary) widen(d *doc) {
	s.minOcc, s.maxOcc = min(s.minOcc, d.occurred), max(s.maxOcc, d.occurred)
	s.minRec, s.maxRec = min(s.minRec, d.received), max(s.maxRec, d.received)
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// encodeIDs builds the id section (version 3): lookups scan the 32-bit id
// hashes, then confirm the id against the event's bytes.
func encodeIDs(events []sealEvent) []byte {
	out := make([]byte, 0, idsSize(3, len(events)))
	for _, e := range events {
		out = binary.LittleEndian.AppendUint32(out, idHash32(e.id))
	}
	for _, e := range events {
		out = binary.LittleEndian.AppendUint64(out, chashOf(e.hash))
	}
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

func (h *blockHeader) encode() []byte {
	var b []byte
	b = binary.AppendUvarint(b, uint64(h.first))
	b = binary.AppendUvarint(b, uint64(h.n))
	if h.version >= 4 {
		b = binary.AppendUvarint(b, uint64(h.idLen))
	}
	b = h.sum.encode(b, true, h.version < 3)
	b = binary.AppendUvarint(b, uint64(len(h.pages)))
	for _, p := range h.pages {
		b = binary.AppendUvarint(b, uint64(p.off))
		b = binary.AppendUvarint(b, uint64(p.size))
		b = binary.LittleEndian.AppendUint32(b, p.crc)
		b = binary.AppendUvarint(b, uint64(p.n))
		b = p.sum.encode(b, false, true)
	}
	if h.version >= 2 {
		for _, sec := range []section{h.pairs, h.dict, h.columns} {
			b = binary.AppendUvarint(b, uint64(sec.size))
			b = binary.LittleEndian.AppendUint32(b, sec.crc)
		}
	}
	return b
}

// encode appends s; filter false leaves its filter out (a version 3
// block's own summary).
func (s *summary) encode(b []byte, sets, filter bool) []byte {
	for _, v := range []int64{s.minOcc, s.maxOcc, s.minRec, s.maxRec} {
		b = binary.AppendVarint(b, v)
	}
	if sets {
		for _, set := range [][]string{s.types, s.categories, s.countries} {
			b = binary.AppendUvarint(b, uint64(len(set)))
			for _, v := range set {
				b = appendBytes(b, []byte(v))
			}
		}
	} else {
		for _, bits := range s.bits {
			b = appendBytes(b, bits)
		}
	}
	if !filter {
		return b
	}
	return appendBytes(b, s.filter)
}

func decodeSummary(r *reader, sets, filter bool) summary {
	var s summary
	s.minOcc, s.maxOcc, s.minRec, s.maxRec = r.varint(), r.varint(), r.varint(), r.varint()
	if sets {
		for _, set := range []*[]string{&s.types, &s.categories, &s.countries} {
			n := r.count(1)
			for i := 0; i < n && r.err == nil; i++ {
				*set = append(*set, r.string())
			}
		}
	} else {
		for k := range s.bits {
			s.bits[k] = r.bytes()
		}
	}
	if filter {
		s.filter = bloom(r.bytes())
	}
	return s
}

// decodeHeader parses the block prefix and header at the start of b (at
// least blockPrefix bytes; headerLen tells how many more it needs). size
// is the block's length, against which the page offsets are checked.
func decodeHeader(b []byte, size int64) (*blockHeader, int, error) {
	if len(b) < blockPrefix || string(b[:4]) != blockMagic {
		return nil, 0, fmt.Errorf("logstore: not a block (bad magic)")
	}
	if b[4] < 1 || b[4] > blockVersion {
		return nil, 0, fmt.Errorf("logstore: block format version %d; this trail binary reads versions 1 to %d", b[4], blockVersion)
	}
	hl := int(binary.LittleEndian.Uint32(b[5:]))
	if hl > len(b)-blockPrefix {
		return nil, hl, fmt.Errorf("logstore: block header of %d bytes is cut short", hl)
	}
	hdr := b[blockPrefix : blockPrefix+hl]
	if crc32.Checksum(hdr, castagnoli) != binary.LittleEndian.Uint32(b[9:]) {
		return nil, hl, fmt.Errorf("logstore: block header CRC mismatch")
	}
	r := reader{b: hdr}
	h := &blockHeader{version: b[4], first: r.int(), n: int(r.int())}
	if h.version >= 4 {
		if h.idLen = r.int(); r.err == nil && h.idLen < 4*int64(h.n)+8 {
			r.err = fmt.Errorf("logstore: an id section of %d bytes for %d events", h.idLen, h.n)
		}
	}
	h.sum = decodeSummary(&r, true, h.version < 3)
	np := r.count(8)
	var infos []pageInfo
	for i := 0; i < np && r.err == nil; i++ {
		p := pageInfo{off: r.int(), size: r.int(), crc: r.u32(), n: int(r.int())}
		p.sum = decodeSummary(&r, false, true)
		infos = append(infos, p)
	}
	next := int64(blockPrefix+hl) + h.idsSize()
	if h.version >= 2 {
		for _, sec := range []*section{&h.pairs, &h.dict, &h.columns} {
			sec.off, sec.size, sec.crc = next, r.int(), r.u32()
			next += sec.size
		}
		if r.err == nil && next > size {
			r.err = fmt.Errorf("logstore: block word sections end at %d, past the block's %d bytes", next, size)
		}
	}
	seq := h.first
	for i := 0; i < len(infos) && r.err == nil; i++ {
		p := infos[i]
		p.first = seq
		for k, dict := range [3][]string{h.sum.types, h.sum.categories, h.sum.countries} {
			if r.err == nil && len(p.sum.bits[k]) != (len(dict)+7)/8 {
				r.err = fmt.Errorf("logstore: block page %d has a set of %d bytes for %d values", i, len(p.sum.bits[k]), len(dict))
			}
		}
		if r.err == nil && (p.off != next || p.size <= 0 || p.off+p.size > size || p.n <= 0) {
			r.err = fmt.Errorf("logstore: block page %d at %d+%d is out of place", i, p.off, p.size)
		}
		next, seq = p.off+p.size, seq+int64(p.n)
		h.pages = append(h.pages, p)
	}
	if r.err == nil && (h.n <= 0 || h.n > maxBlockEvents || seq != h.first+int64(h.n) || next != size || len(r.b) != 0) {
		r.err = fmt.Errorf("logstore: block header does not describe %d events in %d bytes", h.n, size)
	}
	return h, hl, r.err
}

// decodePage checks and decompresses page p of a block of format version
// and splits it into events, which alias the returned buffer (buf, grown).
func decodePage(comp []byte, version byte, p *pageInfo, buf []byte) ([][]byte, []byte, error) {
	if version < 3 {
		raw, err := pageContent(comp, p, buf)
		if err != nil {
			return nil, buf, err
		}
		events, _, err := splitPage(raw, version, p, nil, nil)
		return events, raw, err
	}
	// Version 3: the content into scratch, then each event with its seq's
	// digits into buf (grown first: events point into it).
	scratch := pageScratch.Get().(*pageParts)
	defer pageScratch.Put(scratch)
	var err error
	if scratch.content, err = pageContent(comp, p, scratch.content); err != nil {
		return nil, buf, err
	}
	if scratch.events, scratch.at, err = splitPage(scratch.content, version, p, scratch.events, scratch.at); err != nil {
		return nil, buf, err
	}
	out := slices.Grow(buf[:0], len(scratch.content)+20*len(scratch.events))
	events := make([][]byte, 0, len(scratch.events))
	for i, e := range scratch.events {
		start := len(out)
		out = appendWithSeq(out, e, scratch.at[i], p.first+int64(i))
		events = append(events, out[start:])
	}
	clear(scratch.events)
	return events, out, nil
}

// checkCRC checks a page's compressed bytes against its CRC-32C.
func (p *pageInfo) checkCRC(comp []byte) error {
	if crc32.Checksum(comp, castagnoli) != p.crc {
		return fmt.Errorf("page CRC mismatch")
	}
	return nil
}

// Version 3 pages hold each event without the digits of its seq (the
// page's first seq plus its index: appendPageEvent), which
// decodePageInto and a walk's pages (search.go) put back
// (appendWithSeq). The digits follow the first `,"seq":` of the canonical bytes:
// the id before it is a JSON string, which cannot hold `,"`.
var seqKey = []byte(`,"seq":`)

// pageParts is decodePageInto's scratch: a version 3 page's content and
// its events' places.
type pageParts struct {
	content []byte
	events  [][]byte
	at      []int
}

var pageScratch = sync.Pool{New: func() any { return new(pageParts) }}

// appendPageEvent appends the event of seq with canonical bytes data to
// a version 3 page's content: uvarint length, then the bytes without the
// seq's digits.
func appendPageEvent(dst, data []byte, seq int64) ([]byte, error) {
	var num [20]byte
	digits := strconv.AppendInt(num[:0], seq, 10)
	at := bytes.Index(data, seqKey) + len(seqKey)
	end := at + len(digits)
	if at < len(seqKey) || end >= len(data) || !bytes.Equal(data[at:end], digits) || isDigit(data[end]) {
		return dst, fmt.Errorf("logstore: the event of seq %d does not hold its seq", seq)
	}
	dst = binary.AppendUvarint(dst, uint64(len(data)-len(digits)))
	dst = append(dst, data[:at]...)
	return append(dst, data[end:]...), nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// idSection is a block's id section decoded: the 32-bit id hashes
// (versions 1 and 2 keep 64, of which the filters use the low 32) with
// the row of each (rows in order from version 3), and what confirms a
// retry: versions 1 to 3, the content-hash prefix of each (in the order
// of hashes); version 4, each row's hash bits, and the full hashes of
// the rows whose bytes do not give theirs back.
type idSection struct {
	hashes []uint32
	rows   []uint16
	prefix []uint64
	flags  []hashBits
	full   map[int][32]byte
}

// decodeIDs parses the id section of a block of n events in format
// version v.
func decodeIDs(b []byte, v byte, n int) (*idSection, error) {
	if v < 4 && int64(len(b)) != idsSize(v, n) || len(b) < 4*n+8 {
		return nil, fmt.Errorf("id section of %d bytes for %d events", len(b), n)
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, fmt.Errorf("id section CRC mismatch")
	}
	x := &idSection{hashes: make([]uint32, n), rows: make([]uint16, n)}
	if v >= 4 {
		for i := range n {
			x.hashes[i] = binary.LittleEndian.Uint32(body[4*i:])
			x.rows[i] = uint16(i)
		}
		rest := body[4*n:]
		if int(binary.LittleEndian.Uint32(rest)) != len(rest)-4 {
			return nil, fmt.Errorf("id section: its rest of %d bytes says %d", len(rest)-4, binary.LittleEndian.Uint32(rest))
		}
		var err error
		x.flags, x.full, err = decodeRetry(rest[4:], n)
		return x, err
	}
	x.prefix = make([]uint64, n)
	for i := range n {
		if v >= 3 {
			x.hashes[i] = binary.LittleEndian.Uint32(body[4*i:])
			x.rows[i] = uint16(i)
			x.prefix[i] = binary.LittleEndian.Uint64(body[4*n+8*i:])
			continue
		}
		x.hashes[i] = uint32(binary.LittleEndian.Uint64(body[8*i:]))
		x.rows[i] = binary.LittleEndian.Uint16(body[8*n+2*i:])
		x.prefix[i] = binary.LittleEndian.Uint64(body[10*n+8*i:])
	}
	return x, nil
}
