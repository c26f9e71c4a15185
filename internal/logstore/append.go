// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// Append implements audit.EventStore. A group is one WAL record and one
// fdatasync; its events become visible (the tail) only after the sync, and
// Append returns only then, so an acknowledged event is durable.
func (s *Store) Append(ctx context.Context, batches []*audit.Batch) error {
	if err := ctx.Err(); err != nil {
		return &audit.Error{Code: audit.CodeUnavailable, Message: "the append was cancelled; nothing was stored", Err: err}
	}
	if err := s.waitForSealer(ctx); err != nil {
		return err
	}
	s.appendMu.Lock()
	defer s.appendMu.Unlock()
	if s.wal.failed != nil {
		return s.wal.failed
	}
	g := &group{s: s, orgs: map[string]*groupOrg{}}
	for _, b := range batches {
		if err := g.batch(b); err != nil {
			return err
		}
	}
	return g.commit()
}

// commit writes the group's events as one log record, syncs, and then
// publishes them.
func (g *group) commit() error {
	s := g.s
	if len(g.order) == 0 {
		return nil
	}
	if err := g.prepare(); err != nil {
		return err
	}
	wg := walGroup{}
	ends := map[string]int64{}
	for _, po := range g.order {
		wo := walOrg{name: po.o.name, first: po.first}
		for _, e := range po.events {
			wo.events = append(wo.events, walEvent{hash: e.hash, data: e.data})
		}
		wg.orgs = append(wg.orgs, wo)
		ends[po.o.name] = po.next
	}
	if err := s.wal.writeGroup(&wg, ends); err != nil {
		return err
	}
	g.publish()
	s.kickSealer()
	return nil
}

// group is one Append's work: per org, the events it adds.
type group struct {
	s     *Store
	orgs  map[string]*groupOrg
	order []*groupOrg
}

type groupOrg struct {
	o       *orgLog
	first   int64 // the org's size before the group
	next    int64
	events  []*tailEvent
	ids     map[string]*tailEvent
	tree    treeState
	daily   map[dayCat]int64
	bytes   int64
	written bool
}

func (g *group) org(name string) *groupOrg {
	if po := g.orgs[name]; po != nil {
		return po
	}
	o := g.s.orgOrNew(name)
	o.mu.RLock()
	po := &groupOrg{o: o, first: o.size, next: o.size, ids: map[string]*tailEvent{}, daily: map[dayCat]int64{}}
	o.mu.RUnlock()
	g.orgs[name] = po
	return po
}

