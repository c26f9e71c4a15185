// SPDX-License-Identifier: Apache-2.0

package ratelimit

import (
	"sync"
	"time"
)

// MaxEntries bounds each table of buckets or failure windows.
const MaxEntries = 100_000

// sweepEvery is how often idle entries are dropped.
const sweepEvery = time.Minute

// buckets is a token bucket per key.
type buckets struct {
	rate      Rate
	now       func() time.Time
	mu        sync.Mutex
	m         map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

func newBuckets(r Rate, now func() time.Time) *buckets {
	if r.Burst < 1 {
		r.Burst = 1
	}
	return &buckets{rate: r, now: now, m: map[string]*bucket{}}
}

// take takes a token of key's bucket and returns 0, or returns how long
// until a token is there (and takes none).
func (b *buckets) take(key string) time.Duration {
	if b.rate.PerMinute <= 0 {
		return 0
	}
	now := b.now()
	perSec := b.rate.PerMinute / 60
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sweep(now)
	bk, ok := b.m[key]
	if !ok {
		bk = &bucket{tokens: float64(b.rate.Burst), at: now}
		b.m[key] = bk
	}
	bk.tokens = min(float64(b.rate.Burst), bk.tokens+now.Sub(bk.at).Seconds()*perSec)
	bk.at = now
	if bk.tokens >= 1 {
		bk.tokens--
		return 0
	}
	return time.Duration((1 - bk.tokens) / perSec * float64(time.Second))
}

// sweep drops the buckets that are full again (forgetting them changes
// nothing), at most once per sweepEvery; a full table drops a tenth of
// its entries, at random.
func (b *buckets) sweep(now time.Time) {
	if now.Sub(b.lastSweep) < sweepEvery && len(b.m) < MaxEntries {
		return
	}
	b.lastSweep = now
	full := time.Duration(float64(b.rate.Burst) / (b.rate.PerMinute / 60) * float64(time.Second))
	crowded := len(b.m) >= MaxEntries
	for k, bk := range b.m {
		if now.Sub(bk.at) >= full || crowded {
			delete(b.m, k)
		}
		if crowded && len(b.m) < MaxEntries*9/10 {
			break
		}
	}
}

// failures counts failed authentications per key in fixed windows that
// start at a key's first failure.
type failures struct {
	max       int
	window    time.Duration
	now       func() time.Time
	mu        sync.Mutex
	m         map[string]*failWindow
	lastSweep time.Time
}

type failWindow struct {
	start time.Time
	n     int
}

func newFailures(max int, window time.Duration, now func() time.Time) *failures {
	return &failures{max: max, window: window, now: now, m: map[string]*failWindow{}}
}

// blocked returns how long key stays blocked, 0 if it is not.
func (f *failures) blocked(key string) time.Duration {
	if f.max <= 0 {
		return 0
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.m[key]
	if !ok || w.n < f.max {
		return 0
	}
	if left := w.start.Add(f.window).Sub(now); left > 0 {
		return left
	}
	return 0
}

// fail records one failure of key.
func (f *failures) fail(key string) {
	if f.max <= 0 {
		return
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sweep(now)
	w, ok := f.m[key]
	if !ok || now.Sub(w.start) >= f.window {
		w = &failWindow{start: now}
		f.m[key] = w
	}
	w.n++
}

// sweep drops ended windows; a full table drops a tenth of its entries,
// at random, rather than grow (an attacker with 100,000 addresses is
// better met by a firewall).
func (f *failures) sweep(now time.Time) {
	if now.Sub(f.lastSweep) < sweepEvery && len(f.m) < MaxEntries {
		return
	}
	f.lastSweep = now
	crowded := len(f.m) >= MaxEntries
	for k, w := range f.m {
		if now.Sub(w.start) >= f.window || crowded {
			delete(f.m, k)
		}
		if crowded && len(f.m) < MaxEntries*9/10 {
			break
		}
	}
}
