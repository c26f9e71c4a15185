// SPDX-License-Identifier: Apache-2.0

// Package bench measures Trail against the targets of issue 8, on this
// machine, in one run: Trail with the store under test, and a naive SQLite
// table (random key, three indexes, 1000-row transactions, WAL,
// synchronous=FULL) fed the same events. It reports one table: ingest over
// HTTP and its latency at half load, preload, first-page query latency per
// filter kind, export over HTTP with the server's anonymous memory, bytes
// per event on disk, and time to ready after a SIGKILL. `trail bench` runs
// it.
//
// The HTTP phases run against a real `trail serve` child process on the
// same store, so the server's memory is measured alone and a SIGKILL is a
// real crash; preload and queries run in-process.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// Options configures a run. Open, Serve and Exe are required; other zero
// values mean the defaults below.
type Options struct {
	// Open opens the store under test. The bench closes it before it
	// starts a server on the same store.
	Open func(ctx context.Context) (audit.Store, error)
	// OpenEmpty opens a store of the same engine in the empty directory
	// dir, where the demo org is loaded to measure its bytes per event.
	// Nil skips that measure (PostgreSQL: one shared database).
	OpenEmpty func(ctx context.Context, dir string) (audit.Store, error)
	// DataDir holds the store's files, all of which count for bytes per
	// event; "" when the store keeps its events elsewhere (PostgreSQL).
	DataDir string
	// Engine names the store in the report, e.g. "sqlite /tmp/x".
	Engine string
	// Exe is the trail binary, run as `Exe Serve... --geoip GEO --addr
	// 127.0.0.1:0`.
	Exe string
	// Serve is the command line of a server on the same store: "serve"
	// and the flags that select the store (--data, --store).
	Serve []string
	// ProfiledServe, if set, is Serve for the first server child, which
	// profiles itself; StopServeProfile then asks it (by pid) to write its
	// CPU profile (it logs "cpu profile written"), at the end of the
	// full-load ingest, before the SIGKILL.
	ProfiledServe    []string
	StopServeProfile func(pid int) error
	// WorkDir holds the baseline table, the generated geolocation
	// database and the demo org's store; default a temporary directory,
	// removed at the end.
	WorkDir string
	// GeoIP is a .mmdb file (or several separated by ":"); default one
	// written into WorkDir that locates every address the events use.
	GeoIP string

	Org          string        // the big org; default "bench"
	Preload      int           // events in the big org before measuring; default 10,000,000
	SmallOrgs    int           // other orgs; default 1000
	SmallEvents  int           // events in each small org; default 100
	Duration     time.Duration // each timed ingest phase; default 30s
	Batch        int           // events per ingest request; default 500
	Clients      int           // concurrent ingest clients; default 4
	Queries      int           // first-page queries per kind; default 200
	BaselineRows int           // rows the naive table holds before its timed ingest; default 0
	DemoEvents   int           // events of the demo org measured for disk; default demo.DefaultEvents
	// Only, if set, runs one phase and what it needs instead of all:
	// "export" fills the naive table with BaselineRows rows (Preload when
	// 0) and times its SELECT (no timed ingest), preloads the big org if
	// it is short, starts a server and downloads the exports (no queries,
	// ingest, restart, latency, proofs or disk).
	Only string

	// Progress receives a line per phase as it starts and ends; nil: none.
	Progress io.Writer
}

func (o *Options) defaults() error {
	if o.Open == nil || o.Exe == "" || len(o.Serve) == 0 {
		return errors.New("bench: Options.Open, Exe and Serve are required")
	}
	setDefault(&o.Org, "bench")
	setDefault(&o.Preload, 10_000_000)
	setDefault(&o.SmallOrgs, 1000)
	setDefault(&o.SmallEvents, 100)
	setDefault(&o.Duration, 30*time.Second)
	setDefault(&o.Batch, 500)
	setDefault(&o.Clients, 4)
	setDefault(&o.Queries, 200)
	setDefault(&o.DemoEvents, 24000)
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Preload < 0 || o.SmallOrgs < 0 || o.SmallEvents < 0 || o.BaselineRows < 0 || o.Queries < 0 {
		return errors.New("bench: counts must not be negative")
	}
	if o.Only != "" && o.Only != OnlyExport {
		return fmt.Errorf("bench: --only %q: the phases that run alone are: %s", o.Only, OnlyExport)
	}
	if o.Only == OnlyExport && o.BaselineRows == 0 {
		o.BaselineRows = o.Preload // no timed ingest fills the table: the SELECT needs rows
	}
	return nil
}

