// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"io"
	"os"
	"runtime/pprof"

	"github.com/trailaudit/trail/internal/bench"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "[flags]", stderr)
	var o bench.Options
	fs.StringVar(&o.Dir, "dir", "", "keep the benchmark's data in this `directory` (reused: a preloaded log is not loaded again); default a temporary directory")
	fs.IntVar(&o.Preload, "preload", 10_000_000, "`events` stored in the bench org before measuring")
	fs.DurationVar(&o.Duration, "duration", 20e9, "how long each timed phase runs")
	fs.IntVar(&o.Batch, "batch", 500, "`events` per ingest request")
	fs.IntVar(&o.Clients, "clients", 4, "concurrent HTTP clients")
	fs.IntVar(&o.Queries, "queries", 200, "first-page queries per filter kind")
	fs.BoolVar(&o.Baseline, "baseline", true, "also measure the naive SQLite baseline on the same events")
	fs.BoolVar(&o.SkipQuery, "skip-queries", false, "skip the query latency phase")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this `file`")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	return bench.Run(ctx, o, stdout)
}
