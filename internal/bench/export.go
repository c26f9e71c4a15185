// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// exportPhase downloads the big org's complete export over HTTP as JSON
// and as NDJSON, counting the events in the client, while sampling the
// server's anonymous memory. Each format is downloaded twice: as sent
// (Accept-Encoding: identity, what curl asks for) and gzip-compressed
// (what Go's HTTP client asks for unless told otherwise, decompressed by
// it as it reads).
func (r *run) exportPhase(ctx context.Context, h *httpClient, c *child) error {
	for _, x := range []struct{ format, encoding string }{
		{"json", "identity"}, {"ndjson", "identity"}, {"json", "gzip"}, {"ndjson", "gzip"},
	} {
		format := x.format
		r.progress("export %s over HTTP (%s)", format, x.encoding)
		before := c.rssAnonKiB()
		var peak atomic.Int64
		done := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			sampleMax(&peak, c.rssAnonKiB, done)
			close(sampled)
		}()
		start := time.Now()
		n, size, err := r.download(ctx, h, format, x.encoding)
		took := time.Since(start)
		close(done)
		<-sampled
		if err != nil {
			return err
		}
		perSec := float64(n) / took.Seconds()
		r.report.add(row{
			name: "export over HTTP, " + format + " (" + x.encoding + "), big org, counted by the client",
			trail: fmt.Sprintf("%s events/s (%s events, %s in %s); server RssAnon +%s (from %s)",
				rate(perSec), count(n), mib(size>>10), dur(took), mib(max(0, peak.Load()-before)), mib(before)),
			base:   fmt.Sprintf("%s rows/s (SELECT of %s rows)", rate(r.baselineScan), count(r.baselineRows)),
			ratio:  ratio(perSec, r.baselineScan),
			target: "≥ 500,000 events/s, ≥ 2×; RssAnon ≤ +128 MiB",
		})
	}
	return nil
}

// download fetches the export and returns how many events and bytes
// (uncompressed) it held. Each export is itself recorded in the org.
// encoding is "identity", or "gzip" for the HTTP client's transparent
// compression.
func (r *run) download(ctx context.Context, h *httpClient, format, encoding string) (events, size int64, err error) {
	var hdr http.Header
	if encoding == "identity" {
		hdr = http.Header{"Accept-Encoding": {"identity"}}
	}
	resp, err := h.getWith(ctx, "/api/v1/orgs/"+url.PathEscape(r.o.Org)+"/export?format="+format, hdr)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var counter interface {
		io.Writer
		events() int64
	} = &lineCounter{}
	if format == "json" {
		counter = &jsonCounter{}
	}
	size, err = io.CopyBuffer(counter, resp.Body, make([]byte, 256<<10))
	if err != nil {
		return 0, size, fmt.Errorf("export %s: %w", format, err)
	}
	return counter.events(), size, nil
}

// sampleMax stores the largest value of f, read every 20 ms, until done.
func sampleMax(peak *atomic.Int64, f func() int64, done <-chan struct{}) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if v := f(); v > peak.Load() {
			peak.Store(v)
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// lineCounter counts NDJSON lines: one event each (an export without
// &integrity=1 has no other line).
type lineCounter struct{ n int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

func (c *lineCounter) events() int64 { return c.n }

// jsonCounter counts the objects of the top-level object's arrays (the
// JSON export's "events"), following strings and escapes, so that no
// character inside an event can be mistaken for structure. Inside a
// string it jumps from quote to quote (bytes.IndexByte), so that the
// client counts far faster than a server can send.
type jsonCounter struct {
	stack    []byte // open containers, '{' or '['
	inString bool
	escaped  bool // the last byte seen in a string was an unpaired backslash
	n        int64
}

func (c *jsonCounter) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i++ {
		if c.inString {
			i = c.skipString(p, i)
			continue
		}
		switch b := p[i]; b {
		case '"':
			c.inString = true
		case '{', '[':
			if b == '{' && len(c.stack) == 2 && c.stack[1] == '[' {
				c.n++
			}
			c.stack = append(c.stack, b)
		case '}', ']':
			if len(c.stack) == 0 {
				return 0, fmt.Errorf("export: unbalanced %q", b)
			}
			c.stack = c.stack[:len(c.stack)-1]
		}
	}
	return len(p), nil
}

// skipString consumes string bytes from p[i:] and returns the index of
// the closing quote, or len(p)-1 when the string goes on past p.
func (c *jsonCounter) skipString(p []byte, i int) int {
	for i < len(p) {
		if c.escaped {
			c.escaped = false
			i++
			continue
		}
		q := bytes.IndexByte(p[i:], '"')
		if q < 0 {
			c.escaped = trailingBackslashes(p[i:])%2 == 1
			return len(p) - 1
		}
		if trailingBackslashes(p[i:i+q])%2 == 0 {
			c.inString = false
			return i + q
		}
		i += q + 1 // an escaped quote
	}
	return len(p) - 1
}

// trailingBackslashes counts the backslashes that end b.
func trailingBackslashes(b []byte) int {
	n := 0
	for n < len(b) && b[len(b)-1-n] == '\\' {
		n++
	}
	return n
}

func (c *jsonCounter) events() int64 { return c.n }
