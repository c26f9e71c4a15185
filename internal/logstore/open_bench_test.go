// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// BenchmarkOpenDir times Open (a server's start) of a copy of an existing
// data directory, TRAIL_OPEN_DIR (the log store's directory, e.g. one
// `trail bench --data DIR` filled), each iteration on a fresh copy (Open
// cuts and starts files), reporting the wall time and the process's CPU
// time (user+sys) of Open alone, p50 over the iterations:
//
//	TRAIL_OPEN_DIR=/tmp/open-dir go test -run '^$' -bench OpenDir -benchtime 5x ./internal/logstore/
//
// With TRAIL_OPEN_CRASH=N it opens instead a crash image made from the
// directory once (kept as DIR.crashN, so that two binaries compare on the
// same image): a copy takes N more events with the background sealer
// running, as fast as it can append them (so the tails and the log are
// near their bounds, as when a server is killed at full load), and is
// copied while the store is still open and no seal commits. Opening it
// is a restart after SIGKILL: the log's replay over unsealed tails.
func BenchmarkOpenDir(b *testing.B) {
	src := os.Getenv("TRAIL_OPEN_DIR")
	if src == "" {
		b.Skip("TRAIL_OPEN_DIR names no data directory to open")
	}
	if n := benchEnv("TRAIL_OPEN_CRASH", 0); n > 0 {
		src = crashImage(b, src, n)
	}
	var wall, cpu []time.Duration
	for range b.N {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "copy")
		copyTree(b, src, dir)
		b.StartTimer()
		t, c := time.Now(), cpuTime()
		s, err := Open(dir, Options{ManualSeal: true})
		if err != nil {
			b.Fatal(err)
		}
		wall = append(wall, time.Since(t))
		cpu = append(cpu, cpuTime()-c)
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dir)
		b.StartTimer()
	}
	slices.Sort(wall)
	slices.Sort(cpu)
	b.ReportMetric(float64(wall[len(wall)/2].Microseconds())/1000, "open-ms")
	b.ReportMetric(float64(cpu[len(cpu)/2].Microseconds())/1000, "open-cpu-ms")
}

// crashImage returns src.crashN, made if missing: see BenchmarkOpenDir.
func crashImage(b *testing.B, src string, n int) string {
	img := src + ".crash" + strconv.Itoa(n)
	if _, err := os.Stat(filepath.Join(img, "done")); err == nil {
		return img
	}
	os.RemoveAll(img)
	work := img + ".work"
	os.RemoveAll(work)
	copyTree(b, src, work)
	defer os.RemoveAll(work)
	s, err := Open(work, Options{})
	if err != nil {
		b.Fatal(err)
	}
	// The events go to the directory's orgs: half to the largest, half
	// round the others, as trail bench's ingest sends them.
	var big string
	var small []string
	for name, o := range s.orgs {
		if big == "" || o.size > s.orgs[big].size {
			big = name
		}
	}
	for name := range s.orgs {
		if name != big {
			small = append(small, name)
		}
	}
	slices.Sort(small)
	if big == "" {
		big = "big"
	}
	if len(small) == 0 {
		small = []string{"small"}
	}
	ctx := context.Background()
	for i, k := 0, 0; i < n; {
		var group []*audit.Batch
		for range 4 {
			batch := &audit.Batch{Org: big}
			for range 250 {
				batch.Events = append(batch.Events, benchEvent("crash-"+big, i))
				batch.Events[len(batch.Events)-1].Event.Org = big
				i++
			}
			group = append(group, batch)
		}
		for range 25 {
			org := small[k%len(small)]
			batch := &audit.Batch{Org: org}
			for range 10 {
				batch.Events = append(batch.Events, benchEvent("crash-"+org, i))
				batch.Events[len(batch.Events)-1].Event.Org = org
				i++
			}
			k++
			group = append(group, batch)
		}
		if err := s.Append(ctx, group); err != nil {
			b.Fatal(err)
		}
	}
	// A kill now: no append is in flight and, under sealMu, no seal
	// writes a block or commits its catalog transaction.
	s.sealMu.Lock()
	copyTree(b, work, img)
	s.sealMu.Unlock()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(img, "done"), nil, 0o600)
	return img
}

// copyTree copies the files under src to dst.
func copyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(filepath.Join(dst, rel), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		return errors.Join(err, out.Close())
	})
	if err != nil {
		tb.Fatal(err)
	}
}
