// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// row is one line of the report: what was measured, Trail's figure, the
// naive baseline's, their ratio and the target.
type row struct {
	name, trail, base, ratio, target string
}

// report collects rows in the order the phases produce them.
type report struct{ rows []row }

func (r *report) add(x row) { r.rows = append(r.rows, x) }

// write prints the header and the rows as a Markdown table.
func (r *report) write(w io.Writer, header string) {
	fmt.Fprintln(w, header)
	all := append([]row{{"measure", "Trail", "naive SQLite baseline", "Trail / baseline", "target (issue 8)"}}, r.rows...)
	width := make([]int, 5)
	for _, x := range all {
		for i, c := range x.cells() {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for j, x := range all {
		line(w, x.cells(), width)
		if j == 0 {
			dashes := make([]string, 5)
			for i := range dashes {
				dashes[i] = strings.Repeat("-", width[i])
			}
			line(w, dashes, width)
		}
	}
}

func (x row) cells() []string { return []string{x.name, x.trail, x.base, x.ratio, x.target} }

func line(w io.Writer, cells []string, width []int) {
	var b strings.Builder
	b.WriteString("|")
	for i, c := range cells {
		b.WriteString(" " + c + strings.Repeat(" ", width[i]-len([]rune(c))) + " |")
	}
	fmt.Fprintln(w, b.String())
}

// ratio formats a/b, or "" when b is not positive.
func ratio(a, b float64) string {
	if b <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// count formats n with thousands separators.
func count[T ~int | ~int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

func rate(perSecond float64) string { return count(int64(perSecond + 0.5)) }

func dur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return ms(d)
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

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

func (l *latencies) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

// pct returns the p-th percentile (nearest rank), or 0 with no samples.
func (l *latencies) pct(p int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}
