// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/trailaudit/trail/internal/audit"
)

// Query implements audit.EventStore: newest first is a reverse walk of the
// tail, then the blocks newest to oldest, testing each block's summary
// and each page's filter before decoding the page.
func (s *Store) Query(ctx context.Context, org string, q audit.Query) (audit.Page, error) {
	return audit.CollectPage(ctx, s.each, org, q)
}

// Scan implements audit.EventStore in chunks (audit.ScanChunks): each is a
// walk from a seq, holding one page at a time, the chunks reading into the
// same buffers.
func (s *Store) Scan(ctx context.Context, org string, from, to int64, f audit.Filter, fn func(int64, []byte) error) error {
	rb := new(readBufs)
	rows := func(ctx context.Context, org string, q audit.Query, fn func(int64, []byte) error) (int, error) {
		return s.walk(ctx, org, q, rb, fn)
	}
	return audit.ScanChunks(ctx, rows, org, from, to, f, fn)
}

// each is the engine's audit.RowsFunc.
func (s *Store) each(ctx context.Context, org string, q audit.Query, fn func(seq int64, data []byte) error) (int, error) {
	return s.walk(ctx, org, q, new(readBufs), fn)
}

// walk is each reading into rb.
func (s *Store) walk(ctx context.Context, org string, q audit.Query, rb *readBufs, fn func(seq int64, data []byte) error) (int, error) {
	o := s.org(org)
	if o == nil {
		return 0, nil
	}
	v := s.view(o)
	defer s.unpin(&v)
	lo, hi := int64(0), v.size-1
	if q.After >= 0 {
		lo = max(lo, q.After+1)
	}
	if q.Before >= 0 {
		hi = min(hi, q.Before-1)
	}
	w := walker{s: s, v: &v, m: compile(q.Filter), fn: fn, ctx: ctx, limit: q.Limit + 1, rb: rb}
	if lo > hi || w.m.none {
		return 0, nil
	}
	var err error
	if q.Order == audit.Asc {
		err = w.asc(lo, hi)
	} else {
		err = w.desc(lo, hi)
	}
	if err == audit.ErrStop || err == errDone {
		err = nil
	}
	return w.n, err
}

// walker visits the events of one view in a seq range that match.
type walker struct {
	s     *Store
	v     *view
	m     *matcher
	fn    func(int64, []byte) error
	ctx   context.Context
	n     int // rows given to fn
	limit int
	rb    *readBufs // reused: fn's data is valid only during the call
	low   []byte    // an event lower-cased (matcher.textMay), reused
}

// skipSummaries, set by benchmarks, tests each block's summary only
// after reading its header (the cost of a walk before summaries were
// kept in memory).
var skipSummaries bool

type stop struct{}

func (stop) Error() string { return "done" }

var errDone error = stop{}

// visit tests one event and hands it to fn.
func (w *walker) visit(seq int64, data []byte, d *doc) error {
	if !w.m.empty {
		ok, err := w.matches(data, d)
		if err != nil {
			return internalErr("%s seq %d: %v", w.v.o.name, seq, err)
		}
		if !ok {
			return nil
		}
	}
	w.n++
	if err := w.fn(seq, data); err != nil {
		return err
	}
	if w.n >= w.limit {
		return errDone
	}
	return nil
}

// matches tests an event (d: its doc, or nil to read it from data). The
// fields other than the words are read first: an event that fails on them
// costs no tokenizing of its text.
func (w *walker) matches(data []byte, d *doc) (bool, error) {
	if d != nil {
		return w.m.match(d), nil
	}
	if w.m.plain && !w.m.fieldsMay(data) {
		return false, nil
	}
	if w.m.text && !w.m.textMay(data, &w.low) {
		return false, nil
	}
	d, err := scanFields(data)
	if err != nil || !w.m.matchFields(d) {
		return false, err
	}
	if !w.m.words {
		return true, nil
	}
	if d, err = scanDoc(data); err != nil {
		return false, err
	}
	return w.m.match(d), nil
}

func (w *walker) tailEvent(seq int64) error {
	e := w.v.tail[seq-w.v.sealed]
	var d *doc
	if !w.m.empty {
		var err error
		if d, err = e.getDoc(); err != nil {
			return internalErr("%s seq %d: %v", w.v.o.name, seq, err)
		}
	}
	return w.visit(seq, e.data, d)
}

