// SPDX-License-Identifier: Apache-2.0

// Package bench measures Trail on this machine: ingest over HTTP with a
// large log already stored, against a naive SQLite baseline on the same
// events; first-page query latency per filter kind; export rate and peak
// memory; bytes per event on disk. `trail bench` runs it.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trailaudit/trail/internal/api"
	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/query"
	"github.com/trailaudit/trail/internal/sqlite"
)

// Options configures a run; zero values are defaults.
type Options struct {
	Dir       string        // data directory (kept); default a temp dir, removed
	Preload   int           // events stored before measuring; default 10,000,000
	Duration  time.Duration // each timed phase; default 20s
	Batch     int           // events per ingest request; default 500
	Clients   int           // concurrent HTTP clients; default 4
	Queries   int           // first-page queries per filter kind; default 200
	Baseline  bool          // also run the naive SQLite baseline
	SkipQuery bool
	Org       string // default "bench"
}

func (o *Options) defaults() {
	if o.Preload == 0 {
		o.Preload = 10_000_000
	}
	if o.Duration == 0 {
		o.Duration = 20 * time.Second
	}
	if o.Batch == 0 {
		o.Batch = 500
	}
	if o.Clients == 0 {
		o.Clients = 4
	}
	if o.Queries == 0 {
		o.Queries = 200
	}
	if o.Org == "" {
		o.Org = "bench"
	}
}

// Run runs the benchmark and writes a report to out.
func Run(ctx context.Context, o Options, out io.Writer) error {
	o.defaults()
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "trail-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fmt.Fprintf(out, "trail bench: %d CPUs, GOMAXPROCS %d, data %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), dir)
	pool := eventPool(100_000, o.Batch)
	fmt.Fprintf(out, "event pool: %d events, %d bytes of JSON per event on average\n", len(pool.events), pool.avgSize)

	store, err := sqlite.Open(filepath.Join(dir, "trail"), sqlite.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	svc := audit.NewService(audit.Config{Store: store, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer svc.Close()

	if err := preload(ctx, svc, store, o, pool, out); err != nil {
		return err
	}
	ingestRate, err := ingestHTTP(ctx, svc, o, pool, out)
	if err != nil {
		return err
	}
	if o.Baseline {
		base, err := baseline(ctx, filepath.Join(dir, "baseline"), o, pool, out)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "ingest ratio: Trail over HTTP / naive baseline = %.2fx\n", ingestRate/base)
	}
	if !o.SkipQuery {
		if err := queries(ctx, svc, o, out); err != nil {
			return err
		}
	}
	if err := exportRate(ctx, svc, o, out); err != nil {
		return err
	}
	return diskUsage(ctx, store, filepath.Join(dir, "trail"), o.Org, out)
}

// pool holds request bodies built before any clock starts.
type pool struct {
	events  []json.RawMessage // without ids: Trail assigns UUIDv7s
	bodies  [][]byte          // {"events":[...]} of Batch events each
	avgSize int
}

func eventPool(n, batch int) *pool {
	p := &pool{}
	total := 0
	for b := range demo.Batches(demo.Options{Org: "bench", Events: n, Seed: 42}) {
		for _, raw := range b {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				panic(err)
			}
			// Live traffic: Trail assigns ids, and events occur when received.
			delete(m, "id")
			delete(m, "occurred_at")
			out, _ := json.Marshal(m)
			p.events = append(p.events, out)
			total += len(out)
		}
	}
	p.avgSize = total / len(p.events)
	for i := 0; i+batch <= len(p.events); i += batch {
		var sb strings.Builder
		sb.WriteString(`{"events":[`)
		for j, e := range p.events[i : i+batch] {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.Write(e)
		}
		sb.WriteString("]}")
		p.bodies = append(p.bodies, []byte(sb.String()))
	}
	return p
}

// preload fills the bench org up to o.Preload events through the service
// (no HTTP), several batches per commit.
func preload(ctx context.Context, svc *audit.Service, store *sqlite.Store, o Options, p *pool, out io.Writer) error {
	have, err := store.Size(ctx, o.Org)
	if err != nil {
		return err
	}
	if have >= int64(o.Preload) {
		fmt.Fprintf(out, "preload: %d events already stored\n", have)
		return nil
	}
	start := time.Now()
	var next atomic.Int64
	next.Store(have)
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	h := history{start: time.Now().Add(-180 * 24 * time.Hour), total: int64(o.Preload)}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				first := next.Add(1000) - 1000
				if first >= int64(o.Preload) {
					return
				}
				batch := h.batch(p.events, first, min(1000, int64(o.Preload)-first))
				if _, err := svc.Ingest(ctx, o.Org, batch); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	if err := store.Analyze(ctx); err != nil {
		return err
	}
	n, _ := store.Size(ctx, o.Org)
	took := time.Since(start)
	fmt.Fprintf(out, "preload: %d events in %s (%.0f events/s in-process, batches of 1000)\n", n-have, took.Round(time.Second), float64(n-have)/took.Seconds())
	return nil
}

// history spreads preloaded events evenly over the last 180 days, in
// order, as a log that grew over time would be.
type history struct {
	start time.Time
	total int64
}