// batch resolves the batch's ids and assigns seqs to its new events, or
// sets b.Err (a conflict) leaving the group as it was.
func (g *group) batch(b *audit.Batch) error {
	po := g.org(b.Org)
	if err := po.o.broken; err != nil {
		b.Err = &audit.Error{Code: audit.CodeUnavailable, Err: err,
			Message: "the log of org " + b.Org + " has a damaged block and takes no events until an operator repairs it (trail check)"}
		return nil
	}
	known := map[int]int64{}
	var conflicts []audit.Detail
	for i, p := range b.Events {
		seq, same, found, err := g.lookup(po, p)
		if err != nil {
			return err
		}
		switch {
		case !found:
		case same:
			known[i] = seq
		default:
			conflicts = append(conflicts, audit.Detail{Index: i, Field: "id", Expected: "the same content as the stored event with this id, or a new id"})
		}
	}
	if len(conflicts) > 0 {
		b.Err = &audit.Error{Code: audit.CodeConflict, Details: conflicts,
			Message: "event " + strconv.Itoa(conflicts[0].Index) + " reuses an id already stored with different content; nothing was stored"}
		return nil
	}
	acks := make([]audit.Ack, len(b.Events))
	// The new events' bytes and ids are copied out of the batch's memory
	// into one allocation (the ingest path's share chunks with the rest of
	// their batch, which the tail would otherwise keep alive until the
	// events are sealed), their tail entries are one slice, and their
	// docs were made by PrepareBatch (with their own memory) or are made
	// here.
	size := 0
	encoded := make([][]byte, 0, len(b.Events)-len(known))
	for i, p := range b.Events {
		if _, ok := known[i]; ok {
			continue
		}
		data := p.Encode(po.next + int64(len(encoded)))
		encoded = append(encoded, data)
		size += len(data) + len(p.Event.ID)
	}
	buf := make([]byte, 0, size)
	tail := make([]tailEvent, len(encoded))
	var m *docMaker
	k := 0
	for i, p := range b.Events {
		if seq, ok := known[i]; ok {
			acks[i] = audit.Ack{ID: p.Event.ID, Seq: seq}
			continue
		}
		e := &tail[k]
		start := len(buf)
		buf = append(buf, encoded[k]...) // within size: never reallocated
		k++
		e.data = buf[start:len(buf):len(buf)]
		start = len(buf)
		buf = append(buf, p.Event.ID...)
		e.id = unsafe.String(unsafe.SliceData(buf[start:]), len(p.Event.ID))
		e.hash, e.bits = p.Hash, pendingBits(p)
		d, _ := p.Prepared.(*doc)
		p.Prepared = nil // the pooled Pending keeps no doc alive
		if d == nil {
			if m == nil {
				m = &docMaker{}
			}
			d = m.doc(&p.Event)
		}
		if d == nil {
			var err error
			if d, err = scanDoc(e.data); err != nil {
				return internalErr("the canonical bytes of event %d do not read back: %v", i, err)
			}
		} else {
			d.occurred, d.received = p.Event.OccurredAt.UnixMicro(), p.Event.ReceivedAt.UnixMicro()
		}
		if checkDocs {
			if err := checkDoc(d, e.data); err != nil {
				return internalErr("event %d: %v", i, err)
			}
		}
		e.doc.Store(d)
		po.events = append(po.events, e)
		if !p.FreshID {
			// An id Trail has just made is looked up nowhere (lookup),
			// not even in this group: it need not be found here.
			po.ids[e.id] = e
		}
		po.daily[dayCat{dayOf(p.Event.OccurredAt.UnixMicro()), p.Event.Category}]++
		po.bytes += int64(len(e.data))
		acks[i] = audit.Ack{ID: p.Event.ID, Seq: po.next}
		po.next++
	}
	b.Results = acks
	if !po.written && len(po.events) > 0 {
		po.written = true
		g.order = append(g.order, po)
	}
	return nil
}

// lookup finds the event's id in this group, the tail or the blocks. An id
// Trail has just made (FreshID) is nowhere: it is not looked up, which
// spares the id filters' false positives their block reads.
func (g *group) lookup(po *groupOrg, p *audit.Pending) (seq int64, same, found bool, err error) {
	if p.FreshID {
		return 0, false, false, nil
	}
	id := p.Event.ID
	if e := po.ids[id]; e != nil {
		return po.first + int64(indexOf(po.events, e)), e.hash == p.Hash, true, nil
	}
	o := po.o
	o.mu.RLock()
	defer o.mu.RUnlock()
	if seq, ok := o.tailID[id]; ok {
		return seq, o.tail[seq-o.sealed].hash == p.Hash, true, nil
	}
	return g.s.sealedRetry(o, id, p.Hash)
}

// PrepareBatch implements audit.BatchPreparer: it makes the docs of b's
// events in the request's goroutine, before the group commit, which then
// only sets their times (Append).
func (s *Store) PrepareBatch(b *audit.Batch) {
	var m docMaker
	docs := make([]doc, len(b.Events))
	for i, p := range b.Events {
		if d := m.fill(&docs[i], &p.Event); d != nil {
			p.Prepared = d
		}
	}
}

// docMaker makes the docs of events being appended from their fields and
// search text, which the ingest path has decoded already, instead of
// reading their canonical bytes again: the same doc (scanDoc gives it from
// the bytes after a restart or a seal), as the canonical encoding writes
// those strings back exactly when they are valid UTF-8. A string that is
// not (the encoder writes U+FFFD for its bad bytes) sends the event to
// scanDoc. The docs' strings are copied, the words lower-cased, into
// chunks of the maker's own (never into the batch's memory, which is
// reused after the commit); their slices share chunks too. checkDocs, set
// by the package's tests, compares each doc with scanDoc's.
type docMaker struct {
	bytes []byte   // the unused rest of the current chunk
	strs  []string // likewise, of strings
}

// doc returns the doc of ev without its times (the caller sets them), or
// nil when the event must be read from its bytes.
func (m *docMaker) doc(ev *audit.Event) *doc {
	return m.fill(&doc{}, ev)
}

