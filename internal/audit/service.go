// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/trailaudit/trail/internal/catalog"
)

// Config configures a Service. The zero value of each optional field is
// its default.
type Config struct {
	Store      Store            // required
	Catalog    *catalog.Catalog // default catalog.Builtin()
	Locator    Locator          // nil: no location is recorded
	IPv4Prefix int              // bits of an IPv4 address kept; default 24
	IPv6Prefix int              // bits of an IPv6 address kept; default 48
	Limits     Limits
	// MaxGroup is the most events one commit takes; default 20000.
	MaxGroup int
	Now      func() time.Time // default time.Now
	Logger   *slog.Logger     // default slog.Default()
	Metrics  Metrics          // nil: none
	// Integrity signs checkpoints (checkpoint.go); zero: none are signed.
	Integrity IntegrityConfig
	// Retention is the policy of orgs that set none (policy.go): "forever"
	// (the default) or a duration like "400d"; it must parse with
	// ParseRetention.
	Retention string
}

// Metrics receives what the write path observes. Implementations must be
// safe for concurrent use.
type Metrics interface {
	// Committed is called after each group commit attempt.
	Committed(batches, events int, took time.Duration, err error)
}

// Service is the write path and the entry point for reads that need the
// domain's rules. It is safe for concurrent use.
type Service struct {
	store      Store
	catalog    *catalog.Catalog
	locator    Locator
	ipv4Prefix int
	ipv6Prefix int
	limits     Limits
	maxGroup   int
	now        func() time.Time
	log        *slog.Logger
	metrics    Metrics
	integ      *integrity // checkpoints and quarantine (checkpoint.go)
	clients    *clientCache
	retention  string         // the default retention policy
	hooks      committedHooks // OnCommit (notify.go)

	queue   chan *commit
	stop    chan struct{}
	stopped sync.WaitGroup
	closeMu sync.RWMutex
	closed  bool
}

// commit is one batch waiting in the group-commit queue.
type commit struct {
	batch *Batch
	done  chan struct{}
}

// NewService starts a service; Close stops it.
func NewService(cfg Config) *Service {
	s := &Service{
		store: cfg.Store, catalog: cfg.Catalog, locator: cfg.Locator,
		ipv4Prefix: cfg.IPv4Prefix, ipv6Prefix: cfg.IPv6Prefix,
		limits: cfg.Limits.WithDefaults(), maxGroup: cfg.MaxGroup,
		now: cfg.Now, log: cfg.Logger, metrics: cfg.Metrics, retention: cfg.Retention,
		queue: make(chan *commit, 1024), stop: make(chan struct{}),
	}
	if s.catalog == nil {
		s.catalog = catalog.Builtin()
	}
	if s.ipv4Prefix == 0 {
		s.ipv4Prefix = 24
	}
	if s.ipv6Prefix == 0 {
		s.ipv6Prefix = 48
	}
	if s.retention == "" {
		s.retention = RetentionForever
	}
	if s.maxGroup <= 0 {
		s.maxGroup = 20000
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.integ = newIntegrity(cfg.Integrity, s.log)
	s.clients = newClientCache(s.locator, s.ipv4Prefix, s.ipv6Prefix)
	s.stopped.Add(1)
	go s.committer()
	return s
}

// Catalog returns the catalog events are validated against.
func (s *Service) Catalog() *catalog.Catalog { return s.catalog }

// Store returns the underlying store, for reads.
func (s *Service) Store() Store { return s.store }

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return s.limits }

// Close stops accepting events, waits for queued batches to commit, and
// stops the committer. It does not close the store.
func (s *Service) Close() {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return
	}
	s.closed = true
	close(s.stop)
	s.closeMu.Unlock()
	s.stopped.Wait()
}

