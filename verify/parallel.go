// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"bytes"
	"runtime"
	"sync"

	"github.com/trailaudit/trail/internal/ledger"
)

// Large exports are scanned by several goroutines at once, each from a
// guessed event boundary, hashing the events it finds while their bytes
// are in cache. A guess is a place that looks like the start of an event
// of this org (`},{"id":"…","org":"<org>","seq":`); it is confirmed only
// when the scan of the segment before it ends exactly there, so a wrong
// guess costs time, never correctness: the rest is then scanned serially.

// parallelMin is the smallest export worth splitting.
const parallelMin = 4 << 20

type segment struct {
	events []Event
	leaves []Hash
	end    int  // where the scan stopped: at the next segment's start, or past ']'
	last   bool // the scan reached the end of the array
	err    *MalformedError
}

// eventsParallel parses the events from p.i (at the first event) when the
// input is large, else reports false.
func (p *parser) eventsParallel(x *Export) (bool, error) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || len(p.d)-p.i < parallelMin || x.Org == "" {
		return false, nil
	}
	cuts := []int{p.i}
	for k := 1; k < workers; k++ {
		c := findCut(p.d, p.i+k*(len(p.d)-p.i)/workers, x.Org)
		if c > cuts[len(cuts)-1] {
			cuts = append(cuts, c)
		}
	}
	if len(cuts) < 2 {
		return false, nil
	}
	segs := make([]segment, len(cuts))
	var wg sync.WaitGroup
	for k := range cuts {
		limit := len(p.d) + 1
		if k+1 < len(cuts) {
			limit = cuts[k+1]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			segs[k] = scanSegment(p.d, cuts[k], limit)
		}()
	}
	wg.Wait()
	n := 0
	for _, s := range segs {
		n += len(s.events)
	}
	x.Events = make([]Event, 0, n)
	x.leaves = make([]Hash, 0, n)
	for k, s := range segs {
		base := len(x.Events)
		x.Events = append(x.Events, s.events...)
		x.leaves = append(x.leaves, s.leaves...)
		if s.err != nil {
			e := *s.err
			e.Event += base
			if e.Seq < 0 && base > 0 {
				last := x.Events[base-1]
				e.Seq, e.ID = last.Seq, last.ID()
			}
			return true, &e
		}
		p.i = s.end
		if s.last {
			p.ev = -1
			return true, nil
		}
		if k+1 == len(segs) || s.end != cuts[k+1] {
			break // a wrong guess: go on serially from here
		}
	}
	x.leaves = nil
	return true, p.eventsFrom(x)
}

// scanSegment scans events from `from` until the next one would start at
// limit (or later), or the array ends.
func scanSegment(d []byte, from, limit int) segment {
	q := &parser{d: d, i: from, lastSeq: -1, limit: min(limit, len(d))}
	var x Export
	var s segment
	for {
		q.ev = len(x.Events)
		if err := q.event(&x); err != nil {
			s.err = err.(*MalformedError)
			break
		}
		e := x.Events[len(x.Events)-1]
		if s.leaves == nil {
			s.leaves = make([]Hash, 0, cap(x.Events))
		}
		h, _ := ledger.EventLeaf(e.Data)
		s.leaves = append(s.leaves, h)
		more, err := q.next(']')
		if err != nil {
			s.err = err.(*MalformedError)
			break
		}
		q.ws()
		if !more {
			s.last = true
			break
		}
		if q.i >= limit {
			break
		}
	}
	s.events, s.end = x.Events, q.i
	return s
}

// findCut returns the index of the '{' of the first place at or after i
// that looks like the start of an event of org, or -1.
func findCut(d []byte, i int, org string) int {
	pat := []byte(`},{"id":"`)
	tail := []byte(`","org":"` + org + `","seq":`)
	for i < len(d) {
		k := bytes.Index(d[i:], pat)
		if k < 0 {
			return -1
		}
		c := i + k + 2
		rest := d[c+len(`{"id":"`):]
		if q := bytes.IndexByte(rest, '"'); q >= 0 && q <= 64 && bytes.HasPrefix(rest[q:], tail) {
			return c
		}
		i = c
	}
	return -1
}
