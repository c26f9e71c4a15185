// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// The delivery engine: a supervisor starts one worker per active stream;
// a worker holds the stream's lease, reads the org's log from the store
// after the durable cursor, delivers in batches and moves the cursor only
// after the destination acknowledged. Everything a worker knows is in the
// store, so a restart, or another replica taking over, resumes exactly
// after the last acknowledged delivery (at least once).

// systemActor is the actor of the events the engine records itself.
var systemActor = audit.Actor{Type: "system", ID: "trail", Name: "Trail"}

// Run delivers to every org's active streams until ctx is done, then
// releases its leases. Run it once per process.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Poll)
	defer t.Stop()
	for {
		m.reconcile(ctx)
		select {
		case <-ctx.Done():
			m.wait()
			return
		case <-t.C:
		case <-m.kick:
		}
	}
}

// reconcile starts a worker for each active stream that has none.
// Workers stop by themselves when their stream is paused or deleted.
func (m *Manager) reconcile(ctx context.Context) {
	all, err := m.store.AllStreams(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("stream: listing streams failed", "err", err)
		}
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range all {
		key := streamKey{st.Org, st.ID}
		if st.Paused || m.workers[key] != nil {
			continue
		}
		w := &worker{m: m, org: st.Org, id: st.ID, wake: make(chan struct{}, 1), ctl: make(chan struct{}, 1),
			busy: make(chan struct{}, 1), done: make(chan struct{})}
		m.workers[key] = w
		go w.run(ctx)
	}
}

// wait waits for every worker to stop.
func (m *Manager) wait() {
	m.mu.Lock()
	ws := make([]*worker, 0, len(m.workers))
	for _, w := range m.workers {
		ws = append(ws, w)
	}
	m.mu.Unlock()
	for _, w := range ws {
		<-w.done
	}
}

// notify wakes the workers of org: new events were committed.
func (m *Manager) notify(org string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, w := range m.workers {
		if k.org == org {
			signal(w.wake)
		}
	}
}

// poke tells a stream's worker that its configuration changed.
func (m *Manager) poke(org, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if w := m.workers[streamKey{org, id}]; w != nil {
		signal(w.ctl)
	}
}

// settle tells a stream's worker in this process that the stream changed
// (paused, replayed, deleted) and waits until the step it may be in is
// over: that step read the stream before the change and may still build
// and send a delivery from it. Every later step reads the change. A step
// lasts at most one delivery (bounded by the timeout); a worker lingering
// for a batch to fill stops lingering when poked.
func (m *Manager) settle(ctx context.Context, org, id string) error {
	m.mu.Lock()
	w := m.workers[streamKey{org, id}]
	if w != nil {
		signal(w.ctl)
	}
	m.mu.Unlock()
	if w == nil {
		return nil
	}
	select {
	case w.busy <- struct{}{}:
		<-w.busy
		return nil
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Manager) wakeSupervisor() { signal(m.kick) }

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// worker delivers to one stream.
type worker struct {
	m         *Manager
	org, id   string
	wake, ctl chan struct{}
	busy      chan struct{} // holds a token while the worker is in a step (see settle)
	done      chan struct{}

	sink       Sink
	sinkKey    string // the settings the sink was opened with
	leaseUntil time.Time
	pending    *pendingBatch // the batch being retried, if any
	ahead      *prefetched   // the batch after the one last delivered
	lastSend   time.Time     // when the last delivery started
	parsed     *audit.Filter // the stream's filter, parsed once
}

// pendingBatch is a delivery not yet acknowledged: retried as it is, with
// the same ID, until it is or a replay makes it moot.
type pendingBatch struct {
	batch *Batch
	epoch int64
}

// prefetched is a batch built while the one before it was in flight,
// valid only if that one was acknowledged and nothing else moved the
// cursor.
type prefetched struct {
	cursor      audit.StreamCursor // the cursor it was built from
	batch       *Batch
	advanceOnly bool
	err         error
}

// errStop ends a worker.
var errStop = errors.New("stream: worker stops")

func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	defer func() {
		w.m.mu.Lock()
		delete(w.m.workers, streamKey{w.org, w.id})
		w.m.mu.Unlock()
		if w.sink != nil {
			w.sink.Close()
		}
		if !w.leaseUntil.IsZero() {
			_ = w.m.store.ReleaseStream(context.WithoutCancel(ctx), w.org, w.id, w.m.cfg.Holder)
		}
	}()
	for ctx.Err() == nil {
		w.busy <- struct{}{}
		wait, err := w.step(ctx)
		<-w.busy
		if errors.Is(err, errStop) {
			return
		}
		if err != nil && ctx.Err() == nil {
			w.m.log.Warn("stream: delivery step failed", "org", w.org, "stream", w.id, "err", err)
			wait = w.m.cfg.Poll
		}
		w.sleep(ctx, wait)
	}
}

