// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"encoding/json"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

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
		return s.walk(ctx, org, q, rb, false, fn)
	}
	return audit.ScanChunks(ctx, rows, org, from, to, f, fn)
}

// each is the engine's audit.RowsFunc.
func (s *Store) each(ctx context.Context, org string, q audit.Query, fn func(seq int64, data []byte) error) (int, error) {
	rb := walkBufs.Get().(*readBufs)
	defer walkBufs.Put(rb)
	return s.walk(ctx, org, q, rb, true, fn)
}

// walkBufs are the read buffers of Query's walks.
var walkBufs = sync.Pool{New: func() any { return new(readBufs) }}

// walk is each reading into rb; helper tells whether it may run pages on
// another goroutine (pageHelper).
func (s *Store) walk(ctx context.Context, org string, q audit.Query, rb *readBufs, helper bool, fn func(seq int64, data []byte) error) (int, error) {
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
	w := walker{s: s, v: &v, m: compile(q.Filter), fn: fn, ctx: ctx, limit: q.Limit + 1, rb: rb,
		may: helper && parallelPages && !q.Filter.Empty() && runtime.GOMAXPROCS(0) > 1}
	if lo > hi || w.m.none {
		return 0, nil
	}
	defer w.stopHelper()
	var err error
	if q.Order == audit.Asc {
		err = w.asc(lo, hi)
	} else {
		err = w.desc(lo, hi)
	}
	if err == nil {
		err = w.flush()
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
	// Pages (page.go): run and handed to fn one by one, or, once a walk
	// has shown it needs many pages (may), by this goroutine and a helper
	// on another core.
	may    bool // the walk may use a helper (Query, not Scan)
	pages  int  // pages handed to fn
	rows   int  // rows of those pages
	helper *pageHelper
	masks  [][]byte // matcher.pageMasks of the block walked
}

// skipSummaries, set by benchmarks, tests each block's summary only
// after reading its header (the cost of a walk before summaries were
// kept in memory).
var skipSummaries bool

type stop struct{}

func (stop) Error() string { return "done" }

var errDone error = stop{}

// visit tests a tail event by its doc d (nil for an empty filter) and
// hands it to fn.
func (w *walker) visit(seq int64, data []byte, d *doc) error {
	if !w.m.empty && !w.m.match(d) {
		return nil
	}
	return w.give(seq, data)
}

// give hands a matching event to fn.
func (w *walker) give(seq int64, data []byte) error {
	w.n++
	if err := w.fn(seq, data); err != nil {
		return err
	}
	if w.n >= w.limit {
		return errDone
	}
	return nil
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
	// The blocks' pages a helper still holds go first.
	if err := w.flush(); err != nil {
		return err
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
	if b.sum != nil && b.sum.pageBits != nil && !skipSummaries && w.m.setsOnly {
		return w.blockBySum(b, lo, hi, desc)
	}
	h, err := w.s.blocks.header(b)
	if err != nil {
		return err
	}
	inFilter := h.version == 1
	if b.sum != nil && skipSummaries && !w.m.mayMatchBlock(b.sum, w.s.cat.strs) {
		return nil
	}
	if b.sum == nil && !w.m.mayMatch(&h.sum, h.wordKeys(true)) {
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
	w.masks = w.m.pageMasks(&h.sum, w.masks)
	for k := range h.pages {
		p := k
		if desc {
			p = len(h.pages) - 1 - k
		}
		pi := &h.pages[p]
		first, last := pi.first, pi.first+int64(pi.n)-1
		if last < lo || first > hi || !w.m.pageMay(&pi.sum, w.masks, h.wordKeys(false)) {
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
		j := w.job()
		j.b, j.p, j.pi, j.version, j.pages, j.cols, j.lo, j.hi, j.desc = b, p, h.pages[p], h.version, pages, cols, lo, hi, desc
		j.pagesOff = h.pages[0].off
		j.max = w.limit - w.n
		if err := w.page(j); err != nil {
			return err
		}
	}
	return nil
}

// blockBySum walks a block's pages that may hold matches in [lo, hi]
// picking them by the pages' sets in its summary, without its header: a
// walk whose terms are all type, category and country terms
// (matcher.setsOnly), whose page sets are exact.
func (w *walker) blockBySum(b *blockRef, lo, hi int64, desc bool) error {
	sum := b.sum
	w.masks = w.m.sumMasks(sum, w.s.cat.strs, w.masks)
	np := len(sum.pages)
	for k := range np {
		p := k
		if desc {
			p = np - 1 - k
		}
		first, last := b.first+int64(b.pageFirst(p)), b.first+int64(sum.pages[p].end)-1
		if last < lo || first > hi {
			continue
		}
		bits := sum.pageSets(p)
		if !w.m.setsMay(&bits, w.masks) {
			continue
		}
		j := w.job()
		j.b, j.p, j.pi, j.version, j.lo, j.hi, j.desc = b, p, b.pageInfo(p), sum.version, lo, hi, desc
		j.max = w.limit - w.n
		if err := w.page(j); err != nil {
			return err
		}
	}
	return nil
}

// pageJob is a page of a walk: decoded, its events in the walk's range
// tested, and the bytes of those that match kept (in walk order) for the
// walk to hand to fn. Its buffers are reused (readBufs.jobs).
type pageJob struct {
	b       *blockRef
	p       int
	pi      pageInfo // the page's place, CRC and seqs
	version byte     // the block's format
	pages   []byte   // the block's pages when read whole, or nil
	// pagesOff is where the block's first page is, when pages is set.
	pagesOff int64
	cols     *colFilter
	lo, hi   int64
	desc     bool
	max      int // rows the walk may still take: the page stops there
	state    int // in a helped walk: jobQueued, jobRunning, jobDone (pageHelper.mu)

	rows    []pageRow
	err     error // after the rows
	panic   any   // a panic of the helper running it
	comp    []byte
	content []byte   // the page decompressed
	out     []byte   // the rows' bytes
	events  [][]byte // the events of content
	at      []int    // version 3: where their seqs' digits go
	low     []byte   // matcher.textMay's
}

type pageRow struct {
	seq  int64
	data []byte
}

const (
	jobQueued = iota
	jobRunning
	jobDone
)

// parallelPages lets walks use a helper (benchmarks turn it off).
var parallelPages = true

// job returns a pageJob to fill, reused from rb.
func (w *walker) job() *pageJob {
	if n := len(w.rb.jobs); n > 0 {
		j := w.rb.jobs[n-1]
		w.rb.jobs = w.rb.jobs[:n-1]
		return j
	}
	return new(pageJob)
}

// release gives j back to rb, keeping its buffers unless too big.
func (w *walker) release(j *pageJob) {
	j.b, j.pi, j.pages, j.cols, j.err, j.panic, j.state = nil, pageInfo{}, nil, nil, nil, nil, jobQueued
	clear(j.rows)
	j.rows = keepRead(j.rows, 32)
	j.comp, j.content, j.out, j.low = keepRead(j.comp, 1), keepRead(j.content, 1), keepRead(j.out, 1), keepRead(j.low, 1)
	clear(j.events)
	j.events, j.at = keepRead(j.events, 24), keepRead(j.at, 8)
	w.rb.jobs = append(w.rb.jobs, j)
}

// run decodes j's page and tests its events. Safe on any goroutine: it
// reads the walk's matcher and writes only j.
func (w *walker) run(j *pageJob) {
	b, pi := j.b, &j.pi
	fail := func(err error) {
		j.err = pageDamaged(b, j.p, pi, err)
	}
	comp := j.pages
	if comp != nil {
		start := pi.off - j.pagesOff
		comp = comp[start : start+pi.size]
	} else {
		var err error
		if comp, err = w.s.blocks.readInto(b, pi.off, pi.size, j.comp); err != nil {
			j.err = err
			return
		}
		j.comp = comp
	}
	var err error
	if j.content, err = pageContent(comp, pi, j.content); err != nil {
		fail(err)
		return
	}
	if j.events, j.at, err = splitPage(j.content, j.version, pi, j.events, j.at); err != nil {
		fail(err)
		return
	}
	if j.at != nil {
		// Room for every event with its seq: out is not moved while rows
		// point into it.
		j.out = slices.Grow(j.out[:0], len(j.content)+20*len(j.events))
	}
	for k := 0; k < len(j.events) && len(j.rows) < j.max; k++ {
		i := k
		if j.desc {
			i = len(j.events) - 1 - k
		}
		seq := pi.first + int64(i)
		if seq < j.lo || seq > j.hi || j.cols != nil && !j.cols.event(int(seq-b.first)) {
			continue
		}
		e := j.events[i]
		at := 0
		if j.at != nil {
			at = j.at[i]
		}
		if !w.m.empty && !w.m.mayHold(e, at, &j.low) {
			continue
		}
		data := e
		if j.at != nil {
			start := len(j.out)
			j.out = appendWithSeq(j.out, e, at, seq)
			data = j.out[start:]
		}
		if !w.m.empty {
			ok, err := w.m.confirm(data)
			if err != nil {
				j.err = internalErr("%s seq %d: %v", w.v.o.name, seq, err)
				return
			}
			if !ok {
				if j.at != nil {
					j.out = j.out[:len(j.out)-len(data)]
				}
				continue
			}
		}
		j.rows = append(j.rows, pageRow{seq, data})
	}
}

// hand gives j's rows to fn, then its error.
func (w *walker) hand(j *pageJob) error {
	if j.panic != nil {
		panic(j.panic)
	}
	w.pages++
	w.rows += len(j.rows)
	for _, r := range j.rows {
		if err := w.give(r.seq, r.data); err != nil {
			return err
		}
	}
	return j.err
}

// page runs j, or queues it for a helped walk.
func (w *walker) page(j *pageJob) error {
	if w.helper != nil {
		return w.helper.add(j)
	}
	w.run(j)
	err := w.hand(j)
	w.release(j)
	if err == nil && w.may && w.needsMany() {
		w.startHelper()
	}
	return err
}

// needsMany reports whether the rows still wanted look like three pages
// or more at the rate the pages so far gave them: then decoding pages on
// another core shortens the walk by more than the page it may decode in
// vain when the walk ends.
func (w *walker) needsMany() bool {
	left := w.limit - w.n
	return left > 0 && left*w.pages >= 3*max(w.rows, 1)
}

// flush hands the queued pages of a helped walk to fn.
func (w *walker) flush() error {
	if w.helper == nil {
		return nil
	}
	for len(w.helper.queue) > 0 {
		if err := w.helper.next(); err != nil {
			return err
		}
	}
	return nil
}

// pageHelper runs a walk's pages on a second goroutine. The walk queues
// its pages in order, up to helpAhead ahead of the one it hands to fn
// next; the walk and the helper each run the oldest queued page not yet
// taken, and the walk hands them to fn in order. The helper takes no page
// once the rows of those run and not yet handed, and those expected of the
// pages running (at the walk's rate so far), reach what the walk still
// wants, so that a walk seldom runs a page it does not need.
type pageHelper struct {
	w     *walker
	mu    sync.Mutex
	cond  sync.Cond
	queue []*pageJob // queued, not yet handed to fn, in walk order
	ready int        // rows of the queued pages run
	want  int        // rows the walk still wants
	// running pages count for rate rows each (the walk's rate so far)
	running int
	rate    float64
	stop    bool
	done    sync.WaitGroup
}

// helpAhead is how many pages a helped walk queues past the one it hands
// to fn next.
const helpAhead = 3

// helpedWalks counts the walks that started a helper (tests).
var helpedWalks atomic.Int64

func (w *walker) startHelper() {
	helpedWalks.Add(1)
	h := &pageHelper{w: w, want: w.limit - w.n, rate: float64(w.rows) / float64(w.pages)}
	h.cond.L = &h.mu
	w.helper = h
	h.done.Add(1)
	go h.help()
}

// stopHelper ends a walk's helper, waiting for the page it runs, and
// gives back the pages still queued.
func (w *walker) stopHelper() {
	h := w.helper
	if h == nil {
		return
	}
	h.mu.Lock()
	h.stop = true
	h.cond.Broadcast()
	h.mu.Unlock()
	h.done.Wait()
	for _, j := range h.queue {
		w.release(j)
	}
	w.helper = nil
}

// take returns the oldest queued page not yet taken, marked running, or
// nil. h.mu is held.
func (h *pageHelper) take(helper bool) *pageJob {
	if helper && float64(h.ready)+h.rate*float64(h.running) >= float64(h.want) {
		return nil
	}
	for _, j := range h.queue {
		if j.state == jobQueued {
			j.state = jobRunning
			h.running++
			return j
		}
	}
	return nil
}

// ran marks j run. h.mu is held.
func (h *pageHelper) ran(j *pageJob) {
	j.state = jobDone
	h.running--
	h.ready += len(j.rows)
	h.cond.Broadcast()
}

func (h *pageHelper) help() {
	defer h.done.Done()
	h.mu.Lock()
	defer h.mu.Unlock()
	for !h.stop {
		j := h.take(true)
		if j == nil {
			h.cond.Wait()
			continue
		}
		h.mu.Unlock()
		func() {
			defer func() { j.panic = recover() }()
			h.w.run(j)
		}()
		h.mu.Lock()
		h.ran(j)
	}
}

// add queues j, and hands the oldest queued page to fn once helpAhead
// are queued past it.
func (h *pageHelper) add(j *pageJob) error {
	h.mu.Lock()
	j.state = jobQueued
	h.queue = append(h.queue, j)
	h.cond.Broadcast()
	n := len(h.queue)
	h.mu.Unlock()
	if n > helpAhead {
		return h.next()
	}
	return nil
}

// next waits for the oldest queued page to be run (running pages itself
// meanwhile) and hands it to fn.
func (h *pageHelper) next() error {
	h.mu.Lock()
	head := h.queue[0]
	for head.state != jobDone {
		j := h.take(false)
		if j == nil {
			h.cond.Wait()
			continue
		}
		h.mu.Unlock()
		h.w.run(j)
		h.mu.Lock()
		h.ran(j)
	}
	h.queue = append(h.queue[:0], h.queue[1:]...)
	h.ready -= len(head.rows)
	h.mu.Unlock()
	err := h.w.hand(head)
	h.mu.Lock()
	h.want = h.w.limit - h.w.n
	h.rate = float64(h.w.rows) / float64(h.w.pages)
	h.cond.Broadcast()
	h.mu.Unlock()
	h.w.release(head)
	return err
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