// OnlyExport is the Options.Only value that runs the export phase alone.
const OnlyExport = "export"

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Run runs every phase and writes the report table to out. A phase that
// fails stops the run with its error; the table is printed only whole.
func Run(ctx context.Context, o Options, out io.Writer) error {
	if err := o.defaults(); err != nil {
		return err
	}
	r := &run{o: o, start: time.Now()}
	if o.WorkDir == "" {
		d, err := os.MkdirTemp("", "trail-bench-work-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		r.o.WorkDir = d
	}
	if err := os.MkdirAll(r.o.WorkDir, 0o700); err != nil {
		return err
	}
	if err := r.phases(ctx); err != nil {
		return err
	}
	r.report.write(out, r.header())
	return nil
}

// run is one benchmark run's state, passed from phase to phase.
type run struct {
	o      Options
	start  time.Time
	pool   *pool
	geo    string
	report report
	baselineState

	orgs     []string // the big org first, then the small ones
	keys     benchKeys
	ingest   float64  // Trail's measured ingest rate, events/s
	proofIDs []string // ids of big-org events, for inclusion proofs
}

func (r *run) phases(ctx context.Context) error {
	r.progress("building the event pool")
	r.pool = newPool(100_000, r.o.Batch)
	r.pool.vocab = newVocab(r.pool.events[:min(max(r.o.Preload, 1), len(r.pool.events))])
	var err error
	if r.geo, err = r.geoDB(); err != nil {
		return err
	}
	for _, step := range selectSteps(r.steps(), r.o.Only) {
		if err := step.run(ctx); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// benchStep is one step of a run. only names the Options.Only phases
// that run it too (each step then does only what that phase needs).
type benchStep struct {
	name string
	run  func(context.Context) error
	only []string
}

// steps are a run's steps, in the order they run.
func (r *run) steps() []benchStep {
	return []benchStep{
		{"baseline", r.baselinePhase, []string{OnlyExport}}, // baseline.go
		{"in-process", r.inProcess, []string{OnlyExport}},   // preload.go: preload, seal, queries, keys
		{"server", r.serverPhases, []string{OnlyExport}},    // server.go: ingest, SIGKILL, latency, export
		{"disk", r.diskPhase, nil},                          // disk.go
	}
}

// selectSteps returns the steps a run with Options.Only set to only runs,
// by their names for it, in their order: all of them when only is empty.
func selectSteps(steps []benchStep, only string) []benchStep {
	if only == "" {
		return steps
	}
	var out []benchStep
	for _, s := range steps {
		if slices.Contains(s.only, only) {
			out = append(out, s)
		}
	}
	return out
}

func (r *run) progress(format string, args ...any) {
	fmt.Fprintf(r.o.Progress, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

func (r *run) header() string {
	load, _ := os.ReadFile("/proc/loadavg")
	return fmt.Sprintf("trail bench: %s; %d CPUs, GOMAXPROCS %d, load average %s\n"+
		"big org %q: %d events preloaded; %d small orgs of %d events; ingest %s per phase, batches of %d, %d clients; %d queries per kind\n"+
		"events: %d-event pool from internal/demo, %d bytes of JSON each on average; geolocation %s\n",
		r.o.Engine, runtime.NumCPU(), runtime.GOMAXPROCS(0), firstFields(string(load), 3),
		r.o.Org, r.o.Preload, r.o.SmallOrgs, r.o.SmallEvents, r.o.Duration, r.o.Batch, r.o.Clients, r.o.Queries,
		len(r.pool.events), r.pool.avgSize, filepath.Base(r.geo))
}
