// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"runtime/debug"
	"sync"

	"github.com/trailaudit/trail/internal/ledger"
)

// An export's events go through a pipeline of goroutines, so that on a
// machine with more than one core reading the log (for the log engine:
// decompressing its pages), hashing the events' leaves and writing to the
// client overlap instead of taking turns:
//
//	scan (store.Scan, each event formatted into a batch) → hash (leaf
//	hashes, when the export hashes what it streams) → write (the caller's
//	goroutine: one Write per batch)
//
// A batch holds streamBatchBytes or more of formatted output (the first
// one firstBatchBytes), written with one Write to the response; at most
// streamBatches are in flight, so the memory an export holds stays bounded
// (≈ streamBatches × streamBatchBytes) whatever its size. The bytes written
// are exactly those of writing each event in turn: the formatting is the
// same, only where it happens changes.

// firstBatchBytes is the output the first batch holds before the scan
// hands it on: the size of the export's buffered writer, so that the
// first bytes reach the client about when they did when the events were
// written one by one through it (an error before then is still answered
// as an error, not as a cut transfer).
const firstBatchBytes = 64 << 10

// streamBatchBytes is the output of each later batch.
const streamBatchBytes = 256 << 10

// streamBatches is how many batches an export keeps in flight.
const streamBatches = 16

// streamBatch is a run of consecutive events, formatted.
type streamBatch struct {
	out  []byte // the events as written, separators included
	ends []int  // hashing only: each event's bytes are out[start:end], ends holding start, end pairs
	n    int64  // events in the batch
}

// maxKeptBatch is the largest buffer a batch keeps for reuse: one grown
// for a huge event is dropped, not held for the rest of the export.
const maxKeptBatch = 1 << 20

func (b *streamBatch) reset() {
	if cap(b.out) > maxKeptBatch {
		b.out = nil
	}
	b.out, b.ends, b.n = b.out[:0], b.ends[:0], 0
}

// appender is an io.Writer appending to a batch's output (CSV rows).
type appender struct{ b **streamBatch }

func (a appender) Write(p []byte) (int, error) {
	(*a.b).out = append((*a.b).out, p...)
	return len(p), nil
}

// writeEvents streams the export's events through the pipeline to w,
// after what bw holds, and returns how many it wrote. progress, if not
// nil, is called with each multiple of 10,000 events written.
func (x *Export) writeEvents(parent context.Context, w io.Writer, bw *bufio.Writer, progress func(int64)) (int64, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	free := make(chan *streamBatch, streamBatches)
	for range streamBatches {
		free <- &streamBatch{}
	}
	var wg sync.WaitGroup
	var scanErr error
	var panicked pipePanic
	scanned := make(chan *streamBatch, streamBatches)
	wg.Go(func() {
		defer close(scanned)
		defer panicked.catch(cancel)
		scanErr = x.scanBatches(ctx, free, scanned)
	})
	batches := scanned
	if x.leaves != nil {
		hashed := make(chan *streamBatch, streamBatches)
		wg.Go(func() {
			defer close(hashed)
			defer panicked.catch(cancel)
			for b := range scanned {
				for i := 0; i < len(b.ends); i += 2 {
					leaf, _ := ledger.EventLeaf(b.out[b.ends[i]:b.ends[i+1]]) // a redacted event stands by its original leaf
					x.leaves.add(leaf)
				}
				select {
				case hashed <- b:
				case <-ctx.Done():
					return
				}
			}
		})
		batches = hashed
	}
	var count int64
	var err error
	for b := range batches {
		if err = ctx.Err(); err != nil {
			break // cancelled: what was scanned ahead is not written
		}
		// bw's bytes (the header, small batches) go first, filled up
		// from the batch, as they did when every byte went through bw;
		// then the rest of the batch with one Write, not copied.
		out := b.out
		if bw.Buffered() > 0 {
			k := min(len(out), bw.Available())
			bw.Write(out[:k])
			if out = out[k:]; len(out) > 0 {
				err = bw.Flush()
			}
		}
		if len(out) > 0 && err == nil {
			_, err = w.Write(out)
		}
		if err != nil {
			break
		}
		before := count
		count += b.n
		if progress != nil {
			for m := (before/10000 + 1) * 10000; m <= count; m += 10000 {
				progress(m)
			}
		}
		b.reset()
		free <- b // never blocks: free holds every batch not in flight
	}
	cancel() // a write failed: stop the scan; else a no-op, the scan is done
	wg.Wait()
	panicked.rethrow()
	if err != nil {
		return count, err
	}
	if scanErr == nil {
		// The context may end during the last batch's Write, after the
		// scan is done: the export is not complete (its end is not
		// written), so it fails as it would have a batch earlier.
		scanErr = parent.Err()
	}
	return count, scanErr
}

// pipePanic carries a panic of a pipeline goroutine to the export's own
// goroutine, where it goes on as it did when the export was one goroutine
// (the API answers a 500 or cuts the transfer; a command crashes), instead
// of ending the process from a goroutine nobody recovers.
type pipePanic struct {
	mu sync.Mutex
	p  any
}

// catch, deferred by a pipeline goroutine, keeps its panic and stops the
// pipeline.
func (pp *pipePanic) catch(stop func()) {
	p := recover()
	if p == nil {
		return
	}
	pp.mu.Lock()
	if pp.p == nil {
		pp.p = fmt.Sprintf("%v\n\nin an export's pipeline goroutine:\n%s", p, debug.Stack())
	}
	pp.mu.Unlock()
	stop()
}

// rethrow panics with the kept panic, if any.
func (pp *pipePanic) rethrow() {
	if pp.p != nil {
		panic(pp.p)
	}
}

// scanBatches runs the store's scan, formats the events into batches and
// sends each full one to out; the last, partial one too, also when the
// scan fails (the events before a failure are written, as they were when
// events were written one by one).
func (x *Export) scanBatches(ctx context.Context, free <-chan *streamBatch, out chan<- *streamBatch) error {
	limit := firstBatchBytes
	b := <-free
	// A batch's buffer is sized once for its limit and an event more,
	// not grown by doubling (garbage on every export's first batches).
	size := func() {
		if cap(b.out) < limit {
			b.out = make([]byte, 0, limit+limit/8)
		}
	}
	size()
	send := func() error {
		select {
		case out <- b:
			b = nil
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case b = <-free:
			size()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	hash := x.leaves != nil
	var cw *csv.Writer
	if x.req.Format == FormatCSV {
		cw = csv.NewWriter(appender{&b})
	}
	var count int64
	err := x.s.store.Scan(ctx, x.org, x.Pruned, x.Size, x.req.Filter, func(seq int64, data []byte) error {
		start := len(b.out)
		switch x.req.Format {
		case FormatNDJSON:
			b.out = append(append(b.out, data...), '\n')
		case FormatCSV:
			row, err := csvRow(data)
			if err != nil {
				return err
			}
			cw.Write(row)
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
		default:
			if count > 0 {
				b.out = append(b.out, ',')
				start++
			}
			b.out = append(b.out, data...)
		}
		if hash {
			b.ends = append(b.ends, start, start+len(data))
		}
		b.n++
		count++
		if len(b.out) >= limit {
			limit = streamBatchBytes
			return send()
		}
		return nil
	})
	if b != nil && b.n > 0 {
		select {
		case out <- b:
		case <-ctx.Done():
		}
	}
	return err
}
