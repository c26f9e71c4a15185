// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"slices"
	"strings"
)

// A block of format 2 has two word sections, read only by searches for
// words (block.go has where they are); its header's filter holds its
// words and their first 3, 4, 5, 6, 7 and 8 bytes, so a block where a searched
// word (or word prefix) cannot occur is skipped without reading more.
//
// The pair filter is a Bloom filter (filter.go) over the block's pairs
// of consecutive words, read for phrases.
//
// The word dictionary is a zstd frame of the block's distinct words, cut
// to their first dictWordBytes bytes, sorted, each with the pages that
// hold it:
//
//	uvarint entry count
//	per entry: uvarint bytes shared with the previous entry,
//	           uvarint length of the rest, the rest,
//	           uvarint length of the page list, the page list:
//	           uvarint first page, then uvarint gaps (page - previous page - 1)
//
// A word is then looked up exactly (an entry equal to its cut form) and
// a word prefix as the sorted range of entries that begin with it, so a
// page whose events hold none of a text term's words is skipped exactly,
// however common the word's first bytes are in other blocks or pages.
const dictWordBytes = 8

// cutWord is a word's form in a dictionary.
func cutWord(w string) string { return w[:min(len(w), dictWordBytes)] }

// dictBuilder collects a block's distinct words, the pages holding each
// and the block's distinct pairs of consecutive words, in one map lookup
// per word; it is reused from block to block (blockBuilder).
type dictBuilder struct {
	ids   map[string]int32 // word → index in words
	words []dictWord
	links []pageLink // the words' page lists, linked
	pairs pairSet    // word index pairs
	order []int32    // word indexes in word order (sortWords)
	buf   []byte     // scratch
	list  []int32    // scratch
}

type dictWord struct {
	w          string
	last       int32 // the last page noted, -1 at first
	head, tail int32 // the first and last of its page list in links
}

type pageLink struct{ page, next int32 }

func (d *dictBuilder) reset() {
	if d.ids == nil {
		d.ids = map[string]int32{}
	}
	clear(d.ids)
	clear(d.words) // keeps no event's strings alive
	d.words, d.links, d.order = d.words[:0], d.links[:0], d.order[:0]
	d.pairs.reset()
}

// add notes that page holds the words, in this order (pages are added in
// order).
func (d *dictBuilder) add(page int32, words []string) {
	prev := int32(-1)
	for _, w := range words {
		id, ok := d.ids[w]
		if !ok {
			id = int32(len(d.words))
			d.ids[w] = id
			d.words = append(d.words, dictWord{w: w, last: -1, head: -1})
		}
		e := &d.words[id]
		if e.last != page {
			e.last = page
			l := int32(len(d.links))
			d.links = append(d.links, pageLink{page: page, next: -1})
			if e.head < 0 {
				e.head = l
			} else {
				d.links[e.tail].next = l
			}
			e.tail = l
		}
		if prev >= 0 {
			d.pairs.add(uint64(prev)<<32 | uint64(id))
		}
		prev = id
	}
}

// sortWords puts the word indexes in the words' order.
func (d *dictBuilder) sortWords() {
	d.order = d.order[:0]
	for i := range d.words {
		d.order = append(d.order, int32(i))
	}
	slices.SortFunc(d.order, func(a, b int32) int { return strings.Compare(d.words[a].w, d.words[b].w) })
}

// wordKeys calls add with the block filter's word keys (wordKeys of each
// word), each once: the words are sorted, so the words sharing a prefix
// follow each other. sortWords first.
func (d *dictBuilder) wordKeys(add func(kind byte, v string)) {
	prev := ""
	for _, id := range d.order {
		w := d.words[id].w
		shared := 0
		for shared < min(len(w), len(prev), 8) && w[shared] == prev[shared] {
			shared++
		}
		add(keyWord, w)
		for n := max(3, shared+1); n <= min(len(w), 8); n++ {
			add(byte('0'+n), w[:n])
		}
		prev = w
	}
}

