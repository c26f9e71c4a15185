// SPDX-License-Identifier: Apache-2.0

// Package storetest is the conformance suite for audit.Store: one set of
// tests that every storage engine (SQLite now, PostgreSQL later) must pass,
// in the shape of testing/slogtest. An engine's test calls Run with a
// function that opens a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) audit.Store {
//			s, err := sqlite.Open(t.TempDir(), sqlite.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite states the contract of audit.Store in tests: dense per-org
// seqs, exact stored bytes, idempotent retries, all-or-nothing batches,
// every filter (positive and negated), paging, scans, daily counts, tenant
// isolation, keys, concurrent appends and a larger log.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// Run runs the conformance suite. open returns a fresh, empty store for
// each subtest; it registers the store's cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) audit.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Seq", seqTests},
		{"Bytes", bytesTests},
		{"Idempotency", idempotencyTests},
		{"FailedBatch", failedBatchTests},
		{"Filter", filterTests},
		{"Order", orderTests},
		{"Scan", scanTests},
		{"Event", eventTests},
		{"DailyCounts", dailyTests},
		{"Orgs", orgsTests},
		{"Isolation", isolationTests},
		{"Keys", keyTests},
		{"Ledger", ledgerTests},
		{"Viewer", viewerTests},
		{"Stream", streamTests},
		{"Policy", policyTests},
		{"Prune", pruneTests},
		{"Erase", eraseTests},
		{"Load", loadTests},
		{"Ingest", ingestTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tt := range g.tests {
				t.Run(tt.name, func(t *testing.T) {
					tt.run(&harness{t: t, s: open(t), ctx: t.Context()})
				})
			}
		})
	}
}

type test struct {
	name string
	run  func(h *harness)
}

// harness wraps a store with assertions that fail the test on any store
// error, so that the tests read as the contract they check.
type harness struct {
	t   *testing.T
	s   audit.Store
	ctx context.Context
}

// t0 is the suite's reference time; every time is whole microseconds, the
// precision of the canonical encoding.
var t0 = time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)

// newEvent returns a complete event of org: actor alice, one repo target,
// occurring n minutes after t0.
func newEvent(org, id string, n int) audit.Event {
	return audit.Event{
		ID:          id,
		Org:         org,
		Type:        "repo.create",
		Category:    "content",
		Actor:       audit.Actor{Type: "user", ID: "u-alice", Name: "alice"},
		Targets:     []audit.Target{{Type: "repo", ID: "r-" + id, Name: org + "/model-" + id}},
		Description: "alice created the model " + org + "/model-" + id,
		Client:      &audit.Client{IP: "203.0.113.0", IPPrefixLen: 24, UserAgent: "storetest/1"},
		Location:    &audit.Location{CountryCode: "FR", Country: "France", Region: "Île-de-France", City: "Paris"},
		OccurredAt:  t0.Add(time.Duration(n) * time.Minute),
		ReceivedAt:  t0.Add(time.Duration(n)*time.Minute + time.Second),
		Metadata:    map[string]any{"n": json.Number(fmt.Sprint(n))},
	}
}

// pending wraps ev as the write path does: Hash covers the producer's
// content (seq and received_at left out).
func pending(ev audit.Event) *audit.Pending {
	c := ev
	c.Seq, c.ReceivedAt = 0, time.Time{}
	return &audit.Pending{Event: ev, Hash: sha256.Sum256(c.AppendCanonical(nil))}
}

// canonical is the bytes a store must return for ev stored at seq.
func canonical(ev audit.Event, seq int64) []byte {
	ev.Seq = seq
	return ev.AppendCanonical(nil)
}

// batch makes a batch of fresh Pendings for evs.
func batch(org string, evs ...audit.Event) *audit.Batch {
	b := &audit.Batch{Org: org}
	for _, ev := range evs {
		b.Events = append(b.Events, pending(ev))
	}
	return b
}

// append commits batches in one Append and fails on a transaction error.
// Each batch's own Err is left for the caller to check.
func (h *harness) append(batches ...*audit.Batch) {
	h.t.Helper()
	if err := h.s.Append(h.ctx, batches); err != nil {
		h.t.Fatalf("Append: %v", err)
	}
}

// appendOK commits evs as one batch of org and returns their seqs.
func (h *harness) appendOK(org string, evs ...audit.Event) []int64 {
	h.t.Helper()
	b := batch(org, evs...)
	h.append(b)
	return h.seqs(b)
}

