// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/postgres/pgtest"
)

// tinyBench is a `trail bench` configuration that runs every phase in
// well under a minute; the test checks the table, never the times.
var tinyBench = []string{"bench", "--preload", "3000", "--small-orgs", "10", "--small-events", "20",
	"--duration", "1s", "--queries", "3", "--demo-events", "1500"}

// benchRows are the rows every run prints, by the start of their name.
var benchRows = []string{
	"preload big org",
	"first page (50): no filter", "first page (50): type,", "first page (50): type prefix",
	"first page (50): category", "first page (50): actor", "first page (50): target",
	"first page (50): country", "first page (50): created: one day", "first page (50): created: one month",
	"first page (50): received: one day", "first page (50): negation", "first page (50): word",
	"first page (50): rare word", "first page (50): phrase", "first page (50): type+actor+word",
	"server start",
	"ingest over HTTP",
	"restart after SIGKILL",
	"ingest request latency at half that load",
	"export over HTTP, json (identity)", "export over HTTP, ndjson (identity)",
	"export over HTTP, json (gzip)", "export over HTTP, ndjson (gzip)",
	"inclusion proof over HTTP",
	"disk: every file under the data directory",
	"disk: demo org",
}

// TestBenchEndToEnd runs `trail bench` on the embedded store at a tiny
// size, with profiles, and checks that every row of the table is there
// with sane numbers, so that the benchmark cannot rot unnoticed.
func TestBenchEndToEnd(t *testing.T) {
	bin := trailBinary(t)
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.prof")
	args := append(tinyBench, "--data", filepath.Join(dir, "data"), "--work", filepath.Join(dir, "work"), "--cpuprofile", prof)
	rows := benchTable(t, bin, args)
	checkBenchRows(t, rows, benchRows)
	// The bench's own geolocation database locates its events.
	if m := pctRE.FindStringSubmatch(rows[findRow(rows, "first page (50): country")][0]); m == nil || num(m[3]) == 0 {
		t.Errorf("country queries found no events: %q", m)
	}
	checkDisk(t, rows[findRow(rows, "disk: every file under the data directory")])
	checkDisk(t, rows[findRow(rows, "disk: demo org")])
	for _, p := range []string{prof, prof + ".serve"} {
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: want a gzipped pprof profile, got %d bytes, %v", p, len(b), err)
		}
	}

	// A second run on the same data directory reuses the preloaded org;
	// with --only export it prints the export rows and no other measure.
	rows = benchTable(t, bin, append(tinyBench, "--data", filepath.Join(dir, "data"), "--only", "export"))
	if got := rows["preload big org"]; !strings.Contains(got[0], "already stored") {
		t.Errorf("second run on the same --data: preload row %q, want the org reused", got)
	}
	exports := []string{"export over HTTP, json (identity)", "export over HTTP, ndjson (identity)",
		"export over HTTP, json (gzip)", "export over HTTP, ndjson (gzip)"}
	checkBenchRows(t, rows, exports)
	for name := range rows {
		if !strings.HasPrefix(name, "export over HTTP") && !strings.HasPrefix(name, "preload") &&
			!strings.HasPrefix(name, "store hooks") && !strings.HasPrefix(name, "server start") &&
			name != "measure" && strings.Trim(name, "-") != "" {
			t.Errorf("--only export printed the row %q", name)
		}
	}
}

// TestBenchPostgres runs the tiny bench on PostgreSQL: the same table,
// disk measured as the database's size, no demo-org store of its own.
func TestBenchPostgres(t *testing.T) {
	url := pgtest.NewDatabase(t)
	bin := trailBinary(t)
	dir := t.TempDir()
	rows := benchTable(t, bin, append(tinyBench, "--store", url, "--data", filepath.Join(dir, "data")))
	want := slicesWithout(slicesWithout(benchRows, "disk: every file under the data directory"), "disk: demo org")
	checkBenchRows(t, rows, append(want, "disk: the PostgreSQL database"))
	checkDisk(t, rows[findRow(rows, "disk: the PostgreSQL database")])
}