// batch returns n pool events numbered from first, each with its
// occurred_at spliced in.
func (h history) batch(events []json.RawMessage, first, n int64) []json.RawMessage {
	step := 180 * 24 * time.Hour / time.Duration(h.total)
	out := make([]json.RawMessage, n)
	for i := range n {
		raw := events[(first+i)%int64(len(events))]
		at := h.start.Add(time.Duration(first+i) * step).UTC().Format(time.RFC3339Nano)
		e := make([]byte, 0, len(raw)+48)
		e = append(e, raw[:len(raw)-1]...)
		e = append(e, `,"occurred_at":"`...)
		e = append(e, at...)
		e = append(e, `"}`...)
		out[i] = e
	}
	return out
}

// ingestHTTP posts prebuilt bodies to a real server on loopback for
// o.Duration and returns events acknowledged per second.
func ingestHTTP(ctx context.Context, svc *audit.Service, o Options, p *pool, out io.Writer) (float64, error) {
	key, secret := audit.NewKeySecret()
	if err := svc.Store().CreateKey(ctx, audit.Key{ID: key, Name: "bench", Scope: audit.ScopeIngest, CreatedAt: time.Now()}, audit.HashSecret(secret)); err != nil {
		return 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: api.New(api.Config{Service: svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/api/v1/orgs/" + o.Org + "/events"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Clients}}

	var acked atomic.Int64
	var lat latencies
	deadline := time.Now().Add(o.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, o.Clients)
	for c := 0; c < o.Clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := c; time.Now().Before(deadline); i += o.Clients {
				t0 := time.Now()
				if err := post(client, url, secret, p.bodies[i%len(p.bodies)]); err != nil {
					errc <- err
					return
				}
				lat.add(time.Since(t0))
				acked.Add(int64(o.Batch))
			}
		}(c)
	}
	wg.Wait()
	took := time.Since(start)
	close(errc)
	if err := <-errc; err != nil {
		return 0, err
	}
	rate := float64(acked.Load()) / took.Seconds()
	fmt.Fprintf(out, "ingest over HTTP: %d events in %s = %.0f events/s (batches of %d, %d clients; request p50 %s p99 %s)\n",
		acked.Load(), took.Round(time.Millisecond), rate, o.Batch, o.Clients, lat.pct(50), lat.pct(99))
	return rate, nil
}

func post(c *http.Client, url, secret string, body []byte) error {
	req, err := http.NewRequest("POST", url, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("ingest: %s: %.300s", resp.Status, b)
	}
	return nil
}

// latencies collects durations; safe for concurrent use.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) pct(p int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)].Round(time.Microsecond)
}

// queries measures first-page latency per filter kind, in-process.
func queries(ctx context.Context, svc *audit.Service, o Options, out io.Writer) error {
	cat := svc.Catalog()
	opts := query.Options{
		KnownType:     func(n string) bool { _, ok := cat.Lookup(n); return ok },
		KnownCategory: func(s string) bool { _, ok := cat.Category(s); return ok },
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range queryKinds {
		var lat latencies
		for i := 0; i < o.Queries; i++ {
			q := k.make(rng)
			f, err := query.Parse(q, opts)
			if err != nil {
				return fmt.Errorf("bench query %q: %w", q, err)
			}
			t0 := time.Now()
			if _, err := svc.List(ctx, o.Org, audit.ListRequest{Filter: f, AfterSeq: -1}); err != nil {
				return fmt.Errorf("bench query %q: %w", q, err)
			}
			lat.add(time.Since(t0))
		}
		fmt.Fprintf(out, "query first page %-10s p50 %-10s p99 %-10s e.g. %s\n", k.name, lat.pct(50), lat.pct(99), k.make(rand.New(rand.NewPCG(3, 4))))
	}
	return nil
}

type queryKind struct {
	name string
	make func(r *rand.Rand) string
}

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

var queryKinds = []queryKind{
	{"none", func(*rand.Rand) string { return "" }},
	{"type", func(r *rand.Rand) string {
		return "type:" + pick(r, []string{"repo.create", "org.change_role", "repo.update_settings", "org.sso_login", "billing.update_payment_method", "repo.delete"})
	}},
	{"type-pfx", func(r *rand.Rand) string { return "type:" + pick(r, []string{"repo.*", "org.settings.*", "billing.*"}) }},
	{"category", func(r *rand.Rand) string {
		return "category:" + pick(r, []string{"billing", "membership", "content", "organization", "jobs"})
	}},
	{"actor", func(r *rand.Rand) string { return "actor:" + pick(r, []string{"alice", "bob", "priya", "jonas"}) }},
	{"target", func(r *rand.Rand) string {
		return "target:" + pick(r, []string{"acme/llama-finetune", "acme/whisper-eu", "acme/demo-chat"})
	}},
	{"country", func(r *rand.Rand) string { return "country:" + pick(r, []string{"FR", "DE", "US", "JP", "GB"}) }},
	{"created", func(r *rand.Rand) string {
		d := time.Now().AddDate(0, 0, -r.IntN(170)-5)
		return "created:" + d.Format("2006-01-02") + ".." + d.AddDate(0, 0, 3).Format("2006-01-02")
	}},
	{"negation", func(r *rand.Rand) string {
		return "-type:" + pick(r, []string{"org.sso_login", "repo.update_settings"})
	}},
	{"text", func(r *rand.Rand) string {
		return pick(r, []string{"llama", "hardware", "secret", "invited", "subscription", "whisper"})
	}},
	{"phrase", func(r *rand.Rand) string { return pick(r, []string{`"changed"`, `"acme llama"`, `"from read"`}) }},
	{"combined", func(r *rand.Rand) string {
		return "type:repo.update_settings actor:" + pick(r, []string{"alice", "bob"}) + " " + pick(r, []string{"llama", "whisper"})
	}},
}