func (w *walker) desc(lo, hi int64) error {
	for seq := hi; seq >= max(lo, w.v.sealed); seq-- {
		if err := w.tailEvent(seq); err != nil {
			return err
		}
	}
	for i := len(w.v.blocks) - 1; i >= 0; i-- {
		b := w.v.blocks[i]
		if b.first > hi {
			continue
		}
		if b.first+b.n <= lo {
			return nil
		}
		if err := w.block(b, lo, hi, true); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) asc(lo, hi int64) error {
	for _, b := range w.v.blocks {
		if b.first+b.n <= lo {
			continue
		}
		if b.first > hi {
			return nil
		}
		if err := w.block(b, lo, hi, false); err != nil {
			return err
		}
	}
	for seq := max(lo, w.v.sealed); seq <= hi; seq++ {
		if err := w.tailEvent(seq); err != nil {
			return err
		}
	}
	return nil
}

// block walks one block's pages that may hold matches in [lo, hi].
func (w *walker) block(b *blockRef, lo, hi int64, desc bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	// The block's summary first: a block that cannot match is skipped
	// without a read.
	if b.sum != nil && !skipSummaries && !w.m.mayMatchBlock(b.sum, w.s.cat.strs) {
		return nil
	}
	h, err := w.s.blocks.header(b)
	if err != nil {
		return err
	}
	inFilter := h.version == 1
	if b.sum != nil && skipSummaries && !w.m.mayMatchBlock(b.sum, w.s.cat.strs) {
		return nil
	}
	if b.sum == nil && !w.m.mayMatch(&h.sum, nil, h.wordKeys(true)) {
		return nil
	}
	var pages []byte
	if w.m.empty && lo <= b.first && b.first+b.n-1 <= hi {
		// The whole block is read: one read, not one per page.
		if pages, err = w.s.blocks.pagesInto(b, h, w.rb); err != nil {
			return err
		}
	}
	// The pages that may match on their summaries, in walk order.
	cand := w.rb.cand[:0]
	defer func() { w.rb.cand = cand[:0] }()
	for k := range h.pages {
		p := k
		if desc {
			p = len(h.pages) - 1 - k
		}
		pi := &h.pages[p]
		first, last := pi.first, pi.first+int64(pi.n)-1
		if last < lo || first > hi || !w.m.mayMatch(&pi.sum, &h.sum, h.wordKeys(false)) {
			continue
		}
		cand = append(cand, p)
	}
	var cols *colFilter
	if len(cand) > 0 && w.m.useColumns() && w.m.columnsPay() && !inFilter {
		// The events' type, category, country and actor.
		c, err := w.s.blocks.columnsOf(b, h)
		if err != nil {
			return err
		}
		cols = w.m.columnFilter(c, h)
		cand = slices.DeleteFunc(cand, func(p int) bool { return !cols.page(h, p) })
	}
	if len(cand) > 0 && w.m.pairs && !inFilter {
		// Phrases: the block's pair filter.
		f, err := w.s.blocks.pairFilterOf(b, h)
		if err != nil {
			return err
		}
		if !w.m.pairFilterMay(f) {
			return nil
		}
	}
	if len(cand) > 0 && w.m.text && !inFilter {
		// Words: the pages of the block's dictionary.
		d, err := w.s.blocks.dictOf(b, h)
		if err != nil {
			return err
		}
		ps, err := w.m.textPages(d)
		if err != nil {
			return damaged(b, err)
		}
		cand = slices.DeleteFunc(cand, func(p int) bool { return !ps.has(p) })
	}
	for _, p := range cand {
		pi := &h.pages[p]
		events, err := w.s.blocks.pageBufs(b, h, p, pages, w.rb)
		if err != nil {
			return err
		}
		for j := range events {
			i := j
			if desc {
				i = len(events) - 1 - j
			}
			seq := pi.first + int64(i)
			if seq < lo || seq > hi || cols != nil && !cols.event(int(seq-h.first)) {
				continue
			}
			if err := w.visit(seq, events[i], nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// Event implements audit.EventStore.
func (s *Store) Event(ctx context.Context, org, id string) (int64, []byte, error) {
	o := s.org(org)
	if o == nil {
		return 0, nil, audit.ErrNotFound
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	if seq, ok := o.tailID[id]; ok {
		return seq, o.tail[seq-o.sealed].data, nil
	}
	seq, _, data, found, err := s.sealedEvent(o, id)
	if err == nil && !found {
		err = audit.ErrNotFound
	}
	return seq, data, err
}

// eventID reads the id of canonical bytes (the first field).
func eventID(data []byte) string {
	var ev struct {
		ID string `json:"id"`
	}
	json.Unmarshal(data, &ev)
	return ev.ID
}
