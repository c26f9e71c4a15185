// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// The memory soft limit of trail serve (runtime/debug.SetMemoryLimit).
// With Go's default GOGC=100 the heap grows to about twice what is live
// before a collection; a soft limit makes the collector work harder as the
// process nears it instead, so the peak stays near the limit when the live
// heap is well under it. It is not a hard cap: past it the process uses
// more memory rather than fail.
const memoryLimitHelp = "memory soft limit of the Go runtime: `SIZE` in B, KiB, MiB, GiB or TiB (at least 64MiB), a percentage of the memory available (the cgroup's limit, else the machine's), or off; " +
	"default: GOMEMLIMIT if set, else 90% of the cgroup's memory limit or 75% of the machine's memory (env TRAIL_MEMORY_LIMIT)"

// minMemoryLimit is the least --memory-limit: a soft limit below what
// trail serve keeps live (its caches, SQLite's, the requests in flight)
// only has the collector run all the time, which is never what was meant
// (a unit left out: 512 is 512 bytes).
const minMemoryLimit = 64 << 20

// memoryLimitFlag registers --memory-limit with its env default.
func memoryLimitFlag(fs *flag.FlagSet) *string {
	return fs.String("memory-limit", env("TRAIL_MEMORY_LIMIT", ""), memoryLimitHelp)
}

// memoryLimit is a resolved soft limit: bytes (math.MaxInt64: none), and
// where it comes from, for the log. keep means the runtime's own value
// (GOMEMLIMIT) stays.
type memoryLimit struct {
	bytes  int64
	source string
	keep   bool
}

// availableMemory is the memory the process may use: the cgroup's limit
// (v2, then v1) when there is one below the machine's, else the machine's
// memory; cgroup says which.
type availableMemory func() (bytes int64, cgroup bool, err error)

// resolveMemoryLimit turns --memory-limit's value (or TRAIL_MEMORY_LIMIT's)
// into a limit; gomemlimit is the GOMEMLIMIT environment variable.
func resolveMemoryLimit(value, gomemlimit string, avail availableMemory) (memoryLimit, error) {
	value = strings.TrimSpace(value)
	switch {
	case value == "" && gomemlimit != "":
		return memoryLimit{bytes: debug.SetMemoryLimit(-1), source: "GOMEMLIMIT", keep: true}, nil
	case value == "":
		n, cgroup, err := avail()
		if err != nil || n <= 0 {
			return memoryLimit{bytes: math.MaxInt64, source: "none (the memory available is unknown)"}, nil
		}
		if cgroup {
			return memoryLimit{bytes: n / 10 * 9, source: "90% of the cgroup's memory limit"}, nil
		}
		return memoryLimit{bytes: n / 4 * 3, source: "75% of the machine's memory"}, nil
	case value == "off":
		return memoryLimit{bytes: math.MaxInt64, source: "--memory-limit off"}, nil
	case strings.HasSuffix(value, "%"):
		pct, err := strconv.ParseFloat(strings.TrimSuffix(value, "%"), 64)
		if err != nil || pct <= 0 || pct > 100 {
			return memoryLimit{}, usagef("--memory-limit %q: a percentage must be over 0%% and at most 100%%", value)
		}
		n, _, err := avail()
		if err != nil || n <= 0 {
			return memoryLimit{}, usagef("--memory-limit %q: the memory available is unknown here (%v): give a size", value, err)
		}
		b := int64(float64(n) * pct / 100)
		if b < minMemoryLimit {
			return memoryLimit{}, usagef("--memory-limit %q: that is %d bytes of the %d available, under the least limit, 64MiB: give a larger percentage, a size, or off", value, b, n)
		}
		return memoryLimit{bytes: b, source: "--memory-limit " + value + " of the memory available"}, nil
	}
	n, err := parseByteSize(value)
	if err != nil {
		return memoryLimit{}, usagef("--memory-limit %q: %v", value, err)
	}
	if n < minMemoryLimit {
		return memoryLimit{}, usagef("--memory-limit %q: %d bytes is under the least limit, 64MiB: give a size with its unit, such as 512MiB or 2GiB, a percentage such as 70%%, or off", value, n)
	}
	return memoryLimit{bytes: n, source: "--memory-limit"}, nil
}

// parseByteSize reads a size as GOMEMLIMIT does: a whole number of bytes
// with an optional unit B, KiB, MiB, GiB or TiB.
func parseByteSize(s string) (int64, error) {
	units := []struct {
		suffix string
		shift  uint
	}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}
	num, shift := s, uint(0)
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = strings.TrimSpace(v), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, errors.New("want a size such as 2GiB, 512MiB or 1073741824 (bytes), a percentage such as 70%, or off")
	}
	if n > math.MaxInt64>>shift {
		return 0, errors.New("too large")
	}
	return n << shift, nil
}

// applyMemoryLimit sets the resolved limit and logs it.
func applyMemoryLimit(l memoryLimit, log *slog.Logger) {
	if !l.keep {
		debug.SetMemoryLimit(l.bytes)
	}
	if l.bytes == math.MaxInt64 {
		log.Info("memory soft limit", "limit", "none", "source", l.source)
		return
	}
	log.Info("memory soft limit", "bytes", l.bytes, "mib", l.bytes>>20, "source", l.source)
}

// systemMemory is the availableMemory of this machine (Linux: cgroup v2's
// memory.max, cgroup v1's memory.limit_in_bytes, /proc/meminfo).
func systemMemory() (int64, bool, error) {
	machine, err := memTotal("/proc/meminfo")
	if err != nil {
		return 0, false, err
	}
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 && n < machine {
			return n, true, nil // "max", or v1's huge number: no limit
		}
	}
	return machine, false, nil
}

// memTotal reads MemTotal from a /proc/meminfo file.
func memTotal(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return n << 10, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("no MemTotal in %s", path)
}
