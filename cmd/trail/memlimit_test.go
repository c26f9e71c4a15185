// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestMemoryLimitResolves checks --memory-limit's values and defaults:
// sizes, percentages of the memory available, off, GOMEMLIMIT left as the
// user set it, and the default from the cgroup or the machine.
func TestMemoryLimitResolves(t *testing.T) {
	machine := func() (int64, bool, error) { return 8 << 30, false, nil }
	cgroup := func() (int64, bool, error) { return 1 << 30, true, nil }
	unknown := func() (int64, bool, error) { return 0, false, errors.New("no /proc") }
	for _, c := range []struct {
		value, gomemlimit string
		avail             availableMemory
		want              int64
		keep              bool
		err               string
	}{
		{value: "", avail: machine, want: 6 << 30},
		{value: "", avail: cgroup, want: (1 << 30) / 10 * 9},
		{value: "", avail: unknown, want: math.MaxInt64},
		{value: "512MiB", avail: machine, want: 512 << 20},
		{value: "2GiB", avail: machine, want: 2 << 30},
		{value: "1 TiB", avail: machine, want: 1 << 40},
		{value: "1073741824", avail: machine, want: 1 << 30},
		{value: "67108864B", avail: machine, want: minMemoryLimit},
		{value: "64MiB", avail: machine, want: minMemoryLimit},
		{value: "1", avail: machine, err: "under the least limit, 64MiB"},
		{value: "512", avail: machine, err: "under the least limit, 64MiB"},
		{value: "4096B", avail: machine, err: "under the least limit, 64MiB"},
		{value: "63MiB", avail: machine, err: "under the least limit, 64MiB"},
		{value: "5%", avail: cgroup, err: "under the least limit, 64MiB"}, // 51 MiB of 1 GiB
		{value: "50%", avail: machine, want: 4 << 30},
		{value: "25%", avail: cgroup, want: 256 << 20},
		{value: "off", avail: machine, want: math.MaxInt64},
		{value: "", gomemlimit: "3GiB", avail: machine, keep: true, want: debug.SetMemoryLimit(-1)},
		{value: "1GiB", gomemlimit: "3GiB", avail: machine, want: 1 << 30}, // the flag wins
		{value: "12XB", avail: machine, err: "want a size"},
		{value: "-5MiB", avail: machine, err: "want a size"},
		{value: "0", avail: machine, err: "want a size"},
		{value: "150%", avail: machine, err: "at most 100%"},
		{value: "50%", avail: unknown, err: "unknown"},
		{value: "9999999TiB", avail: machine, err: "too large"},
	} {
		got, err := resolveMemoryLimit(c.value, c.gomemlimit, c.avail)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want one saying %q", c.value, err, c.err)
			}
			if err != nil && !errors.As(err, new(usageError)) {
				t.Errorf("%q: %v is not a usage error", c.value, err)
			}
			continue
		}
		if err != nil || got.bytes != c.want || got.keep != c.keep {
			t.Errorf("%q (GOMEMLIMIT %q): %+v, %v; want %d bytes, keep %v", c.value, c.gomemlimit, got, err, c.want, c.keep)
		}
	}
}

// TestMemoryLimitApplied checks that TRAIL_MEMORY_LIMIT is the flag's
// default, that the flag overrides it, and that the resolved limit is the
// runtime's and is logged.
func TestMemoryLimitApplied(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("TRAIL_MEMORY_LIMIT", "300MiB")
	for _, c := range []struct {
		args []string
		want int64
	}{
		{nil, 300 << 20},
		{[]string{"--memory-limit", "200MiB"}, 200 << 20},
	} {
		fs := newFlags("serve", "", io.Discard)
		v := memoryLimitFlag(fs)
		if _, err := parse(fs, c.args, 0); err != nil {
			t.Fatal(err)
		}
		l, err := resolveMemoryLimit(*v, "", systemMemory)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		applyMemoryLimit(l, slog.New(slog.NewTextHandler(&out, nil)))
		if got := debug.SetMemoryLimit(-1); got != c.want {
			t.Errorf("%v: the runtime's memory limit is %d, want %d", c.args, got, c.want)
		}
		if !strings.Contains(out.String(), "memory soft limit") {
			t.Errorf("%v: not logged: %s", c.args, out.String())
		}
	}
	// The default of this machine, from /proc/meminfo and the cgroup.
	if _, err := os.Stat("/proc/meminfo"); err == nil {
		n, _, err := systemMemory()
		if err != nil || n <= 0 {
			t.Fatalf("systemMemory: %d, %v", n, err)
		}
	}
	// MemTotal in kB.
	path := filepath.Join(t.TempDir(), "meminfo")
	os.WriteFile(path, []byte("MemFree:  1 kB\nMemTotal:       24683772 kB\n"), 0o600)
	if n, err := memTotal(path); err != nil || n != 24683772<<10 {
		t.Fatalf("memTotal: %d, %v", n, err)
	}
}

// TestServeMemoryLimitFlag runs trail serve with a bad --memory-limit and
// with one under the least (usage errors before anything opens) and checks
// --help lists the flag with its least value.
func TestServeMemoryLimitFlag(t *testing.T) {
	var stderr bytes.Buffer
	err := runServe(t.Context(), []string{"--data", t.TempDir(), "--memory-limit", "lots"}, io.Discard, &stderr)
	if err == nil || !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "--memory-limit") {
		t.Fatalf("serve --memory-limit lots: %v", err)
	}
	// A size under the least limit (a unit left out) is refused, the
	// message naming the flag and what it takes.
	// (A cancelled context: were it accepted, the server stops at once.)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = runServe(ctx, []string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--memory-limit", "1"}, io.Discard, &stderr)
	if err == nil || !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), `--memory-limit "1"`) || !strings.Contains(err.Error(), "64MiB") {
		t.Fatalf("serve --memory-limit 1: %v", err)
	}
	stderr.Reset()
	runServe(t.Context(), []string{"--help"}, io.Discard, &stderr)
	if !strings.Contains(stderr.String(), "-memory-limit SIZE") || !strings.Contains(stderr.String(), "TRAIL_MEMORY_LIMIT") || !strings.Contains(stderr.String(), "at least 64MiB") {
		t.Fatalf("serve --help does not list --memory-limit:\n%s", stderr.String())
	}
}

// TestServeAppliesMemoryLimit starts the real trail serve with
// TRAIL_MEMORY_LIMIT and with GOMEMLIMIT: it logs the limit it runs with.
func TestServeAppliesMemoryLimit(t *testing.T) {
	bin := trailBinary(t)
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"TRAIL_MEMORY_LIMIT=300MiB"}, `"bytes":314572800,"mib":300,"source":"--memory-limit"`},
		{[]string{"GOMEMLIMIT=200MiB"}, `"bytes":209715200,"mib":200,"source":"GOMEMLIMIT"`},
	} {
		p := launch(t, bin, c.env, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir())
		waitFor(t, p, `"msg":"listening"`)
		if !strings.Contains(p.stderr.String(), c.want) {
			t.Errorf("%v: the log does not say %s:\n%s", c.env, c.want, p.stderr)
		}
		p.cmd.Process.Kill()
		<-p.exited
	}
}
