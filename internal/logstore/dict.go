// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"sort"
	"strings"
)

// A block of format 2 has two word sections, read only by searches for
// words (block.go has where they are); its header's filter holds its
// words and their first 3, 5 and 8 bytes, so a block where a searched
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

// dictBuilder collects a block's words and their pages.
type dictBuilder map[string][]int

// add notes that page holds the words (pages are added in order).
func (d dictBuilder) add(page int, words []string) {
	for _, w := range words {
		k := cutWord(w)
		if ps := d[k]; len(ps) == 0 || ps[len(ps)-1] != page {
			d[k] = append(ps, page)
		}
	}
}

func (d dictBuilder) encode() []byte {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := binary.AppendUvarint(nil, uint64(len(keys)))
	prev := ""
	var list []byte
	for _, k := range keys {
		shared := 0
		for shared < min(len(k), len(prev)) && k[shared] == prev[shared] {
			shared++
		}
		b = binary.AppendUvarint(b, uint64(shared))
		b = appendBytes(b, []byte(k[shared:]))
		list = list[:0]
		last := -1
		for _, p := range d[k] {
			list = binary.AppendUvarint(list, uint64(p-last-1))
			last = p
		}
		b = appendBytes(b, list)
		prev = k
	}
	return b
}

// wordDict is a decoded dictionary: its entries in order, and each
// entry's page list (still encoded; checked when used).
type wordDict struct {
	keys  []string
	lists [][]byte
	pages int // the block's page count
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
	d := &wordDict{keys: make([]string, 0, n), lists: make([][]byte, 0, n), pages: pages}
	var prev []byte
	for i := 0; i < n && r.err == nil; i++ {
		shared := r.int()
		rest := r.bytes()
		list := r.bytes()
		if r.err != nil {
			break
		}
		if shared > int64(len(prev)) || len(rest) == 0 && i > 0 {
			return nil, fmt.Errorf("word dictionary entry %d shares %d bytes with a %d-byte entry", i, shared, len(prev))
		}
		key := append(slices.Clip(prev[:shared]), rest...)
		if i > 0 && bytes.Compare(key, prev) <= 0 {
			return nil, fmt.Errorf("word dictionary entry %d is out of order", i)
		}
		d.keys = append(d.keys, string(key))
		d.lists = append(d.lists, list)
		prev = key
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("word dictionary has %d bytes past its entries", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return d, nil
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

// addList adds the pages of entry i to s.
func (d *wordDict) addList(i int, s pageSet) error {
	r := reader{b: d.lists[i]}
	p := -1
	for len(r.b) > 0 && r.err == nil {
		p += int(r.int()) + 1
		if p >= d.pages {
			return fmt.Errorf("word dictionary entry %d names page %d of %d", i, p, d.pages)
		}
		s.add(p)
	}
	return r.err
}

// word returns the pages that may hold w, a whole word (prefix false) or
// the beginning of one.
func (d *wordDict) word(w string, prefix bool) (pageSet, error) {
	s := newPageSet(d.pages)
	k := cutWord(w)
	exact := !prefix || len(w) >= dictWordBytes
	i := sort.SearchStrings(d.keys, k)
	for ; i < len(d.keys); i++ {
		if exact && d.keys[i] != k || !exact && !strings.HasPrefix(d.keys[i], k) {
			break
		}
		if err := d.addList(i, s); err != nil {
			return nil, err
		}
	}
	return s, nil
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
