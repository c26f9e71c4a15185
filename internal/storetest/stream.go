// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"errors"
	"fmt"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// newStream is a stream of org named name, created n seconds after t0.
func newStream(org, id, name string, n int) audit.Stream {
	return audit.Stream{
		ID: id, Org: org, Name: name, Kind: "webhook", Format: "json", Filter: "type:repo.create",
		Settings:  []byte(`{"url":"https://siem.example.com/in","secret":"whsec_c2VjcmV0"}`),
		CreatedAt: t0.Add(time.Duration(n) * time.Second),
	}
}

func (h *harness) createStream(st audit.Stream) {
	h.t.Helper()
	if err := h.s.CreateStream(h.ctx, st); err != nil {
		h.t.Fatalf("CreateStream(%s): %v", st.ID, err)
	}
}

func (h *harness) stream(org, id string) audit.Stream {
	h.t.Helper()
	st, err := h.s.Stream(h.ctx, org, id)
	if err != nil {
		h.t.Fatalf("Stream(%s, %s): %v", org, id, err)
	}
	return st
}

// sameStream compares everything but the cursor.
func sameStream(got, want audit.Stream) bool {
	return got.ID == want.ID && got.Org == want.Org && got.Name == want.Name && got.Kind == want.Kind &&
		got.Format == want.Format && got.Filter == want.Filter && string(got.Settings) == string(want.Settings) &&
		got.Paused == want.Paused && got.CreatedAt.Equal(want.CreatedAt)
}