// sleep waits for d, a control change, or (when the worker is idle rather
// than backing off) new events.
func (w *worker) sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	wake := w.wake
	if w.pending != nil {
		wake = nil // backing off: new events do not cut it short
	}
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-w.ctl:
	case <-wake:
	}
}

// step does one unit of work and says how long to wait before the next.
func (w *worker) step(ctx context.Context) (time.Duration, error) {
	// The lease first, then the cursor: a replica taking over must start
	// from the cursor its predecessor left, not from one it read before
	// the predecessor's last delivery.
	if ok, err := w.lease(ctx); err != nil || !ok {
		if errors.Is(err, errStop) {
			return 0, errStop
		}
		return w.m.cfg.LeaseTTL / 3, err
	}
	st, err := w.m.store.Stream(ctx, w.org, w.id)
	if audit.ErrorCode(err) == audit.CodeNotFound || (err == nil && st.Paused) {
		return 0, errStop
	}
	if err != nil {
		return 0, err
	}
	if w.pending != nil && (w.pending.epoch != st.Cursor.Epoch || w.pending.batch.FirstSeq != st.Cursor.DeliveredSeq+1) {
		// Replayed, or another replica delivered it while this one had
		// lost the lease: the batch is moot.
		w.pending = nil
	}
	if w.pending == nil {
		if skipped, err := w.skipPruned(ctx, st); err != nil || skipped {
			return 0, err
		}
		b, advanceOnly, err := w.takeAhead(ctx, st)
		if err != nil || b == nil {
			return w.m.cfg.Poll, err
		}
		if advanceOnly { // every event of the range was filtered out
			return 0, w.advance(ctx, st, b)
		}
		w.pending = &pendingBatch{batch: b, epoch: st.Cursor.Epoch}
	}
	return w.deliver(ctx, st)
}

// takeAhead returns the prefetched batch if it was built from st's
// cursor, else builds the next batch now.
func (w *worker) takeAhead(ctx context.Context, st audit.Stream) (*Batch, bool, error) {
	p := w.ahead
	w.ahead = nil
	if p != nil && p.cursor.DeliveredSeq == st.Cursor.DeliveredSeq && p.cursor.Epoch == st.Cursor.Epoch &&
		p.cursor.CheckpointSize == st.Cursor.CheckpointSize {
		return p.batch, p.advanceOnly, p.err
	}
	return w.next(ctx, st)
}

// lease takes or renews the stream's lease when a third of it is left.
func (w *worker) lease(ctx context.Context) (bool, error) {
	now := w.m.cfg.Now()
	if w.leaseUntil.Sub(now) > w.m.cfg.LeaseTTL*2/3 {
		return true, nil
	}
	ok, err := w.m.store.LeaseStream(ctx, w.org, w.id, w.m.cfg.Holder, now, w.m.cfg.LeaseTTL)
	if audit.ErrorCode(err) == audit.CodeNotFound {
		return false, errStop
	}
	if err != nil || !ok {
		w.leaseUntil = time.Time{}
		return false, err
	}
	w.leaseUntil = now.Add(w.m.cfg.LeaseTTL)
	return true, nil
}

// deliver sends the pending batch once and records the outcome.
func (w *worker) deliver(ctx context.Context, st audit.Stream) (time.Duration, error) {
	b := w.pending.batch
	// While the batch is in flight, build the one after it (reading
	// only): a steady stream overlaps reading the log with delivering.
	w.lastSend = time.Now()
	after := st
	after.Cursor.DeliveredSeq = b.LastSeq
	after.Cursor.CheckpointSize = max(st.Cursor.CheckpointSize, b.CheckpointSize)
	ahead := make(chan *prefetched, 1)
	go func() {
		nb, advanceOnly, err := w.next(ctx, after)
		ahead <- &prefetched{cursor: after.Cursor, batch: nb, advanceOnly: advanceOnly, err: err}
	}()
	err := w.send(ctx, st, b)
	next := <-ahead
	if ctx.Err() != nil {
		return 0, nil // shutting down: the batch is sent again after restart
	}
	if err == nil {
		w.m.metrics.ok(len(b.Events))
		err = w.advance(ctx, st, b)
		w.pending = nil
		if err == nil {
			w.ahead = next
		}
		return 0, err
	}
	w.m.metrics.failed()
	msg := errText(err)
	n, ferr := w.m.store.StreamFailed(ctx, w.org, w.id, w.pending.epoch, msg, w.m.cfg.Now().UTC())
	if errors.Is(ferr, audit.ErrStreamMoved) {
		w.pending = nil
		return 0, nil
	}
	if ferr != nil {
		return 0, ferr
	}
	w.m.log.Warn("stream: delivery failed", "org", w.org, "stream", w.id, "first_seq", b.FirstSeq, "last_seq", b.LastSeq, "failures", n, "err", msg)
	if n == w.m.cfg.FailingAfter {
		meta := streamMeta(st)
		meta["failures"], meta["error"], meta["delivered_seq"] = n, msg, st.Cursor.DeliveredSeq
		w.record(ctx, "org.audit_log.stream.failing", meta)
	}
	return w.m.backoff(n), nil
}