// Ingest validates, enriches and durably appends one batch of raw events
// to org's log. The batch is all-or-nothing. Errors are *Error: CodeInvalid
// or CodeUnprocessable naming every bad event, CodeConflict for an id
// reused with other content, CodeUnavailable when the store failed.
func (s *Service) Ingest(ctx context.Context, org string, raws []json.RawMessage) ([]Ack, error) {
	return s.ingest(ctx, org, raws, false)
}

// IngestBody is SplitBatch (with the service's limits) and Ingest in one:
// events is how many the body holds, 0 when it does not split. The events
// the fast splitter read are not scanned again for their fields.
func (s *Service) IngestBody(ctx context.Context, org string, body []byte, ndjson bool) (acks []Ack, events int, err error) {
	raws, scanned, err := splitBatch(body, ndjson, s.limits)
	if err != nil {
		return nil, 0, err
	}
	acks, err = s.ingest(ctx, org, raws, scanned)
	return acks, len(raws), err
}

// ingest is Ingest; scanned says that skipValue accepted every raw.
func (s *Service) ingest(ctx context.Context, org string, raws []json.RawMessage, scanned bool) ([]Ack, error) {
	if !ValidOrg(org) {
		return nil, Errorf(CodeInvalid, "org %q is not a valid org identifier: 1 to 96 of A-Z a-z 0-9 _ - .", org)
	}
	if len(raws) > s.limits.MaxBatch {
		return nil, Errorf(CodeTooLarge, "the batch has %d events; at most %d are allowed", len(raws), s.limits.MaxBatch)
	}
	// The batch's events live in dec's pooled memory until it is released,
	// once the batch is committed or refused: the stores copy what they
	// keep (Pending.Encode), the acks' ids are copied out.
	dec := s.pooledDecoder(org)
	defer dec.release()
	dec.scanned = scanned
	b, err := s.decode(dec, raws)
	if err != nil {
		return nil, err
	}
	if err := s.submit(ctx, b); err != nil {
		return nil, err
	}
	return ownAcks(b.Results), nil
}

// ownAcks copies the acks' ids, which point into the batch's memory, out
// into one allocation.
func ownAcks(acks []Ack) []Ack {
	n := 0
	for _, a := range acks {
		n += len(a.ID)
	}
	buf := make([]byte, 0, n)
	for i, a := range acks {
		if a.ID == "" {
			continue
		}
		start := len(buf)
		buf = append(buf, a.ID...) // within n: never reallocated
		acks[i].ID = unsafe.String(&buf[start], len(a.ID))
	}
	return acks
}

// decode validates and enriches raws into a batch, in the caller's
// goroutine: the fast path (fastpath.go) for the events it takes, the
// reference path (validate.go) for the others, which also names every
// problem of an invalid event.
func (s *Service) decode(dec *batchDecoder, raws []json.RawMessage) (*Batch, error) {
	org := dec.org
	b := &Batch{Org: org}
	var details []Detail
	seen := dec.seen
	if dec.strs.pooled {
		b.Events = dec.events[:0]
	} else {
		b.Events = make([]*Pending, 0, len(raws))
		seen = make(map[string]int, len(raws))
	}
	fast := dec.pendings(len(raws))
	for i, raw := range raws {
		p := &fast[i]
		if !dec.prepare(raw, p) {
			var d []Detail
			if p, d = s.prepare(org, i, raw); d != nil {
				details = append(details, d...)
				continue
			}
		}
		if j, dup := seen[p.Event.ID]; dup {
			details = append(details, Detail{Index: i, Field: "id", Expected: "an id not used by another event of this batch (event " + strconv.Itoa(j) + " has it)"})
			continue
		}
		seen[p.Event.ID] = i
		b.Events = append(b.Events, p)
	}
	if dec.strs.pooled {
		dec.events = b.Events
	}
	if len(details) > 0 {
		return nil, &Error{Code: CodeUnprocessable, Message: invalidMessage(details), Details: details}
	}
	return b, nil
}

