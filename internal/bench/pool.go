// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/geo/geotest"
)

// pool holds the events every phase sends, and the request bodies built
// from them before any clock starts.
type pool struct {
	events  []json.RawMessage // ingest JSON without id and occurred_at: Trail assigns ids, events occur when received
	bodies  [][]byte          // {"events":[...]} of Batch events each
	avgSize int
	vocab   vocab // values the queries look for (vocab.go), from the events preloaded
}

// newPool makes n events from the demo generator (a realistic mix of
// types, people, addresses and targets) and the bodies of batch events.
func newPool(n, batch int) *pool {
	p := &pool{}
	total := 0
	for b := range demo.Batches(demo.Options{Org: "bench", Events: n, Seed: 42}) {
		for _, raw := range b {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				panic(fmt.Sprintf("bench: the demo generator made invalid JSON: %v", err))
			}
			delete(m, "id")
			delete(m, "occurred_at")
			out, _ := json.Marshal(m)
			p.events = append(p.events, out)
			total += len(out)
		}
	}
	p.avgSize = total / len(p.events)
	for i := 0; i+batch <= len(p.events); i += batch {
		p.bodies = append(p.bodies, body(p.events[i:i+batch]))
	}
	if len(p.bodies) == 0 { // a batch larger than the pool
		p.bodies = append(p.bodies, body(cycle(p.events, batch)))
	}
	return p
}

func body(events []json.RawMessage) []byte {
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	for j, e := range events {
		if j > 0 {
			sb.WriteByte(',')
		}
		sb.Write(e)
	}
	sb.WriteString("]}")
	return []byte(sb.String())
}

func cycle(events []json.RawMessage, n int) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range out {
		out[i] = events[i%len(events)]
	}
	return out
}

// history spreads the preloaded events of an org evenly over the Days
// before End, in order, as a log that grew over time would be.
type history struct {
	end   time.Time
	days  int
	total int64
}

func (h history) start() time.Time { return h.end.AddDate(0, 0, -h.days) }

// at is when event i of the history occurred.
func (h history) at(i int64) time.Time {
	step := time.Duration(h.days) * 24 * time.Hour / time.Duration(max(h.total, 1))
	return h.start().Add(time.Duration(i) * step)
}

// batch returns n pool events numbered from first, each with its
// occurred_at spliced in.
func (h history) batch(events []json.RawMessage, first, n int64) []json.RawMessage {
	out := make([]json.RawMessage, n)
	for i := range n {
		raw := events[(first+i)%int64(len(events))]
		at := h.at(first + i).UTC().Format(time.RFC3339Nano)
		e := make([]byte, 0, len(raw)+48)
		e = append(e, raw[:len(raw)-1]...)
		e = append(e, `,"occurred_at":"`...)
		e = append(e, at...)
		e = append(e, `"}`...)
		out[i] = e
	}
	return out
}

// geoDB returns the geolocation database the run uses: --geoip, or one
// written into the work directory that covers every network the demo's
// people use, so that country filters have something to find.
func (r *run) geoDB() (string, error) {
	if r.o.GeoIP != "" {
		return r.o.GeoIP, nil
	}
	var nets []geotest.Network
	for _, n := range demo.Networks() {
		nets = append(nets, geotest.Network{Prefix: n.Prefix, CountryCode: n.Country})
	}
	path := filepath.Join(r.o.WorkDir, "dbip-city.mmdb")
	return path, geotest.WriteFile(path, geotest.Options{}, nets)
}

// countries are the countries the demo's networks are in.
func countries() []string {
	var out []string
	for _, n := range demo.Networks() {
		out = append(out, n.Country)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func firstFields(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}