// fill is doc into d.
func (m *docMaker) fill(d *doc, ev *audit.Event) *doc {
	search := ev.SearchText()
	if !utf8.ValidString(search) || !utf8.ValidString(ev.Type) || !utf8.ValidString(ev.Category) {
		return nil
	}
	if ev.Location != nil {
		if !utf8.ValidString(ev.Location.CountryCode) {
			return nil
		}
		d.country = m.str(ev.Location.CountryCode)
	}
	d.typ, d.category = m.str(ev.Type), m.str(ev.Category)
	list := m.list(2 + 2*len(ev.Targets))
	list = append(list, m.str(ev.Actor.ID), m.str(ev.Actor.Name))
	d.actor = list[:2:2]
	if len(ev.Targets) > 0 {
		for _, t := range ev.Targets {
			list = append(list, m.str(t.ID), m.str(t.Name))
		}
		d.targets = list[2:len(list):len(list)]
	}
	d.words = m.words(search)
	return d
}

const makerChunk = 32 << 10

// take returns an empty slice with room for n bytes, from the chunk.
func (m *docMaker) take(n int) []byte {
	if len(m.bytes) < n {
		m.bytes = make([]byte, max(n, makerChunk))
	}
	b := m.bytes[:0:n]
	m.bytes = m.bytes[n:]
	return b
}

// str copies v into the chunk.
func (m *docMaker) str(v string) string {
	if v == "" {
		return ""
	}
	b := append(m.take(len(v)), v...)
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// list returns an empty slice with room for n strings, from the chunk of
// strings.
func (m *docMaker) list(n int) []string {
	if len(m.strs) < n || m.strs == nil {
		m.strs = make([]string, max(n, makerChunk/16))
	}
	l := m.strs[:0:n]
	m.strs = m.strs[n:]
	return l
}

// words is words(s) with the words copied into the chunk: for ASCII text
// (asciiWords), lower-cased there in one pass.
func (m *docMaker) words(s string) []string {
	n, in := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ws := words(s)
			out := m.list(len(ws))
			for _, w := range ws {
				out = append(out, m.str(w))
			}
			return out
		}
		w := asciiWord[c]
		if w && !in {
			n++
		}
		in = w
	}
	out := m.list(n)
	low := m.take(len(s))
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && asciiWord[s[i]] {
			if start < 0 {
				start = len(low)
			}
			low = append(low, asciiLower[s[i]]) // within len(s): never reallocated
			continue
		}
		if start >= 0 {
			out = append(out, unsafe.String(&low[start], len(low)-start))
			start = -1
		}
	}
	return out
}

// asciiLower lower-cases an ASCII byte.
var asciiLower = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		t[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			t[c] += 'a' - 'A'
		}
	}
	return t
}()

// checkDoc reports whether d is the doc of data (scanDoc).
func checkDoc(d *doc, data []byte) error {
	want, err := scanDoc(data)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(d, want) {
		return fmt.Errorf("the doc made from the event's fields, %+v, is not the doc of its bytes, %+v", d, want)
	}
	return nil
}

// checkDocs makes Append check each doc against scanDoc (tests).
var checkDocs = false

func indexOf(events []*tailEvent, e *tailEvent) int {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i] == e {
			return i
		}
	}
	return -1
}

// prepare computes each org's leaves and new tree, off the lock.
func (g *group) prepare() error {
	for _, po := range g.order {
		leaves := make([]ledger.Hash, len(po.events))
		for i, e := range po.events {
			e.leaf = ledger.LeafHash(e.data)
			leaves[i] = e.leaf
		}
		po.o.mu.RLock()
		tree := po.o.tree
		po.o.mu.RUnlock()
		if tree.edge == nil {
			tree.edge = &ledger.Edge{}
		}
		var err error
		if po.tree, err = tree.grow(leaves); err != nil {
			return internalErr("growing the tree of %s: %v", po.o.name, err)
		}
	}
	return nil
}

// publish makes the group's events visible, after the log sync.
func (g *group) publish() {
	var added int64
	for _, po := range g.order {
		o := po.o
		o.mu.Lock()
		o.tail = append(o.tail, po.events...)
		for i, e := range po.events {
			o.tailID[e.id] = po.first + int64(i)
		}
		o.size = po.next
		o.tree = po.tree
		for k, n := range po.daily {
			o.daily[k] += n
		}
		o.bytes += po.bytes
		o.mu.Unlock()
		added += po.bytes
	}
	g.s.mu.Lock()
	g.s.tailBytes += added
	g.s.mu.Unlock()
}