var streamTests = []test{
	{"RoundTrip", func(h *harness) {
		want := newStream("acme", "st_1", "siem", 0)
		want.Cursor = audit.StreamCursor{DeliveredSeq: 99, Failures: 3} // ignored
		h.createStream(want)
		got := h.stream("acme", "st_1")
		if !sameStream(got, want) {
			h.t.Errorf("Stream = %+v, want %+v", got, want)
		}
		if got.Cursor != (audit.StreamCursor{DeliveredSeq: -1}) {
			h.t.Errorf("new stream's cursor = %+v, want delivered_seq -1 and nothing else", got.Cursor)
		}
		_, err := h.s.Stream(h.ctx, "acme", "st_2")
		wantNotFound(h.t, "Stream(unknown)", err)
	}},
	{"ListOldestFirst", func(h *harness) {
		h.createStream(newStream("acme", "st_b", "second", 2))
		h.createStream(newStream("acme", "st_a", "first", 1))
		h.createStream(newStream("beta", "st_c", "other", 0))
		list, err := h.s.Streams(h.ctx, "acme")
		if err != nil {
			h.t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != "st_a" || list[1].ID != "st_b" {
			h.t.Errorf("Streams(acme) = %v, want st_a then st_b", streamIDs(list))
		}
		all, err := h.s.AllStreams(h.ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		if got := fmt.Sprint(streamIDs(all)); got != "[st_a st_b st_c]" {
			h.t.Errorf("AllStreams = %s, want [st_a st_b st_c]", got)
		}
		empty, err := h.s.Streams(h.ctx, "nobody")
		if err != nil || len(empty) != 0 {
			h.t.Errorf("Streams(nobody) = %v, %v; want none", empty, err)
		}
	}},
	{"NameUniquePerOrg", func(h *harness) {
		h.createStream(newStream("acme", "st_1", "siem", 0))
		err := h.s.CreateStream(h.ctx, newStream("acme", "st_2", "siem", 1))
		if audit.ErrorCode(err) != audit.CodeConflict {
			h.t.Errorf("second stream named siem: got %v, want a conflict", err)
		}
		h.createStream(newStream("beta", "st_3", "siem", 1)) // another org may
	}},
	{"Bounded", func(h *harness) {
		for i := range audit.MaxStreamsPerOrg {
			h.createStream(newStream("acme", fmt.Sprint("st_", i), fmt.Sprint("s", i), i))
		}
		err := h.s.CreateStream(h.ctx, newStream("acme", "st_x", "one too many", 99))
		if audit.ErrorCode(err) != audit.CodeUnprocessable {
			h.t.Errorf("stream %d: got %v, want CodeUnprocessable", audit.MaxStreamsPerOrg+1, err)
		}
		h.createStream(newStream("beta", "st_x", "one too many", 99))
	}},
	{"PauseAndDelete", func(h *harness) {
		h.createStream(newStream("acme", "st_1", "siem", 0))
		if err := h.s.SetStreamPaused(h.ctx, "acme", "st_1", true); err != nil {
			h.t.Fatal(err)
		}
		if !h.stream("acme", "st_1").Paused {
			h.t.Error("stream not paused after SetStreamPaused(true)")
		}
		if err := h.s.SetStreamPaused(h.ctx, "acme", "st_1", false); err != nil {
			h.t.Fatal(err)
		}
		if h.stream("acme", "st_1").Paused {
			h.t.Error("stream paused after SetStreamPaused(false)")
		}
		wantNotFound(h.t, "SetStreamPaused(unknown)", h.s.SetStreamPaused(h.ctx, "acme", "nope", true))
		if err := h.s.DeleteStream(h.ctx, "acme", "st_1"); err != nil {
			h.t.Fatal(err)
		}
		_, err := h.s.Stream(h.ctx, "acme", "st_1")
		wantNotFound(h.t, "Stream after delete", err)
		wantNotFound(h.t, "DeleteStream twice", h.s.DeleteStream(h.ctx, "acme", "st_1"))
		h.createStream(newStream("acme", "st_2", "siem", 1)) // the name is free again
	}},
	{"CursorForwardOnly", func(h *harness) {
		h.createStream(newStream("acme", "st_1", "siem", 0))
		at := t0.Add(time.Hour)
		if err := h.s.AdvanceStream(h.ctx, "acme", "st_1", 0, 41, 40, at); err != nil {
			h.t.Fatal(err)
		}
		if err := h.s.AdvanceStream(h.ctx, "acme", "st_1", 0, 10, 5, at.Add(time.Second)); err != nil {
			h.t.Fatal(err)
		}
		c := h.stream("acme", "st_1").Cursor
		if c.DeliveredSeq != 41 || c.CheckpointSize != 40 || !c.LastSuccessAt.Equal(at.Add(time.Second)) {
			h.t.Errorf("cursor = %+v, want delivered 41, checkpoint 40 (never back), last success at %v", c, at.Add(time.Second))
		}
	}},
	{"Failures", func(h *harness) {
		h.createStream(newStream("acme", "st_1", "siem", 0))
		at := t0.Add(time.Hour)
		for i := int64(1); i <= 3; i++ {
			n, err := h.s.StreamFailed(h.ctx, "acme", "st_1", 0, fmt.Sprint("HTTP 50", i), at.Add(time.Duration(i)*time.Second))
			if err != nil || n != i {
				h.t.Fatalf("StreamFailed #%d = %d, %v; want %d", i, n, err, i)
			}
		}
		c := h.stream("acme", "st_1").Cursor
		if c.Failures != 3 || c.LastError != "HTTP 503" || !c.LastErrorAt.Equal(at.Add(3*time.Second)) || c.DeliveredSeq != -1 {
			h.t.Errorf("cursor after 3 failures = %+v", c)
		}
		if err := h.s.AdvanceStream(h.ctx, "acme", "st_1", 0, 5, 0, at.Add(time.Minute)); err != nil {
			h.t.Fatal(err)
		}
		c = h.stream("acme", "st_1").Cursor
		if c.Failures != 0 || c.LastError != "HTTP 503" || c.DeliveredSeq != 5 {
			h.t.Errorf("cursor after a success = %+v, want failures 0, last error kept, delivered 5", c)
		}
	}},
	{"Replay", func(h *harness) {
		h.createStream(newStream("acme", "st_1", "siem", 0))
		if err := h.s.AdvanceStream(h.ctx, "acme", "st_1", 0, 100, 101, t0); err != nil {
			h.t.Fatal(err)
		}
		if _, err := h.s.StreamFailed(h.ctx, "acme", "st_1", 0, "timeout", t0); err != nil {
			h.t.Fatal(err)
		}
		c, err := h.s.ReplayStream(h.ctx, "acme", "st_1", 9)
		if err != nil {
			h.t.Fatal(err)
		}
		if c.DeliveredSeq != 9 || c.CheckpointSize != 0 || c.Epoch != 1 || c.Failures != 0 {
			h.t.Errorf("ReplayStream = %+v, want delivered 9, checkpoint 0, epoch 1, failures 0", c)
		}
		if got := h.stream("acme", "st_1").Cursor; got != c {
			h.t.Errorf("stored cursor %+v, want %+v", got, c)
		}
		// A delivery that started before the replay cannot move it.
		err = h.s.AdvanceStream(h.ctx, "acme", "st_1", 0, 200, 201, t0)
		if !errors.Is(err, audit.ErrStreamMoved) {
			h.t.Errorf("AdvanceStream with the old epoch: got %v, want ErrStreamMoved", err)
		}
		_, err = h.s.StreamFailed(h.ctx, "acme", "st_1", 0, "late", t0)
		if !errors.Is(err, audit.ErrStreamMoved) {
			h.t.Errorf("StreamFailed with the old epoch: got %v, want ErrStreamMoved", err)
		}
		if got := h.stream("acme", "st_1").Cursor; got.DeliveredSeq != 9 || got.Failures != 0 {
			h.t.Errorf("cursor moved by an old epoch: %+v", got)
		}
		if err := h.s.AdvanceStream(h.ctx, "acme", "st_1", 1, 20, 0, t0); err != nil {
			h.t.Errorf("AdvanceStream with the new epoch: %v", err)
		}
		_, err = h.s.ReplayStream(h.ctx, "acme", "nope", 0)
		wantNotFound(h.t, "ReplayStream(unknown)", err)
		wantNotFound(h.t, "AdvanceStream(unknown)", h.s.AdvanceStream(h.ctx, "acme", "nope", 0, 1, 0, t0))
	}},
	{"Lease", func(h *harness) {
		h.createStream(newStream("acme", "st_1", "siem", 0))
		lease := func(holder string, now time.Time) bool {
			h.t.Helper()
			ok, err := h.s.LeaseStream(h.ctx, "acme", "st_1", holder, now, 10*time.Second)
			if err != nil {
				h.t.Fatalf("LeaseStream(%s): %v", holder, err)
			}
			return ok
		}
		if !lease("r1", t0) {
			h.t.Fatal("r1 did not get a free lease")
		}
		if lease("r2", t0.Add(5*time.Second)) {
			h.t.Error("r2 took a lease r1 holds")
		}
		if !lease("r1", t0.Add(9*time.Second)) {
			h.t.Error("r1 could not renew its lease")
		}
		if lease("r2", t0.Add(18*time.Second)) {
			h.t.Error("r2 took r1's renewed lease before it expired")
		}
		if !lease("r2", t0.Add(19*time.Second)) {
			h.t.Error("r2 could not take an expired lease")
		}
		if err := h.s.ReleaseStream(h.ctx, "acme", "st_1", "r1"); err != nil { // not r1's: no effect
			h.t.Fatal(err)
		}
		if lease("r1", t0.Add(20*time.Second)) {
			h.t.Error("r1's release ended r2's lease")
		}
		if err := h.s.ReleaseStream(h.ctx, "acme", "st_1", "r2"); err != nil {
			h.t.Fatal(err)
		}
		if !lease("r1", t0.Add(20*time.Second)) {
			h.t.Error("r1 could not take a released lease")
		}
		_, err := h.s.LeaseStream(h.ctx, "acme", "nope", "r1", t0, time.Second)
		wantNotFound(h.t, "LeaseStream(unknown)", err)
	}},
	{"Isolation", func(h *harness) {
		h.createStream(newStream("acme", "st_1", "siem", 0))
		_, err := h.s.Stream(h.ctx, "beta", "st_1")
		wantNotFound(h.t, "beta reading acme's stream", err)
		list, err := h.s.Streams(h.ctx, "beta")
		if err != nil || len(list) != 0 {
			h.t.Errorf("Streams(beta) = %v, %v; want none", streamIDs(list), err)
		}
		wantNotFound(h.t, "beta pausing acme's stream", h.s.SetStreamPaused(h.ctx, "beta", "st_1", true))
		wantNotFound(h.t, "beta advancing acme's stream", h.s.AdvanceStream(h.ctx, "beta", "st_1", 0, 5, 0, t0))
		_, err = h.s.StreamFailed(h.ctx, "beta", "st_1", 0, "x", t0)
		wantNotFound(h.t, "beta failing acme's stream", err)
		_, err = h.s.ReplayStream(h.ctx, "beta", "st_1", 0)
		wantNotFound(h.t, "beta replaying acme's stream", err)
		_, err = h.s.LeaseStream(h.ctx, "beta", "st_1", "r", t0, time.Second)
		wantNotFound(h.t, "beta leasing acme's stream", err)
		wantNotFound(h.t, "beta deleting acme's stream", h.s.DeleteStream(h.ctx, "beta", "st_1"))
		// The same id in another org is another stream.
		h.createStream(newStream("beta", "st_1", "siem", 1))
		if err := h.s.AdvanceStream(h.ctx, "beta", "st_1", 0, 7, 0, t0); err != nil {
			h.t.Fatal(err)
		}
		got := h.stream("acme", "st_1")
		if got.Paused || got.Cursor.DeliveredSeq != -1 || got.Cursor.Failures != 0 {
			h.t.Errorf("acme's stream changed by beta: %+v", got)
		}
	}},
}

func streamIDs(list []audit.Stream) []string {
	ids := make([]string, len(list))
	for i, st := range list {
		ids[i] = st.ID
	}
	return ids
}