// encode returns the dictionary (before compression): the words cut to
// dictWordBytes, each cut form with the pages of all the words that have
// it. sortWords first.
func (d *dictBuilder) encode() []byte {
	var body []byte
	entries := 0
	prev := ""
	var list []byte
	for i := 0; i < len(d.order); {
		k := cutWord(d.words[d.order[i]].w)
		// The words with this cut form follow each other.
		j := i + 1
		for j < len(d.order) && cutWord(d.words[d.order[j]].w) == k {
			j++
		}
		pages := d.list[:0]
		for _, id := range d.order[i:j] {
			for l := d.words[id].head; l >= 0; l = d.links[l].next {
				pages = append(pages, d.links[l].page)
			}
		}
		if j-i > 1 {
			slices.Sort(pages)
			pages = slices.Compact(pages)
		}
		d.list = pages
		shared := 0
		for shared < min(len(k), len(prev)) && k[shared] == prev[shared] {
			shared++
		}
		body = binary.AppendUvarint(body, uint64(shared))
		body = appendBytes(body, []byte(k[shared:]))
		list = list[:0]
		last := int32(-1)
		for _, p := range pages {
			list = binary.AppendUvarint(list, uint64(p-last-1))
			last = p
		}
		body = appendBytes(body, list)
		prev = k
		entries++
		i = j
	}
	return append(binary.AppendUvarint(make([]byte, 0, len(body)+binary.MaxVarintLen64), uint64(entries)), body...)
}

// pairFilter is the block's pair filter: a Bloom filter of the pairHash
// of each distinct pair of consecutive words.
func (d *dictBuilder) pairFilter() bloom {
	b := newBloom(d.pairs.n)
	for _, k := range d.pairs.slots {
		if k == 0 {
			continue
		}
		k--
		x, y := d.words[k>>32].w, d.words[uint32(k)].w
		d.buf = appendPair(d.buf[:0], x, y)
		b.add(pairKey(d.buf))
	}
	return b
}

// pairSet is a set of uint64 keys (open addressing, linear probing),
// reused from block to block.
type pairSet struct {
	slots []uint64 // key+1; 0: empty
	shift uint     // 64 - log2(len(slots))
	n     int
}

func (s *pairSet) reset() {
	clear(s.slots)
	s.n = 0
}

func (s *pairSet) add(k uint64) {
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	s.put(k + 1)
}

func (s *pairSet) put(k uint64) {
	mask := uint64(len(s.slots) - 1)
	for i := (k * 0x9e3779b97f4a7c15) >> s.shift; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case k:
			return
		case 0:
			s.slots[i] = k
			s.n++
			return
		}
	}
}

func (s *pairSet) grow() {
	old := s.slots
	size := max(1024, 2*len(old))
	s.slots, s.shift, s.n = make([]uint64, size), uint(64-bits.TrailingZeros(uint(size))), 0
	for _, k := range old {
		if k != 0 {
			s.put(k)
		}
	}
}

// wordDict is a decompressed dictionary, read entry by entry when a word
// is looked up (no entry is copied).
type wordDict struct {
	entries []byte // past the entry count
	n       int
	pages   int // the block's page count
}

// decodeDict checks and decompresses a block's dictionary.
func decodeDict(comp []byte, sec section, pages int) (*wordDict, error) {
	if crc32.Checksum(comp, castagnoli) != sec.crc {
		return nil, fmt.Errorf("word dictionary CRC mismatch")
	}
	raw, err := zdec.DecodeAll(comp, nil)
	if err != nil {
		return nil, fmt.Errorf("word dictionary does not decompress: %w", err)
	}
	r := reader{b: raw}
	n := r.count(3)
	if r.err != nil {
		return nil, r.err
	}
	return &wordDict{entries: r.b, n: n, pages: pages}, nil
}

