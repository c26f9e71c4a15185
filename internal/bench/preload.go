// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/geo"
)

// preloadBatch is the events per Ingest call while preloading.
const preloadBatch = 1000

// inProcess opens the store in this process: preloads the big org and the
// small orgs (unless a reused store has them), seals, measures first-page
// queries at the preloaded size, and creates the keys the HTTP phases use.
func (r *run) inProcess(ctx context.Context) error {
	store, err := r.o.Open(ctx)
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer store.Close()
	locator, err := geo.Open(r.geo)
	if err != nil {
		return err
	}
	defer locator.Close()
	clock := &simClock{}
	svc := audit.NewService(audit.Config{Store: store, Locator: locator, Now: clock.now, Logger: discardLogger()})
	defer svc.Close()

	r.orgs = append([]string{r.o.Org}, smallOrgNames(r.o.Org, r.o.SmallOrgs)...)
	if err := r.preloadBig(ctx, svc, clock); err != nil {
		return err
	}
	if err := r.preloadSmall(ctx, svc, clock); err != nil {
		return err
	}
	if err := r.seal(ctx, store, "after preload"); err != nil {
		return err
	}
	if err := r.queries(ctx, svc); err != nil { // queries.go
		return err
	}
	r.keys, err = createKeys(ctx, store)
	return err
}

func smallOrgNames(big string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-s%04d", big, i)
	}
	return out
}

// preloadBig fills the big org up to Preload events, 8 goroutines feeding
// batches to the service so that commits group several batches.
func (r *run) preloadBig(ctx context.Context, svc *audit.Service, clock *simClock) error {
	have, err := svc.Store().Size(ctx, r.o.Org)
	if err != nil {
		return err
	}
	want := int64(r.o.Preload)
	if have >= want {
		r.report.add(row{name: "preload big org", trail: fmt.Sprintf("%s events already stored (reused)", count(have))})
		return nil
	}
	r.progress("preloading %d events into %q", want-have, r.o.Org)
	h := history{end: time.Now(), days: 180, total: want}
	start := time.Now()
	var next atomic.Int64
	next.Store(have)
	err = parallel(ctx, 8, func(ctx context.Context) error {
		for {
			first := next.Add(preloadBatch) - preloadBatch
			if first >= want || ctx.Err() != nil {
				return ctx.Err()
			}
			batch := h.batch(r.pool.events, first, min(preloadBatch, want-first))
			clock.advance(h.at(first + int64(len(batch)) - 1))
			if _, err := svc.Ingest(ctx, r.o.Org, batch); err != nil {
				return fmt.Errorf("preloading %q at event %d: %w", r.o.Org, first, err)
			}
		}
	})
	if err != nil {
		return err
	}
	took := time.Since(start)
	n := want - have
	r.report.add(row{name: "preload big org (in-process, batches of 1000)",
		trail:  fmt.Sprintf("%s events in %s = %s events/s", count(n), dur(took), rate(float64(n)/took.Seconds())),
		target: "10M in ≤ 2 min"})
	return nil
}

// preloadSmall gives each small org SmallEvents events, concurrently.
func (r *run) preloadSmall(ctx context.Context, svc *audit.Service, clock *simClock) error {
	h := history{end: time.Now(), days: 180, total: int64(r.o.SmallEvents)}
	clock.advance(time.Now())
	var next atomic.Int64
	start := time.Now()
	var added atomic.Int64
	err := parallel(ctx, 8, func(ctx context.Context) error {
		for {
			i := next.Add(1) - 1
			if i >= int64(len(r.orgs)-1) || ctx.Err() != nil {
				return ctx.Err()
			}
			org := r.orgs[1+i]
			have, err := svc.Store().Size(ctx, org)
			if err != nil {
				return err
			}
			for first := have; first < int64(r.o.SmallEvents); first += preloadBatch {
				// each org starts at another place in the pool
				events := r.pool.events[int(i)*37%len(r.pool.events):]
				batch := h.batch(events, first, min(preloadBatch, int64(r.o.SmallEvents)-first))
				if _, err := svc.Ingest(ctx, org, batch); err != nil {
					return fmt.Errorf("preloading %q: %w", org, err)
				}
				added.Add(int64(len(batch)))
			}
		}
	})
	if err == nil && added.Load() > 0 {
		r.progress("small orgs: %d events in %s", added.Load(), dur(time.Since(start)))
	}
	return err
}

// simClock is the preload's clock: the latest occurred_at handed to the
// service so far, so that received_at follows the history (a received:
// query then has a past to search) and no event occurs in the future.
type simClock struct{ t atomic.Int64 }

func (c *simClock) advance(t time.Time) {
	for {
		old := c.t.Load()
		if t.UnixNano() <= old || c.t.CompareAndSwap(old, t.UnixNano()) {
			return
		}
	}
}

func (c *simClock) now() time.Time {
	if n := c.t.Load(); n != 0 {
		return time.Unix(0, n).Add(time.Second).UTC()
	}
	return time.Now()
}

// Sealer is what a store implements when it seals its unsealed tail into
// final files in the background; the bench calls it so that disk and
// queries are measured on sealed data. Flusher is the same under another
// name. Analyzer refreshes a store's query-planner statistics after a bulk
// load (the SQLite store). None is required.
type (
	Sealer interface {
		Seal(ctx context.Context) error
	}
	Flusher interface {
		Flush(ctx context.Context) error
	}
	Analyzer interface {
		Analyze(ctx context.Context) error
	}
)

// seal calls the store's Seal, Flush and Analyze, those it has, and
// reports their times.
func (r *run) seal(ctx context.Context, store audit.Store, when string) error {
	type hook struct {
		name string
		fn   func(context.Context) error
	}
	var hooks []hook
	if s, ok := store.(Sealer); ok {
		hooks = append(hooks, hook{"Seal", s.Seal})
	}
	if s, ok := store.(Flusher); ok {
		hooks = append(hooks, hook{"Flush", s.Flush})
	}
	if s, ok := store.(Analyzer); ok {
		hooks = append(hooks, hook{"Analyze", s.Analyze})
	}
	var done []string
	for _, h := range hooks {
		r.progress("%s %s", h.name, when)
		start := time.Now()
		if err := h.fn(ctx); err != nil {
			return fmt.Errorf("%s %s: %w", h.name, when, err)
		}
		done = append(done, h.name+" "+dur(time.Since(start)))
	}
	if len(done) > 0 {
		r.report.add(row{name: "store hooks " + when, trail: strings.Join(done, ", ")})
	}
	return nil
}

// benchKeys are the API keys the HTTP phases use, for every org.
type benchKeys struct{ ingest, read string }

func createKeys(ctx context.Context, store audit.Store) (benchKeys, error) {
	var k benchKeys
	for _, x := range []struct {
		scope  audit.Scope
		secret *string
	}{{audit.ScopeIngest, &k.ingest}, {audit.ScopeRead, &k.read}} {
		id, secret := audit.NewKeySecret()
		key := audit.Key{ID: id, Name: "trail bench", Scope: x.scope, CreatedAt: time.Now()}
		if err := store.CreateKey(ctx, key, audit.HashSecret(secret)); err != nil {
			return k, fmt.Errorf("creating a bench key: %w", err)
		}
		*x.secret = secret
	}
	return k, nil
}

// parallel runs fn in n goroutines and returns the first error; the
// context fn gets is cancelled at the first error, so the others stop.
func parallel(ctx context.Context, n int, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
