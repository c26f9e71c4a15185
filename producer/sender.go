// SPDX-License-Identifier: Apache-2.0

package producer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/trailaudit/trail/client"
)

// run is the sender: it delivers the spool's oldest events, batch after
// batch, until Close.
func (p *Producer) run() {
	defer close(p.done)
	for {
		changed := p.sp.changes()
		maxN := int(p.batchCap.Load())
		batch := p.sp.peek(maxN, p.cfg.MaxBatchBytes)
		if len(batch) == 0 {
			if !p.sleep(changed, -1, true) {
				return
			}
			continue
		}
		if len(batch) < maxN && p.flushing.Load() == 0 {
			// Give concurrent senders a moment to fill the batch.
			if !p.sleep(nil, p.cfg.Linger, true) {
				return
			}
			batch = p.sp.peek(maxN, p.cfg.MaxBatchBytes)
		}
		if !p.deliver(batch) {
			return
		}
	}
}

// sleep waits for ch, d (d < 0: no time bound) or, when kickable, a
// Flush; false means the producer is stopping.
func (p *Producer) sleep(ch <-chan struct{}, d time.Duration, kickable bool) bool {
	var timer <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	var kick chan struct{}
	if kickable {
		kick = p.kick
	}
	select {
	case <-ch:
	case <-timer:
	case <-kick:
	case <-p.ctx.Done():
		return false
	}
	return true
}

// deliver sends batch, the spool's oldest events, until each is
// acknowledged or dead-lettered, retrying failures; false means the
// producer is stopping and the events stay spooled. A request refused as
// a whole (too large, malformed) is retried with the first half of the
// batch, down to a single event, which is then dead-lettered.
func (p *Producer) deliver(batch []item) bool {
	dead := make([]bool, len(batch))
	n := len(batch)
	for attempt := 0; ; {
		live := liveItems(batch[:n], dead)
		if len(live) == 0 {
			return p.settle(n, 0)
		}
		err := p.ingest(live)
		if err == nil {
			return p.settle(n, len(live))
		}
		var apiErr *client.APIError
		errors.As(err, &apiErr)
		switch {
		case eventRejected(apiErr, len(live)):
			if !p.deadLetter(live, apiErr, dead, batch) {
				return false
			}
			attempt = 0
		case requestRejected(apiErr) && n > 1:
			n /= 2
			if apiErr.Status == http.StatusRequestEntityTooLarge && int64(n) < p.batchCap.Load() {
				p.batchCap.Store(int64(n)) // the server's batch limit is lower: keep to it
			}
			attempt = 0
		case requestRejected(apiErr):
			if !p.deadLetter(live, apiErr, dead, batch) {
				return false
			}
		default:
			if !p.backoff(attempt, len(live), err, apiErr) {
				return false
			}
			attempt++
		}
	}
}

// liveItems returns the items not dead-lettered.
func liveItems(batch []item, dead []bool) []item {
	var live []item
	for i, it := range batch {
		if !dead[i] {
			live = append(live, it)
		}
	}
	return live
}

func (p *Producer) ingest(live []item) error {
	raws := make([]json.RawMessage, len(live))
	for i, it := range live {
		raws[i] = it.event
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.RequestTimeout)
	defer cancel()
	_, err := p.c.IngestRaw(ctx, live[0].org, raws)
	return err
}

// settle removes the n oldest events from the spool once sent of them
// are acknowledged (the others were dead-lettered).
func (p *Producer) settle(n, sent int) bool {
	if err := p.sp.ack(n); err != nil {
		// The events are in Trail; a stale cursor only re-sends them.
		p.log.Error("producer: recording acknowledged events", "error", err)
	}
	if h := p.cfg.Hooks.Sent; h != nil && sent > 0 {
		h(sent)
	}
	_, bytes, _ := p.sp.state()
	p.spoolBytes(bytes)
	return true
}

// eventRejected reports whether Trail refused named events of the request
// (invalid, or an id reused with other content), which the rest of the
// batch can go on without.
func eventRejected(e *client.APIError, n int) bool {
	if e == nil || (e.Status != http.StatusUnprocessableEntity && e.Status != http.StatusConflict) {
		return false
	}
	for _, d := range e.Details {
		if d.Index >= 0 && d.Index < n {
			return true
		}
	}
	return false
}

// requestRejected reports whether Trail refused the request as a whole
// for what it holds: too large, malformed, or invalid without naming the
// event. Retrying it unchanged cannot succeed.
func requestRejected(e *client.APIError) bool {
	if e == nil {
		return false
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusConflict:
		return true
	}
	return false
}

// deadLetter moves the events apiErr names (all of live when it names
// none) to the dead-letter file and marks them dead in batch, once the
// file has them; false means the producer is stopping first.
func (p *Producer) deadLetter(live []item, apiErr *client.APIError, dead []bool, batch []item) bool {
	problems := map[int][]string{}
	for _, d := range apiErr.Details {
		if d.Index >= 0 && d.Index < len(live) {
			problems[d.Index] = append(problems[d.Index], fmt.Sprintf("%s: expected %s", d.Field, d.Expected))
		}
	}
	if len(problems) == 0 {
		for i := range live {
			problems[i] = nil
		}
	}
	var recs []DeadLetter
	var gone []int64 // gpos of each dead-lettered event
	now := time.Now().UTC()
	for i, it := range live {
		msgs, bad := problems[i]
		if !bad {
			continue
		}
		why := fmt.Sprintf("trail: %d %s: %s", apiErr.Status, apiErr.Code, apiErr.Message)
		if len(msgs) > 0 {
			why += " (" + strings.Join(msgs, "; ") + ")"
		}
		recs = append(recs, DeadLetter{At: now, Org: it.org, Event: it.event, Error: why})
		gone = append(gone, it.gpos)
	}
	// Never drop: the events stay in the spool until the file has them.
	for err := p.dl.add(recs...); err != nil; err = p.dl.add(recs...) {
		p.log.Error("producer: writing the dead-letter file; retrying", "error", err)
		if !p.sleep(nil, p.cfg.MaxBackoff, false) {
			return false
		}
	}
	for j := range batch {
		dead[j] = dead[j] || slices.Contains(gone, batch[j].gpos)
	}
	p.log.Error("producer: Trail refused events; moved to the dead-letter file", "events", len(recs), "file", p.dl.path, "error", apiErr.Error())
	if h := p.cfg.Hooks.DeadLettered; h != nil {
		h(len(recs))
	}
	return true
}

// backoff waits before retry number attempt: a random time up to a
// ceiling that doubles from MinBackoff to MaxBackoff, and at least the
// reply's Retry-After. False means the producer is stopping.
func (p *Producer) backoff(attempt, n int, err error, apiErr *client.APIError) bool {
	if h := p.cfg.Hooks.Retried; h != nil {
		h(n, err)
	}
	ceiling := p.cfg.MaxBackoff
	if attempt < 30 {
		ceiling = min(p.cfg.MinBackoff<<attempt, p.cfg.MaxBackoff)
	}
	wait := ceiling/2 + rand.N(ceiling/2+1)
	if apiErr != nil && apiErr.RetryAfter > wait {
		wait = apiErr.RetryAfter
	}
	level := slog.LevelWarn
	if apiErr != nil && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden || apiErr.Status == http.StatusNotFound) {
		level = slog.LevelError // a configuration problem: the key or the org
	}
	p.log.Log(p.ctx, level, "producer: sending failed; will retry", "events", n, "attempt", attempt+1, "wait", wait, "error", err)
	return p.sleep(nil, wait, false)
}