// each calls fn with the entries in order, checking each, until fn
// returns false; the key is valid only during the call.
func (d *wordDict) each(fn func(key, list []byte) bool) error {
	r := reader{b: d.entries}
	var key []byte
	for i := 0; i < d.n; i++ {
		shared := r.int()
		rest := r.bytes()
		list := r.bytes()
		if r.err != nil {
			return r.err
		}
		if shared > int64(len(key)) || len(rest) == 0 && i > 0 {
			return fmt.Errorf("word dictionary entry %d shares %d bytes with a %d-byte entry", i, shared, len(key))
		}
		if i > 0 && int(shared) < len(key) && rest[0] <= key[shared] {
			return fmt.Errorf("word dictionary entry %d is out of order", i)
		}
		key = append(key[:shared], rest...)
		if !fn(key, list) {
			return nil
		}
	}
	if len(r.b) != 0 {
		return fmt.Errorf("word dictionary has %d bytes past its entries", len(r.b))
	}
	return nil
}

// pageSet is a set of a block's pages.
type pageSet []uint64

func newPageSet(n int) pageSet { return make(pageSet, (n+63)/64) }

func (s pageSet) add(p int)      { s[p/64] |= 1 << (p % 64) }
func (s pageSet) has(p int) bool { return s[p/64]&(1<<(p%64)) != 0 }

// intersect keeps in s the pages that are in o too.
func (s pageSet) intersect(o pageSet) {
	for i := range s {
		s[i] &= o[i]
	}
}

func (s pageSet) empty() bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}

// addList adds the pages of a page list to s.
func (d *wordDict) addList(list []byte, s pageSet) error {
	r := reader{b: list}
	p := -1
	for len(r.b) > 0 && r.err == nil {
		p += int(r.int()) + 1
		if p >= d.pages {
			return fmt.Errorf("word dictionary names page %d of %d", p, d.pages)
		}
		s.add(p)
	}
	return r.err
}

// word returns the pages that may hold w, a whole word (prefix false) or
// the beginning of one: the entries equal to its cut form, or beginning
// with it (sorted, so they follow each other).
func (d *wordDict) word(w string, prefix bool) (pageSet, error) {
	s := newPageSet(d.pages)
	k := cutWord(w)
	exact := !prefix || len(w) >= dictWordBytes
	var err error
	werr := d.each(func(key, list []byte) bool {
		if exact && string(key) == k || !exact && strings.HasPrefix(string(key), k) {
			err = d.addList(list, s)
			return err == nil && !exact
		}
		return string(key) < k
	})
	return s, errors.Join(werr, err)
}

// pages returns the pages that may hold an event matching the text term
// t (positive): the pages that hold every one of its words.
func (d *wordDict) termPages(t *term) (pageSet, error) {
	var out pageSet
	for i, w := range t.words {
		s, err := d.word(w, i == len(t.words)-1 && !t.Phrase)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = s
		} else {
			out.intersect(s)
		}
	}
	return out, nil
}

// pairFilterOf reads and checks a block's pair filter.
func (f *blockFiles) pairFilterOf(b *blockRef, h *blockHeader) (bloom, error) {
	raw, err := f.read(b, h.pairs.off, h.pairs.size)
	if err != nil {
		return nil, err
	}
	if crc32.Checksum(raw, castagnoli) != h.pairs.crc {
		return nil, damaged(b, fmt.Errorf("pair filter CRC mismatch"))
	}
	return bloom(raw), nil
}

// dictOf reads and decodes a block's word dictionary.
func (f *blockFiles) dictOf(b *blockRef, h *blockHeader) (*wordDict, error) {
	raw, err := f.read(b, h.dict.off, h.dict.size)
	if err != nil {
		return nil, err
	}
	d, err := decodeDict(raw, h.dict, len(h.pages))
	if err != nil {
		return nil, damaged(b, err)
	}
	return d, nil
}
