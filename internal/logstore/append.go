// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

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
	for i, p := range b.Events {
		if seq, ok := known[i]; ok {
			acks[i] = audit.Ack{ID: p.Event.ID, Seq: seq}
			continue
		}
		// Copies: the ingest path's bytes and strings share chunks with the
		// rest of their batch (audit.Pending.Encode), which the tail would
		// otherwise keep alive until the events are sealed (d.own copies
		// the doc's strings).
		e := &tailEvent{id: strings.Clone(p.Event.ID), data: bytes.Clone(p.Encode(po.next)), hash: p.Hash, bits: pendingBits(p)}
		d, err := pendingDoc(p, e.data)
		if err != nil {
			return internalErr("the canonical bytes of event %d do not read back: %v", i, err)
		}
		d.own()
		e.doc.Store(d)
		po.events = append(po.events, e)
		po.ids[e.id] = e
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

// pendingDoc is the doc of an event being appended, whose canonical bytes
// are data. It is made from the event's fields and search text, which the
// ingest path has decoded already, instead of reading data again: the
// same doc (scanDoc gives it from data after a restart or a seal), as the
// canonical encoding writes those strings back exactly when they are valid
// UTF-8. A string that is not (the encoder writes U+FFFD for its bad
// bytes) sends the event to scanDoc. checkDocs, set by the package's
// tests, compares the two for every event appended.
func pendingDoc(p *audit.Pending, data []byte) (*doc, error) {
	ev := &p.Event
	// The strings share the batch's arenas; the caller copies them out
	// (doc.own) once the doc is complete: one allocation per event.
	search := ev.SearchText()
	if !utf8.ValidString(search) || !utf8.ValidString(ev.Type) || !utf8.ValidString(ev.Category) {
		return scanDoc(data)
	}
	d := &doc{
		typ: ev.Type, category: ev.Category,
		actor:    []string{ev.Actor.ID, ev.Actor.Name},
		occurred: ev.OccurredAt.UnixMicro(), received: ev.ReceivedAt.UnixMicro(),
		words: words(search),
	}
	if ev.Location != nil {
		if !utf8.ValidString(ev.Location.CountryCode) {
			return scanDoc(data)
		}
		d.country = ev.Location.CountryCode
	}
	if len(ev.Targets) > 0 {
		d.targets = make([]string, 0, 2*len(ev.Targets))
		for _, t := range ev.Targets {
			d.targets = append(d.targets, t.ID, t.Name)
		}
	}
	if checkDocs {
		want, err := scanDoc(data)
		if err != nil {
			return nil, err
		}
		if !reflect.DeepEqual(d, want) {
			return nil, fmt.Errorf("the doc made from the event's fields, %+v, is not the doc of its bytes, %+v", d, want)
		}
	}
	return d, nil
}

// checkDocs makes pendingDoc check itself against scanDoc (tests).
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