// send opens the sink if needed and delivers b under the timeout.
func (w *worker) send(ctx context.Context, st audit.Stream, b *Batch) error {
	if w.sink == nil || w.sinkKey != string(st.Settings) {
		if w.sink != nil {
			w.sink.Close()
			w.sink = nil
		}
		k, ok := LookupKind(st.Kind)
		if !ok {
			return fmt.Errorf("this Trail has no stream kind %q", st.Kind)
		}
		sink, err := k.Open(st.Settings, w.m.env)
		if err != nil {
			return err
		}
		w.sink, w.sinkKey = sink, string(st.Settings)
	}
	ctx, cancel := context.WithTimeout(ctx, w.m.cfg.Timeout)
	defer cancel()
	return w.sink.Deliver(ctx, b)
}

// advance moves the cursor past an acknowledged batch, and records the
// recovery of a failing stream.
func (w *worker) advance(ctx context.Context, st audit.Stream, b *Batch) error {
	err := w.m.store.AdvanceStream(ctx, w.org, w.id, st.Cursor.Epoch, b.LastSeq, b.CheckpointSize, w.m.cfg.Now().UTC())
	if errors.Is(err, audit.ErrStreamMoved) {
		return nil
	}
	if audit.ErrorCode(err) == audit.CodeNotFound {
		return errStop
	}
	if err == nil && st.Cursor.Failures >= w.m.cfg.FailingAfter {
		meta := streamMeta(st)
		meta["failures"] = st.Cursor.Failures
		w.record(ctx, "org.audit_log.stream.recover", meta)
	}
	return err
}

// skipPruned tells a stream whose cursor fell behind the org's pruning
// point P (retention removed events 0 … P-1 before they were delivered)
// and moves its cursor to P-1, so that delivery continues from P: an
// org.audit_log.stream.pruned event names the range, and the stream's
// last_error says it (see prunedText). It reports whether it moved the
// cursor; a stream at or past P is left alone.
func (w *worker) skipPruned(ctx context.Context, st audit.Stream) (bool, error) {
	p, err := w.m.svc.PrunedBefore(ctx, w.org)
	if err != nil || st.Cursor.DeliveredSeq+1 >= p {
		return false, err
	}
	from, to := st.Cursor.DeliveredSeq+1, p-1
	msg := prunedText(from, to)
	w.m.log.Warn("stream: "+msg, "org", w.org, "stream", w.id)
	meta := streamMeta(st)
	meta["from_seq"], meta["to_seq"], meta["events"] = from, to, to-from+1
	w.record(ctx, "org.audit_log.stream.pruned", meta)
	now := w.m.cfg.Now().UTC()
	// The message is kept as the last error (it outlives the advance,
	// which clears only the count of failures): the API view reads it.
	_, err = w.m.store.StreamFailed(ctx, w.org, w.id, st.Cursor.Epoch, msg, now)
	if err == nil {
		err = w.m.store.AdvanceStream(ctx, w.org, w.id, st.Cursor.Epoch, to, st.Cursor.CheckpointSize, now)
	}
	w.ahead = nil
	switch {
	case errors.Is(err, audit.ErrStreamMoved):
		return true, nil // replayed meanwhile: the next step reads the new cursor
	case audit.ErrorCode(err) == audit.CodeNotFound:
		return true, errStop
	}
	return err == nil, err
}

// prunedText is a stream's last_error after events from … to were pruned
// before it delivered them; parsePruned reads it back.
func prunedText(from, to int64) string {
	return fmt.Sprintf("events %d..%d were pruned before delivery", from, to)
}

func parsePruned(s string) (from, to int64, ok bool) {
	if _, err := fmt.Sscanf(s, "events %d..%d were pruned before delivery", &from, &to); err != nil || prunedText(from, to) != s {
		return 0, 0, false
	}
	return from, to, true
}

func (w *worker) record(ctx context.Context, typ string, meta map[string]any) {
	if _, err := w.m.svc.Record(ctx, w.org, typ, systemActor, meta); err != nil && ctx.Err() == nil {
		w.m.log.Warn("stream: recording an event failed", "org", w.org, "stream", w.id, "type", typ, "err", err)
	}
}

// backoff is the wait after the n-th consecutive failure: exponential from
// RetryMin, capped at RetryMax, with jitter (a random half to whole).
func (m *Manager) backoff(n int64) time.Duration {
	d := m.cfg.RetryMin
	for i := int64(1); i < n && d < m.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, m.cfg.RetryMax)
	return d/2 + rand.N(d/2+1)
}
