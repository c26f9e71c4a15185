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

// columns are a block's decoded columns: one doc per event holding its
// type, category, country and actor (no targets, times or words).
type columns []doc

func decodeColumns(comp []byte, sec section, h *blockHeader) (columns, error) {
	if crc32.Checksum(comp, castagnoli) != sec.crc {
		return nil, fmt.Errorf("columns CRC mismatch")
	}
	raw, err := zdec.DecodeAll(comp, nil)
	if err != nil {
		return nil, fmt.Errorf("columns do not decompress: %w", err)
	}
	r := reader{b: raw}
	na := r.count(2)
	actors := make([][]string, 0, na)
	for i := 0; i < na && r.err == nil; i++ {
		actors = append(actors, []string{r.string(), r.string()})
	}
	out := make(columns, h.n)
	sets := [3][]string{h.sum.types, h.sum.categories, h.sum.countries}
	for i := 0; i < h.n && r.err == nil; i++ {
		var idx [4]int64
		for k := range idx {
			idx[k] = r.int()
		}
		for k, set := range sets {
			if r.err == nil && idx[k] >= int64(len(set)) {
				r.err = fmt.Errorf("columns: event %d names value %d of %d", i, idx[k], len(set))
			}
		}
		if r.err == nil && idx[3] >= int64(len(actors)) {
			r.err = fmt.Errorf("columns: event %d names actor %d of %d", i, idx[3], len(actors))
		}
		if r.err != nil {
			break
		}
		out[i] = doc{typ: sets[0][idx[0]], category: sets[1][idx[1]], country: sets[2][idx[2]], actor: actors[idx[3]]}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("columns have %d bytes past their events", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

// columnsOf reads and decodes a block's columns.
func (f *blockFiles) columnsOf(b *blockRef, h *blockHeader) (columns, error) {
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

// columnField reports whether columns hold the term's field.
func columnField(f audit.Field) bool {
	switch f {
	case audit.FieldType, audit.FieldTypePrefix, audit.FieldCategory, audit.FieldCountry, audit.FieldActor:
		return true
	}
	return false
}

// useColumns reports whether a search gains from a block's columns: it
// combines a column field with another term (a single such term is
// decided exactly, or nearly, by the page summaries).
func (m *matcher) useColumns() bool {
	cols := 0
	for i := range m.terms {
		if columnField(m.terms[i].Field) {
			cols++
		}
	}
	return cols > 0 && len(m.terms) > 1
}

// matchColumns reports whether an event's columns satisfy every term
// they hold.
func (m *matcher) matchColumns(d *doc) bool {
	for i := range m.terms {
		t := &m.terms[i]
		if columnField(t.Field) && t.test(d) == t.Negate {
			return false
		}
	}
	return true
}

// pageMay reports whether any event of page p may match, by its columns.
func (m *matcher) pageMay(c columns, h *blockHeader, p int) bool {
	pi := &h.pages[p]
	start := int(pi.first - h.first)
	for i := start; i < start+pi.n; i++ {
		if m.matchColumns(&c[i]) {
			return true
		}
	}
	return false
}
