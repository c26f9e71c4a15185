// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"

	"github.com/trailaudit/trail/internal/audit"
)

// A block of format 2 has a columns section: each event's type,
// category, country and actor, so that a search combining them (type and
// actor, say, with or without words) skips a page none of whose events
// has the combination, without decoding the page. It is a zstd frame of
//
//	uvarint actor count, then per actor: length-prefixed id, length-prefixed name
//	per event, in seq order: uvarint index in the block's sorted types,
//	  categories and countries (block summary), and in the actors above
//
// It is read only by searches that combine such a field with another term.

// columnBuilder collects a block's columns and, per page, which types,
// categories and countries it holds; reused from block to block
// (blockBuilder).
type columnBuilder struct {
	vals   [3]map[string]int32 // type, category, country → index in names
	names  [3][]string         // in order of first use
	seen   [3][]int32          // per name, the last page it was noted on + 1
	onPage [3][]int32          // per page, the names it holds (from pageAt)
	pageAt [][3]int32          // per page, where its names start in onPage
	actors map[[2]string]int32
	order  [][2]string
	rows   []int32    // per event: its type, category, country, actor
	sorted [3][]int32 // per name, its index in the sorted set (sets)
}

func (c *columnBuilder) reset() {
	for k := range c.vals {
		if c.vals[k] == nil {
			c.vals[k] = map[string]int32{}
		}
		clear(c.vals[k])
		clear(c.names[k])
		c.names[k], c.seen[k], c.onPage[k] = c.names[k][:0], c.seen[k][:0], c.onPage[k][:0]
	}
	if c.actors == nil {
		c.actors = map[[2]string]int32{}
	}
	clear(c.actors)
	clear(c.order)
	c.order, c.rows, c.pageAt = c.order[:0], c.rows[:0], c.pageAt[:0]
}

// add notes the next event's values; page is its page (pages in order).
func (c *columnBuilder) add(page int32, d *doc) {
	if int(page) == len(c.pageAt) {
		c.pageAt = append(c.pageAt, [3]int32{int32(len(c.onPage[0])), int32(len(c.onPage[1])), int32(len(c.onPage[2]))})
	}
	for k, v := range [3]string{d.typ, d.category, d.country} {
		i, ok := c.vals[k][v]
		if !ok {
			i = int32(len(c.names[k]))
			c.vals[k][v] = i
			c.names[k] = append(c.names[k], v)
			c.seen[k] = append(c.seen[k], 0)
		}
		if c.seen[k][i] != page+1 {
			c.seen[k][i] = page + 1
			c.onPage[k] = append(c.onPage[k], i)
		}
		c.rows = append(c.rows, i)
	}
	a := [2]string{d.actor[0], d.actor[1]}
	i, ok := c.actors[a]
	if !ok {
		i = int32(len(c.order))
		c.actors[a] = i
		c.order = append(c.order, a)
	}
	c.rows = append(c.rows, i)
}

// sets returns the block's sorted types, categories and countries.
func (c *columnBuilder) sets() (out [3][]string) {
	for k, names := range c.names {
		idx := make([]int32, len(names))
		for i := range idx {
			idx[i] = int32(i)
		}
		slices.SortFunc(idx, func(a, b int32) int { return strings.Compare(names[a], names[b]) })
		out[k] = make([]string, len(names))
		c.sorted[k] = slices.Grow(c.sorted[k][:0], len(names))[:len(names)]
		for j, i := range idx {
			out[k][j] = names[i]
			c.sorted[k][i] = int32(j)
		}
	}
	return out
}

// pageBits returns page p's bitsets over the sorted sets (sets first).
func (c *columnBuilder) pageBits(p int) (out [3][]byte) {
	for k := range out {
		end := int32(len(c.onPage[k]))
		if p+1 < len(c.pageAt) {
			end = c.pageAt[p+1][k]
		}
		bits := make([]byte, (len(c.names[k])+7)/8)
		for _, i := range c.onPage[k][c.pageAt[p][k]:end] {
			j := c.sorted[k][i]
			bits[j/8] |= 1 << (j % 8)
		}
		out[k] = bits
	}
	return out
}