func invalidMessage(details []Detail) string {
	n := map[int]bool{}
	for _, d := range details {
		n[d.Index] = true
	}
	if len(n) == 1 {
		return "event " + strconv.Itoa(details[0].Index) + " is invalid; nothing was stored"
	}
	return strconv.Itoa(len(n)) + " events are invalid; nothing was stored"
}

// Record appends an event Trail records itself (an export, a page view),
// marked as such so that no producer event can pass for it.
func (s *Service) Record(ctx context.Context, org, typ string, actor Actor, metadata map[string]any) (Ack, error) {
	t, ok := s.catalog.Lookup(typ)
	if !ok {
		return Ack{}, Errorf(CodeInternal, "record: unknown event type %q", typ)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	ev := Event{
		ID: newEventID(), Org: org, Type: typ, Category: string(t.Category),
		Actor: actor, OccurredAt: now, Metadata: metadata, RecordedBy: RecordedByTrail,
	}
	ev.Description = t.Render(catalog.Ref(actor), nil, metadata)
	b := &Batch{Org: org, Events: []*Pending{{Event: ev}}}
	if err := s.submit(ctx, b); err != nil {
		return Ack{}, err
	}
	return b.Results[0], nil
}

// submit queues b for the next group commit and waits until it is durable
// or failed.
func (s *Service) submit(ctx context.Context, b *Batch) error {
	if err := s.integ.quarantined(b.Org); err != nil {
		return err
	}
	if p, ok := s.store.(BatchPreparer); ok {
		p.PrepareBatch(b)
	}
	c := &commit{batch: b, done: make(chan struct{})}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return Errorf(CodeUnavailable, "Trail is shutting down; retry")
	}
	select {
	case s.queue <- c:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return Errorf(CodeUnavailable, "request cancelled before its events were queued; nothing was stored")
	}
	s.closeMu.RUnlock()
	// Once queued, the batch commits or fails as a whole even if the
	// caller goes away: a retry with the same ids is then idempotent.
	<-c.done
	return b.Err
}

// committer is the one goroutine that writes: it takes every batch
// waiting, commits them in one transaction, and wakes their callers.
func (s *Service) committer() {
	defer s.stopped.Done()
	group := make([]*commit, 0, 64)
	for {
		select {
		case c := <-s.queue:
			group = s.fill(append(group[:0], c))
			s.commitGroup(group)
		case <-s.stop:
			for {
				select {
				case c := <-s.queue:
					s.commitGroup(s.fill(append(group[:0], c)))
				default:
					return
				}
			}
		}
	}
}

// fill adds waiting batches to group up to maxGroup events.
func (s *Service) fill(group []*commit) []*commit {
	n := len(group[0].batch.Events)
	for n < s.maxGroup {
		select {
		case c := <-s.queue:
			group = append(group, c)
			n += len(c.batch.Events)
		default:
			return group
		}
	}
	return group
}

func (s *Service) commitGroup(group []*commit) {
	start := s.now()
	received := start.UTC().Truncate(time.Microsecond)
	batches := make([]*Batch, len(group))
	events := 0
	for i, c := range group {
		batches[i] = c.batch
		for _, p := range c.batch.Events {
			p.Event.ReceivedAt = received
		}
		events += len(c.batch.Events)
	}
	err := s.store.Append(context.Background(), batches)
	if err == nil {
		s.integ.committed(batches)
	}
	if err != nil {
		s.log.Error("commit failed", "batches", len(batches), "events", events, "err", err)
		if code := ErrorCode(err); code != CodeUnavailable && code != CodeStoreFailed {
			err = &Error{Code: CodeUnavailable, Message: "the store could not commit the events; nothing was stored; retry", Err: err}
		}
		for _, b := range batches {
			b.Err = err
		}
	}
	if s.metrics != nil {
		s.metrics.Committed(len(batches), events, time.Since(start), err)
	}
	if err == nil {
		s.notifyCommitted(batches)
	}
	for _, c := range group {
		close(c.done)
	}
}