func slicesWithout(s []string, x string) []string {
	var out []string
	for _, v := range s {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// benchTable runs the bench to completion and returns its table's rows by
// name: the cells after the name.
func benchTable(t *testing.T, bin string, args []string) map[string][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = hermeticEnv(nil)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("trail %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	t.Logf("trail %s:\n%s", strings.Join(args, " "), stdout.String())
	rows := map[string][]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 7 {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows[cells[1]] = cells[2:6]
	}
	return rows
}

var (
	numberRE = regexp.MustCompile(`[0-9][0-9,]*(\.[0-9]+)?`)
	pctRE    = regexp.MustCompile(`^p50 ([0-9.]+) ms, p99 ([0-9.]+) ms \(([0-9.]+) rows(; only [0-9]+ searches in --duration)?\)$`)
)

// checkBenchRows checks that each wanted row is there once and that its
// figures are sane: first numbers positive, percentiles ordered, ratios
// present where there is a baseline, nothing lost in the SIGKILL.
func checkBenchRows(t *testing.T, rows map[string][]string, want []string) {
	t.Helper()
	for _, prefix := range want {
		var found []string
		for name := range rows {
			if strings.HasPrefix(name, prefix) {
				found = append(found, name)
			}
		}
		if len(found) != 1 {
			t.Errorf("row %q: found %d rows %q, want 1", prefix, len(found), found)
			continue
		}
		name := found[0]
		cells := rows[name]
		trail, base, ratio := cells[0], cells[1], cells[2]
		if m := pctRE.FindStringSubmatch(trail); strings.HasPrefix(name, "first page") {
			if m == nil || num(m[2]) < num(m[1]) || num(m[3]) > 50 {
				t.Errorf("%s: %q, want p50 ≤ p99 and at most 50 rows", name, trail)
			}
			continue
		}
		if first := numberRE.FindString(trail); first == "" || num(first) <= 0 {
			t.Errorf("%s: %q, want a positive figure first", name, trail)
		}
		if base != "" && (num(numberRE.FindString(base)) <= 0 || !strings.HasSuffix(ratio, "×") || num(ratio) <= 0) {
			t.Errorf("%s: baseline %q ratio %q, want a positive baseline and ratio", name, base, ratio)
		}
	}
	if r := rows[findRow(rows, "restart after SIGKILL")]; slices.Contains(want, "restart after SIGKILL") && (r == nil || !strings.Contains(r[0], ", 0 lost")) {
		t.Errorf("restart after SIGKILL: %q, want 0 lost", r)
	}
	for _, format := range []string{"json (identity)", "ndjson (identity)", "json (gzip)", "ndjson (gzip)"} {
		r := rows[findRow(rows, "export over HTTP, "+format)]
		if r == nil || !regexp.MustCompile(`\(([0-9,]{5,}) events,`).MatchString(r[0]) || !strings.Contains(r[0], "RssAnon +") {
			t.Errorf("export %s: %q, want thousands of events and the server's RssAnon growth", format, r)
		}
	}
}

func checkDisk(t *testing.T, cells []string) {
	t.Helper()
	if len(cells) == 0 || !strings.Contains(cells[0], "bytes/event") || num(numberRE.FindString(cells[0])) <= 0 {
		t.Errorf("disk row %q: want positive bytes/event", cells)
	}
}

func findRow(rows map[string][]string, prefix string) string {
	for name := range rows {
		if strings.HasPrefix(name, prefix) {
			return name
		}
	}
	return ""
}

// num parses the number at the start of s, ignoring thousands separators
// and anything after it; -1 when there is none.
func num(s string) float64 {
	m := numberRE.FindString(s)
	f, err := strconv.ParseFloat(strings.ReplaceAll(m, ",", ""), 64)
	if err != nil {
		return -1
	}
	return f
}