// encode returns the columns section before compression (sets first).
func (c *columnBuilder) encode() []byte {
	b := binary.AppendUvarint(make([]byte, 0, 64*len(c.order)+len(c.rows)+16), uint64(len(c.order)))
	for _, a := range c.order {
		b = appendBytes(b, []byte(a[0]))
		b = appendBytes(b, []byte(a[1]))
	}
	for e := 0; e < len(c.rows); e += 4 {
		for k := range 3 {
			b = binary.AppendUvarint(b, uint64(c.sorted[k][c.rows[e+k]]))
		}
		b = binary.AppendUvarint(b, uint64(c.rows[e+3]))
	}
	return b
}

// columns are a block's decoded columns: per event, the indexes of its
// type, category and country in the block summary's sets and of its
// actor in actors.
type columns struct {
	idx    []uint32 // 4 per event
	actors [][]string
}

func decodeColumns(comp []byte, sec section, h *blockHeader) (*columns, error) {
	if crc32.Checksum(comp, castagnoli) != sec.crc {
		return nil, fmt.Errorf("columns CRC mismatch")
	}
	raw, err := zdec.DecodeAll(comp, nil)
	if err != nil {
		return nil, fmt.Errorf("columns do not decompress: %w", err)
	}
	r := reader{b: raw}
	na := r.count(2)
	c := &columns{actors: make([][]string, 0, na), idx: make([]uint32, 4*h.n)}
	for i := 0; i < na && r.err == nil; i++ {
		c.actors = append(c.actors, []string{r.string(), r.string()})
	}
	limits := [4]int{len(h.sum.types), len(h.sum.categories), len(h.sum.countries), len(c.actors)}
	for i := 0; i < h.n && r.err == nil; i++ {
		for k, n := range limits {
			v := r.int()
			if r.err == nil && v >= int64(n) {
				r.err = fmt.Errorf("columns: event %d names value %d of %d", i, v, n)
			}
			c.idx[4*i+k] = uint32(v)
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("columns have %d bytes past their events", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// columnsOf reads and decodes a block's columns.
func (f *blockFiles) columnsOf(b *blockRef, h *blockHeader) (*columns, error) {
	raw, err := f.read(b, h.columns.off, h.columns.size)
	if err != nil {
		return nil, err
	}
	c, err := decodeColumns(raw, h.columns, h)
	if err != nil {
		return nil, damaged(b, err)
	}
	return c, nil
}

// columnOf is the column holding a term's field, or -1.
func columnOf(f audit.Field) int {
	switch f {
	case audit.FieldType, audit.FieldTypePrefix:
		return 0
	case audit.FieldCategory:
		return 1
	case audit.FieldCountry:
		return 2
	case audit.FieldActor:
		return 3
	}
	return -1
}

// useColumns reports whether a search gains from a block's columns: a
// positive term tests a field they hold (a negated one excludes little).
func (m *matcher) useColumns() bool {
	for i := range m.terms {
		if !m.terms[i].Negate && columnOf(m.terms[i].Field) >= 0 {
			return true
		}
	}
	return false
}

// colTest is a term's test of one column: ok[v] for each value index v.
type colTest struct {
	col    int
	ok     []bool
	negate bool
}

// colFilter tests a block's events by their columns, exactly, for every
// term on a field the columns hold.
type colFilter struct {
	c     *columns
	tests []colTest
}

func (m *matcher) columnFilter(c *columns, h *blockHeader) *colFilter {
	f := &colFilter{c: c}
	sets := [3][]string{h.sum.types, h.sum.categories, h.sum.countries}
	for i := range m.terms {
		t := &m.terms[i]
		col := columnOf(t.Field)
		if col < 0 {
			continue
		}
		ct := colTest{col: col, negate: t.Negate}
		if col < 3 {
			for _, v := range sets[col] {
				ct.ok = append(ct.ok, t.valueMatches(v))
			}
		} else {
			for _, a := range c.actors {
				ct.ok = append(ct.ok, slices.ContainsFunc(a, t.valueMatches))
			}
		}
		f.tests = append(f.tests, ct)
	}
	return f
}

// event reports whether event i of the block passes every column test.
func (f *colFilter) event(i int) bool {
	for _, t := range f.tests {
		if t.ok[f.c.idx[4*i+t.col]] == t.negate {
			return false
		}
	}
	return true
}

// page reports whether any event of page p passes.
func (f *colFilter) page(h *blockHeader, p int) bool {
	pi := &h.pages[p]
	start := int(pi.first - h.first)
	for i := start; i < start+pi.n; i++ {
		if f.event(i) {
			return true
		}
	}
	return false
}
