// SPDX-License-Identifier: Apache-2.0

package producer_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/trailtest"
	"github.com/trailaudit/trail/producer"
)

// BenchmarkSend measures Send into an fsync'd spool from 16 goroutines
// (sharing fsyncs), with Trail unreachable so that only the spool is
// measured; it reports p99 latency.
func BenchmarkSend(b *testing.B) { benchSpool(b, 16) }

// BenchmarkSendOneSender is BenchmarkSend from one goroutine: one fsync per
// event, the baseline group fsync is compared with.
func BenchmarkSendOneSender(b *testing.B) { benchSpool(b, 1) }

func benchSpool(b *testing.B, senders int) {
	cfg := testConfig("http://"+trailtest.FreeAddr(b), "k", b.TempDir())
	cfg.MaxSpoolBytes = 1 << 30
	cfg.CloseTimeout = time.Millisecond
	p, err := producer.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	reportLatency(b, benchSends(b, p, senders))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEndToEnd measures producer → Trail: Send from 16 goroutines,
// then Flush, against a real trail serve.
func BenchmarkEndToEnd(b *testing.B) {
	data := b.TempDir()
	key := trailtest.CreateKey(b, data, "admin")
	srv := trailtest.Start(b, data, "")
	p, err := producer.Open(testConfig(srv.Base, key, b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	lat := benchSends(b, p, 16)
	if err := p.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportLatency(b, lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchSends sends b.N events from senders goroutines and returns each
// Send's latency.
func benchSends(b *testing.B, p *producer.Producer, senders int) []time.Duration {
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	b.ResetTimer()
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					break
				}
				t0 := time.Now()
				if err := p.Send(context.Background(), repoEvent("bench-"+strconv.FormatInt(i, 10))); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}
