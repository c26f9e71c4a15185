// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/logstore"
)

// Seed corpora: testdata/fuzz/FuzzSplitBatch and testdata/fuzz/FuzzIngest.
// Run a fuzzer with, for example:
//
//	go test ./internal/audit -run '^$' -fuzz '^FuzzIngest$' -fuzztime 60s -parallel 1

// fuzzLimits are small so that the fuzzer reaches every bound.
var fuzzLimits = audit.Limits{MaxBody: 64 << 10, MaxBatch: 16, MaxEvent: 8 << 10, MaxDescription: 512}

// checkError checks what every error of the ingest path must be: an
// *audit.Error of one of codes, with a short message, nothing else.
func checkError(t *testing.T, err error, codes ...audit.Code) *audit.Error {
	t.Helper()
	var e *audit.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *audit.Error", err, err)
	}
	if !slices.Contains(codes, e.Code) {
		t.Fatalf("error code %s, want one of %v: %v", e.Code, codes, err)
	}
	if e.Message == "" || len(e.Message) > 300 {
		t.Fatalf("error message of %d bytes: %.300q", len(e.Message), e.Message)
	}
	for _, d := range e.Details {
		if len(d.Field) > 150 || len(d.Expected) > 300 {
			t.Fatalf("detail echoes too much of the input: %.300q", d.Field+" "+d.Expected)
		}
	}
	return e
}

func FuzzSplitBatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		raws, err := audit.SplitBatch(body, ndjson, fuzzLimits)
		if err != nil {
			checkError(t, err, audit.CodeInvalid, audit.CodeTooLarge)
			if raws != nil {
				t.Fatalf("%d events returned with the error %v", len(raws), err)
			}
			return
		}
		if len(raws) < 1 || len(raws) > fuzzLimits.MaxBatch {
			t.Fatalf("%d events, want 1 to %d", len(raws), fuzzLimits.MaxBatch)
		}
		if int64(len(body)) > fuzzLimits.MaxBody {
			t.Fatalf("body of %d bytes accepted", len(body))
		}
		for i, r := range raws {
			if !json.Valid(r) {
				t.Fatalf("event %d is not valid JSON: %q", i, r)
			}
		}
		if ndjson {
			return
		}
		// An accepted envelope is exactly {"events": [the raws]}.
		if !json.Valid(body) {
			t.Fatalf("invalid JSON body accepted: %q", body)
		}
		var env map[string][]json.RawMessage
		if err := json.Unmarshal(body, &env); err != nil || len(env) != 1 {
			t.Fatalf("accepted body is not an envelope: %v: %q", err, body)
		}
		want := env["events"]
		if len(want) != len(raws) {
			t.Fatalf("%d events, the body has %d", len(raws), len(want))
		}
		for i := range raws {
			if !bytes.Equal(compact(t, raws[i]), compact(t, want[i])) {
				t.Fatalf("event %d = %q, the body has %q", i, raws[i], want[i])
			}
		}
	})
}

func compact(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("compact: %v", err)
	}
	return buf.Bytes()
}

// FuzzIngest sends each input, as a {"events": [...]} envelope when it
// starts like one and as NDJSON otherwise, through a real Service on a
// real log-engine store (one per fuzz worker, shared by its inputs).
func FuzzIngest(f *testing.F) {
	store, err := logstore.Open(f.TempDir(), logstore.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	svc := newService(f, store, true)
	ctx := context.Background()
	const org, copyOrg = "fuzz", "fuzz-copy"

	f.Fuzz(func(t *testing.T, body []byte) {
		ndjson := !bytes.HasPrefix(body, []byte(`{"events"`))
		lim := svc.Limits()
		raws, err := audit.SplitBatch(body, ndjson, lim)
		if err != nil {
			checkError(t, err, audit.CodeInvalid, audit.CodeTooLarge)
			return
		}
		before := size(t, store, org)
		acks, err := svc.Ingest(ctx, org, raws)
		after := size(t, store, org)
		if err != nil {
			e := checkError(t, err, audit.CodeInvalid, audit.CodeUnprocessable, audit.CodeTooLarge, audit.CodeConflict)
			t.Logf("rejected: %s %+v", e.Message, e.Details)
			if after != before {
				t.Fatalf("a rejected batch changed the log's size from %d to %d", before, after)
			}
			return
		}
		t.Logf("accepted: %v", acks)
		if len(acks) != len(raws) {
			t.Fatalf("%d acks for %d events", len(acks), len(raws))
		}
		// New events take the next seqs, in order; retries keep theirs.
		next := before
		for i, a := range acks {
			if !audit.ValidEventID(a.ID) {
				t.Fatalf("ack %d: id %q", i, a.ID)
			}
			switch {
			case a.Seq == next:
				next++
			case a.Seq >= 0 && a.Seq < before:
				if seq, _, err := store.Event(ctx, org, a.ID); err != nil || seq != a.Seq {
					t.Fatalf("ack %d: retry of %s answered seq %d; the store has %d, %v", i, a.ID, a.Seq, seq, err)
				}
			default:
				t.Fatalf("ack %d: seq %d; the log had %d events, next new seq %d", i, a.Seq, before, next)
			}
		}
		if after != next {
			t.Fatalf("log size %d after the batch, want %d", after, next)
		}
		// What was stored reads back as valid JSON at dense seqs, and
		// Trail takes it back: an export can be ingested elsewhere.
		want := before
		var copies []json.RawMessage
		err = store.Scan(ctx, org, before, after, audit.Filter{}, func(seq int64, data []byte) error {
			if seq != want {
				t.Fatalf("scan: seq %d, want %d", seq, want)
			}
			want++
			var ev struct {
				ID  string `json:"id"`
				Org string `json:"org"`
				Seq int64  `json:"seq"`
			}
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Fatalf("stored event %d is not valid JSON: %v: %q", seq, err, data)
			}
			if ev.Org != org || ev.Seq != seq || !slices.Contains(acks, audit.Ack{ID: ev.ID, Seq: seq}) {
				t.Fatalf("stored event %d is %s/%d/%s, not one of %v", seq, ev.Org, ev.Seq, ev.ID, acks)
			}
			copies = append(copies, slices.Clone(data))
			return nil
		})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		if want != after {
			t.Fatalf("scan stopped at seq %d, want %d", want, after)
		}
		if len(copies) > 0 {
			if _, err := svc.Ingest(ctx, copyOrg, copies); err != nil && audit.ErrorCode(err) != audit.CodeConflict {
				t.Fatalf("re-ingesting the stored events: %v\n%s", err, copies)
			}
		}
		// The same batch again: every producer id keeps its seq.
		again, err := svc.Ingest(ctx, org, raws)
		if err != nil {
			t.Fatalf("retry of an accepted batch: %v", err)
		}
		for i := range acks {
			if again[i].ID == acks[i].ID && again[i].Seq != acks[i].Seq {
				t.Fatalf("retry: event %d (%s) got seq %d, first %d", i, acks[i].ID, again[i].Seq, acks[i].Seq)
			}
		}
	})
}
