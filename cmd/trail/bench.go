// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/bench"
)

const benchSynopsis = `[flags]

Measures, in one run, Trail on the store that --data/--store select and a
naive SQLite table (random key, 3 indexes, 1000-row transactions, WAL,
synchronous=FULL) on the same events, and prints one table against the
targets of issue 8: ingest over HTTP and its latency at half load, preload,
first-page queries per kind, export over HTTP and the server's RssAnon,
bytes per event on disk (also for the demo org), and time to ready after a
SIGKILL. The HTTP phases run a "trail serve" child process on the store.
A short run: trail bench --preload 200000 --small-orgs 100 --duration 5s --queries 50`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) >= 2 && args[0] == profiledServeArg {
		return profiledServe(ctx, args[1], args[2:], stdout, stderr) // bench_profile.go
	}
	fs := newFlags("bench", benchSynopsis, stderr)
	var o bench.Options
	data := fs.String("data", "", "the store's data `directory` (kept: a preloaded org is not loaded again); default a temporary directory, removed at the end")
	// Not storeFlag: a TRAIL_STORE in the environment must not aim millions
	// of benchmark events at a production database.
	store := fs.String("store", "", "the store to measure, as trail serve --store takes it: empty for the log engine in --data (the default), log:DIR, sqlite:DIR or a postgres:// `URL` (TRAIL_STORE is not read); with PostgreSQL use a fresh database, or the same --data each time (it holds the signing key the database agreed on)")
	fs.StringVar(&o.WorkDir, "work", "", "`directory` for the naive baseline's table, the generated geolocation database and the demo org's store; default a temporary directory, removed")
	fs.StringVar(&o.GeoIP, "geoip", "", "geolocation `file`s (.mmdb, several separated by \":\"); default one written for the bench that locates every address its events use")
	fs.StringVar(&o.Org, "org", "bench", "the big org's `name`")
	fs.IntVar(&o.Preload, "preload", 10_000_000, "`events` stored in the big org before measuring")
	fs.IntVar(&o.SmallOrgs, "small-orgs", 1000, "`number` of small orgs beside the big one; ingest goes half to the big org, half round the small ones")
	fs.IntVar(&o.SmallEvents, "small-events", 100, "`events` preloaded in each small org")
	fs.DurationVar(&o.Duration, "duration", 30e9, "how long each timed ingest phase runs (Trail at full load, Trail at half load, the baseline)")
	fs.IntVar(&o.Batch, "batch", 500, "`events` per ingest request")
	fs.IntVar(&o.Clients, "clients", 4, "concurrent HTTP clients at full load")
	fs.IntVar(&o.Queries, "queries", 200, "first-page queries per kind, each kind stopping after --duration too (0: skip the query phase)")
	fs.IntVar(&o.BaselineRows, "baseline-rows", 0, "`rows` put in the naive table (not durably, untimed) before its timed ingest, e.g. the --preload size for a like-for-like scan")
	fs.IntVar(&o.DemoEvents, "demo-events", 24000, "`events` of the demo org measured for disk")
	fs.StringVar(&o.Only, "only", "", "run one `phase` and what it needs instead of every phase: export (the naive table filled with --baseline-rows rows, --preload when 0, and its SELECT, without its timed ingest; the preload if the big org is short; a server; the four exports)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the bench process (preload, queries, clients) to `file`, and of the server's start and full-load ingest to file.serve")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *data == "" {
		d, err := os.MkdirTemp("", "trail-bench-data-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*data = d
	}
	if err := benchTarget(&o, *data, *store); err != nil {
		return err
	}
	if *cpuprofile != "" {
		stop, err := startCPUProfile(*cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
		o.ProfiledServe = append([]string{"bench", profiledServeArg, *cpuprofile + ".serve"}, o.Serve[1:]...)
		o.StopServeProfile = stopServeProfile // bench_profile.go
	}
	o.Progress = stderr
	return bench.Run(ctx, o, stdout)
}

// benchTarget points the bench at the store that data and store select,
// through openStore, the same way every command opens it.
func benchTarget(o *bench.Options, data, store string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the trail binary for the server child: %w", err)
	}
	o.Exe = exe
	o.Open = func(ctx context.Context) (audit.Store, error) { return openStore(ctx, data, store) }
	o.Serve = []string{"serve", "--data", data, "--store", store}
	engine, where := storeLabel(data, store)
	o.Engine = engine + " " + where
	if isPostgres(store) {
		return nil // one shared database: no directory of its own, no empty twin
	}
	o.DataDir = where
	o.OpenEmpty = func(ctx context.Context, dir string) (audit.Store, error) {
		return openStore(ctx, dir, sameEngineIn(store, dir))
	}
	return nil
}

// sameEngineIn is the --store value that selects store's engine in dir:
// "" (the default engine in --data) stays "", and "NAME:PATH" becomes
// "NAME:dir".
func sameEngineIn(store, dir string) string {
	if name, _, ok := strings.Cut(store, ":"); ok {
		return name + ":" + dir
	}
	return store
}

// startCPUProfile profiles this process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