// seqs checks that b committed and returns its events' seqs.
func (h *harness) seqs(b *audit.Batch) []int64 {
	h.t.Helper()
	if b.Err != nil {
		h.t.Fatalf("batch of %s: Err = %v, want nil", b.Org, b.Err)
	}
	if len(b.Results) != len(b.Events) {
		h.t.Fatalf("batch of %s: got %d results, want %d", b.Org, len(b.Results), len(b.Events))
	}
	seqs := make([]int64, len(b.Results))
	for i, r := range b.Results {
		if r.ID != b.Events[i].Event.ID {
			h.t.Errorf("batch of %s: result %d has id %q, want %q", b.Org, i, r.ID, b.Events[i].Event.ID)
		}
		seqs[i] = r.Seq
	}
	return seqs
}

func (h *harness) size(org string) int64 {
	h.t.Helper()
	n, err := h.s.Size(h.ctx, org)
	if err != nil {
		h.t.Fatalf("Size(%q): %v", org, err)
	}
	return n
}

func (h *harness) wantSize(org string, want int64) {
	h.t.Helper()
	if got := h.size(org); got != want {
		h.t.Errorf("Size(%q) = %d, want %d", org, got, want)
	}
}

func (h *harness) query(org string, q audit.Query) audit.Page {
	h.t.Helper()
	p, err := h.s.Query(h.ctx, org, q)
	if err != nil {
		h.t.Fatalf("Query(%q, %+v): %v", org, q, err)
	}
	if len(p.Events) != len(p.Seqs) {
		h.t.Fatalf("Query(%q, %+v): %d events but %d seqs", org, q, len(p.Events), len(p.Seqs))
	}
	if q.Limit >= 0 && len(p.Events) > q.Limit {
		h.t.Fatalf("Query(%q, %+v): %d events, more than the limit %d", org, q, len(p.Events), q.Limit)
	}
	return p
}

// scan collects Scan's seqs and bytes.
func (h *harness) scan(org string, from, to int64, f audit.Filter) ([]int64, [][]byte) {
	h.t.Helper()
	var seqs []int64
	var data [][]byte
	err := h.s.Scan(h.ctx, org, from, to, f, func(seq int64, b []byte) error {
		seqs = append(seqs, seq)
		data = append(data, append([]byte(nil), b...))
		return nil
	})
	if err != nil {
		h.t.Fatalf("Scan(%q, %d, %d): %v", org, from, to, err)
	}
	return seqs, data
}

func (h *harness) dailyCounts(org string, from, to time.Time) []audit.DayCount {
	h.t.Helper()
	got, err := h.s.DailyCounts(h.ctx, org, from, to)
	if err != nil {
		h.t.Fatalf("DailyCounts(%q): %v", org, err)
	}
	return got
}

// wantNotFound checks that err is audit.ErrNotFound.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, audit.ErrNotFound) {
		t.Errorf("%s: got error %v, want audit.ErrNotFound", what, err)
	}
}

// all is a query with no bounds and room for every test log.
func all(f audit.Filter) audit.Query {
	return audit.Query{Filter: f, Before: -1, After: -1, Limit: 1000}
}

// terms builds a Filter.
func terms(ts ...audit.Term) audit.Filter { return audit.Filter{Terms: ts} }

// decoded is the part of a stored event the tests read back.
type decoded struct {
	ID  string `json:"id"`
	Org string `json:"org"`
	Seq int64  `json:"seq"`
}

func decode(t *testing.T, data []byte) decoded {
	t.Helper()
	var d decoded
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("stored bytes are not JSON: %v: %s", err, data)
	}
	return d
}

// ids returns the ids of a page's events, checking that each event's
// stored seq is the seq the page reports.
func ids(t *testing.T, p audit.Page) []string {
	t.Helper()
	out := make([]string, len(p.Events))
	for i, data := range p.Events {
		d := decode(t, data)
		if d.Seq != p.Seqs[i] {
			t.Errorf("event %q: page says seq %d, its bytes say %d", d.ID, p.Seqs[i], d.Seq)
		}
		out[i] = d.ID
	}
	return out
}

func seqRange(from, to int64) []int64 {
	var s []int64
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func asError(err error, target **audit.Error) bool { return errors.As(err, target) }
