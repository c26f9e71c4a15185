// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// scanWindow bounds the seqs one delivery covers, in units of MaxBatch:
// a stream whose filter matches little still moves in bounded steps.
const scanWindow = 100

// errFull stops a scan once a batch is full.
var errFull = errors.New("stream: batch full")

// next builds the next delivery after the cursor: up to MaxBatch matching
// events (and MaxBatchBytes rendered), with the org's newest signed
// checkpoint when the destination lacks it and will hold every event it
// covers. It returns nil when there is nothing to send, and advanceOnly
// when the range holds no matching event and no checkpoint: the cursor
// then moves past it without a delivery.
func (w *worker) next(ctx context.Context, st audit.Stream) (b *Batch, advanceOnly bool, err error) {
	filter, err := w.filter(st.Filter)
	if err != nil {
		return nil, false, err
	}
	from := st.Cursor.DeliveredSeq + 1
	size, err := w.m.store.Size(ctx, w.org)
	if err != nil {
		return nil, false, err
	}
	if wait := w.m.cfg.Linger - time.Since(w.lastSend); size > from && size-from < int64(w.m.cfg.MaxBatch) && wait > 0 {
		// Let the batch fill, up to Linger after the last delivery
		// started: fewer, larger deliveries, and at most Linger of delay.
		if !w.linger(ctx, wait) {
			return nil, false, nil
		}
		if size, err = w.m.store.Size(ctx, w.org); err != nil {
			return nil, false, err
		}
	}
	b = &Batch{Org: w.org, Stream: st.ID, Format: st.Format, FirstSeq: from, LastSeq: from - 1}
	if size > from {
		if err := w.collect(ctx, st, filter, b, min(size, from+scanWindow*int64(w.m.cfg.MaxBatch))); err != nil {
			return nil, false, err
		}
	}
	if cp, err := w.m.svc.LatestCheckpoint(ctx, w.org); err == nil &&
		cp.Size > st.Cursor.CheckpointSize && cp.Size <= b.LastSeq+1 {
		b.Checkpoint, b.CheckpointSize = cp.Note, cp.Size
	}
	switch {
	case b.LastSeq < b.FirstSeq && b.Checkpoint == "":
		return nil, false, nil // idle, and the destination has the newest checkpoint
	case len(b.Events) == 0 && b.Checkpoint == "":
		return b, true, nil
	}
	b.ID = fmt.Sprintf("%s-e%d-%d-%d-c%d", st.ID, st.Cursor.Epoch, b.FirstSeq, b.LastSeq, b.CheckpointSize)
	return b, false, nil
}

// linger waits d for more events; false when the stream changed
// meanwhile (the caller starts over).
func (w *worker) linger(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-w.ctl:
		signal(w.ctl) // the next sleep returns at once
		return false
	case <-t.C:
		return true
	}
}

// collect scans [b.FirstSeq, to) and fills b with matching events, their
// renderings and LastSeq, the last seq the batch covers.
func (w *worker) collect(ctx context.Context, st audit.Stream, filter audit.Filter, b *Batch, to int64) error {
	format, ok := LookupFormat(st.Format)
	if !ok {
		return fmt.Errorf("this Trail has no stream format %q", st.Format)
	}
	var data, rendered []byte
	var dataEnd, renderedEnd []int
	var seqs []int64
	b.LastSeq = to - 1
	err := w.m.store.Scan(ctx, w.org, b.FirstSeq, to, filter, func(seq int64, ev []byte) error {
		data = append(data, ev...)
		var err error
		if rendered, err = format(rendered, Event{Seq: seq, Data: ev}); err != nil {
			return fmt.Errorf("rendering seq %d as %s: %w", seq, st.Format, err)
		}
		seqs, dataEnd, renderedEnd = append(seqs, seq), append(dataEnd, len(data)), append(renderedEnd, len(rendered))
		if len(seqs) >= w.m.cfg.MaxBatch || len(rendered) >= w.m.cfg.MaxBatchBytes {
			b.LastSeq = seq
			return errFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return err
	}
	b.Events, b.Rendered = make([]Event, len(seqs)), make([][]byte, len(seqs))
	d, r := 0, 0
	for i, seq := range seqs {
		b.Events[i] = Event{Seq: seq, Data: data[d:dataEnd[i]:dataEnd[i]]}
		b.Rendered[i] = rendered[r:renderedEnd[i]:renderedEnd[i]]
		d, r = dataEnd[i], renderedEnd[i]
	}
	return nil
}

// filter parses the stream's search string once per worker.
func (w *worker) filter(s string) (audit.Filter, error) {
	if w.parsed == nil {
		f, err := w.m.parseFilter(s)
		if err != nil {
			return f, err
		}
		w.parsed = &f
	}
	return *w.parsed, nil
}
