// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"

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

type columnBuilder struct {
	docs   []*doc
	actors map[[2]string]int
	order  [][2]string
}

func newColumnBuilder(n int) *columnBuilder {
	return &columnBuilder{docs: make([]*doc, 0, n), actors: map[[2]string]int{}}
}

func (c *columnBuilder) add(d *doc) {
	c.docs = append(c.docs, d)
	a := [2]string{d.actor[0], d.actor[1]}
	if _, ok := c.actors[a]; !ok {
		c.actors[a] = len(c.order)
		c.order = append(c.order, a)
	}
}

func (c *columnBuilder) encode(types, categories, countries []string) []byte {
	b := binary.AppendUvarint(nil, uint64(len(c.order)))
	for _, a := range c.order {
		b = appendBytes(b, []byte(a[0]))
		b = appendBytes(b, []byte(a[1]))
	}
	for _, d := range c.docs {
		for _, v := range []struct {
			set []string
			v   string
		}{{types, d.typ}, {categories, d.category}, {countries, d.country}} {
			i, _ := slices.BinarySearch(v.set, v.v)
			b = binary.AppendUvarint(b, uint64(i))
		}
		b = binary.AppendUvarint(b, uint64(c.actors[[2]string{d.actor[0], d.actor[1]}]))
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
