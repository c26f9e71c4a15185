// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// maxInFlight bounds the open-loop client's concurrent requests; a
// request due while that many are waiting is counted as late and skipped.
const maxInFlight = 256

// orgOf says which org request i goes to: every other request to the big
// org, the others round the small orgs in turn.
func (r *run) orgOf(i int) int {
	if i%2 == 0 || len(r.orgs) == 1 {
		return 0
	}
	return 1 + (i/2)%(len(r.orgs)-1)
}

// ingestPhase posts the prebuilt bodies with Clients closed-loop clients
// for Duration and returns the events acknowledged per org.
func (r *run) ingestPhase(ctx context.Context, h *httpClient) ([]int64, error) {
	r.progress("ingest over HTTP: %d clients for %s", r.o.Clients, r.o.Duration)
	acked := make([]atomic.Int64, len(r.orgs))
	var lat latencies
	var next atomic.Int64
	start := time.Now()
	deadline := start.Add(r.o.Duration)
	err := parallel(ctx, r.o.Clients, func(ctx context.Context) error {
		for time.Now().Before(deadline) {
			i := int(next.Add(1) - 1)
			org := r.orgOf(i)
			t0 := time.Now()
			if err := h.post(ctx, r.orgs[org], r.pool.bodies[i%len(r.pool.bodies)]); err != nil {
				return err
			}
			lat.add(time.Since(t0))
			acked[org].Add(int64(r.o.Batch))
		}
		return nil
	})
	took := time.Since(start)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(acked))
	var total int64
	for i := range acked {
		out[i] = acked[i].Load()
		total += out[i]
	}
	r.ingest = float64(total) / took.Seconds()
	r.report.add(row{
		name: fmt.Sprintf("ingest over HTTP: batches of %d, %d clients, %s, big org + %d small orgs", r.o.Batch, r.o.Clients, r.o.Duration, len(r.orgs)-1),
		trail: fmt.Sprintf("%s events/s (%s events; request p50 %s, p99 %s)",
			rate(r.ingest), count(total), ms(lat.pct(50)), ms(lat.pct(99))),
		base:   rate(r.baselineIngest) + " rows/s",
		ratio:  ratio(r.ingest, r.baselineIngest),
		target: "≥ 100,000 events/s and ≥ 8×",
	})
	return out, nil
}

// latencyPhase offers half the measured ingest rate with an open-loop
// client: requests leave on a fixed schedule whether or not earlier ones
// have been answered, and each latency counts from its scheduled time, so
// a stall is not hidden by the client waiting for it.
func (r *run) latencyPhase(ctx context.Context, h *httpClient) error {
	offered := r.ingest / 2
	if offered <= 0 {
		return errors.New("no ingest rate to halve")
	}
	interval := time.Duration(float64(time.Second) * float64(r.o.Batch) / offered)
	r.progress("request latency at %s events/s (a request every %s) for %s", rate(offered), interval, r.o.Duration)
	var lat latencies
	var inFlight atomic.Int64
	var late int
	var wg sync.WaitGroup
	var errOnce sync.Once
	var firstErr error
	start := time.Now()
	for k := 0; ; k++ {
		at := start.Add(time.Duration(k) * interval)
		if !at.Before(start.Add(r.o.Duration)) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Until(at))
		if inFlight.Load() >= maxInFlight {
			late++
			continue
		}
		inFlight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer inFlight.Add(-1)
			if err := h.post(ctx, r.orgs[r.orgOf(k)], r.pool.bodies[k%len(r.pool.bodies)]); err != nil {
				errOnce.Do(func() { firstErr = err })
				return
			}
			lat.add(time.Since(at))
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	note := ""
	if late > 0 {
		note = fmt.Sprintf("; %d requests skipped with %d in flight", late, maxInFlight)
	}
	r.report.add(row{
		name:   fmt.Sprintf("ingest request latency at half that load (open loop, %s events/s)", rate(offered)),
		trail:  fmt.Sprintf("p50 %s, p99 %s (%d requests%s)", ms(lat.pct(50)), ms(lat.pct(99)), lat.len(), note),
		target: "p99 ≤ 50 ms",
	})
	return nil
}
