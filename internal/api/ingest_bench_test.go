// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/api"
	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/geo/geotest"
	"github.com/trailaudit/trail/internal/logstore"
)

// sinkStore is a store whose Append encodes the events and keeps nothing,
// for measuring the HTTP ingest path without a storage engine. Only this
// benchmark uses it: it acknowledges what it does not keep.
type sinkStore struct {
	audit.Store
	mu   sync.Mutex
	next map[string]int64
}

func (s *sinkStore) Append(_ context.Context, batches []*audit.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range batches {
		b.Results = make([]audit.Ack, len(b.Events))
		for i, p := range b.Events {
			seq := s.next[b.Org]
			s.next[b.Org]++
			p.Encode(seq)
			b.Results[i] = audit.Ack{ID: p.Event.ID, Seq: seq}
		}
	}
	return nil
}

// BenchmarkIngestHTTP posts 500-event batches of the demo's mix from 4
// concurrent clients to the real API with the store's Append replaced by
// a sink: the ceiling a storage engine can approach. Each op is one
// request.
func BenchmarkIngestHTTP(b *testing.B) {
	for _, enc := range []string{"", "zstd"} {
		b.Run("encoding="+enc, func(b *testing.B) { benchIngestHTTP(b, enc, false) })
	}
}

// BenchmarkIngestHTTPLog is BenchmarkIngestHTTP into a real log-engine
// store (every batch durable before its answer), with events that have no
// id, so that each request stores 500 new events; the events the
// background sealer has not sealed when the last request is answered are
// sealed within the measure.
//
//	go test -run '^$' -bench IngestHTTPLog -benchtime 400x ./internal/api/
func BenchmarkIngestHTTPLog(b *testing.B) { benchIngestHTTP(b, "", true) }

func benchIngestHTTP(b *testing.B, encoding string, durable bool) {
	dir := b.TempDir()
	// TRAIL_BENCH_PAGE_LEVEL (better or default) and
	// TRAIL_BENCH_PAGE_EVENTS measure a page level and size.
	var opts logstore.Options
	opts.PageEvents, _ = strconv.Atoi(os.Getenv("TRAIL_BENCH_PAGE_EVENTS")) // 0: the default
	if name := os.Getenv("TRAIL_BENCH_PAGE_LEVEL"); name != "" {
		var err error
		if opts.PageLevel, err = logstore.ParsePageLevel(name); err != nil {
			b.Fatal(err)
		}
	}
	store, err := logstore.Open(filepath.Join(dir, "log"), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	locator, err := geo.Open(geotest.WriteDB(b, dir))
	if err != nil {
		b.Fatal(err)
	}
	defer locator.Close()
	quiet := slog.New(slog.DiscardHandler)
	var target audit.Store = &sinkStore{Store: store, next: map[string]int64{}}
	if durable {
		target = store
	}
	svc := audit.NewService(audit.Config{Store: target, Locator: locator, Logger: quiet})
	defer svc.Close()
	a := api.New(api.Config{Service: svc, Logger: quiet})
	defer a.Close()
	srv := httptest.NewServer(a)
	defer srv.Close()
	id, secret := audit.NewKeySecret()
	if err := store.CreateKey(context.Background(), audit.Key{ID: id, Name: "bench", Scope: audit.ScopeIngest, CreatedAt: time.Now()}, audit.HashSecret(secret)); err != nil {
		b.Fatal(err)
	}
	var batch []byte
	for events := range demo.Batches(demo.Options{Events: 500, Seed: 7}) {
		if durable {
			for i, raw := range events {
				var m map[string]json.RawMessage
				json.Unmarshal(raw, &m)
				delete(m, "id") // Trail assigns one: every post stores new events
				events[i], _ = json.Marshal(m)
			}
		}
		batch = []byte(`{"events":[` + string(bytes.Join(rawsOf(events), []byte(","))) + `]}`)
		break
	}
	if encoding == "zstd" {
		batch = zstded(b, batch)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	post := func() error {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/orgs/acme/events", bytes.NewReader(batch))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := post(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(batch)))
	b.ResetTimer()
	cpu := cpuTime(b)
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := post(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	// What the background sealer has not sealed yet is sealed within the
	// measure: cpu-ns/event is then the whole cost of the events.
	if err := store.Seal(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "events/s")
	// Client and server share the process: this is the CPU time of both
	// per event, an upper bound of the server's.
	b.ReportMetric(float64((cpuTime(b)-cpu).Nanoseconds())/float64(b.N*500), "cpu-ns/event")
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rawsOf[T ~[]byte](events []T) [][]byte {
	out := make([][]byte, len(events))
	for i, e := range events {
		out[i] = e
	}
	return out
}
