// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/trailaudit/trail/client"
)

// ingestN ingests n events in batches of up to 50; every third is a
// repo.create, the others org.change_role. It may run in any goroutine.
func ingestN(t *testing.T, e *env, org string, n int) {
	t.Helper()
	for done := 0; done < n; {
		var evs []client.Event
		for ; len(evs) < 50 && done < n; done++ {
			if done%3 == 0 {
				evs = append(evs, repoCreate("", fmt.Sprint("r", done)))
			} else {
				evs = append(evs, changeRole("", fmt.Sprint("m", done)))
			}
		}
		if _, err := e.client(e.Admin).Ingest(context.Background(), org, evs); err != nil {
			t.Errorf("ingest: %v", err)
			return
		}
	}
}

func TestDescCursorWalk(t *testing.T) {
	e := newEnv(t)
	const n = 237
	ingestN(t, e, "acme", n)
	for _, q := range []string{"", "type:repo.create", "-type:repo.create"} {
		seen := map[int64]bool{}
		last := int64(n)
		opts := client.ListOptions{Limit: 10, Query: q}
		for pages := 0; ; pages++ {
			if pages > n {
				t.Fatal("the cursor walk does not end")
			}
			p, err := e.client(e.Admin).List(context.Background(), "acme", opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range p.Events {
				s := decodeStored(t, raw).Seq
				if s >= last || seen[s] {
					t.Fatalf("q=%q: seq %d after %d: not strictly descending", q, s, last)
				}
				seen[s], last = true, s
			}
			if p.NextCursor == "" {
				break
			}
			opts.Cursor = p.NextCursor
		}
		want := 0
		for s := range n {
			if q == "" || (s%3 == 0) == (q == "type:repo.create") {
				want++
				if !seen[int64(s)] {
					t.Errorf("q=%q: seq %d never served", q, s)
				}
			}
		}
		if len(seen) != want {
			t.Errorf("q=%q: %d events served, want %d", q, len(seen), want)
		}
	}
}

// TestAscAfterSeqIsGapFree pulls new events the way a SIEM consumer does,
// after_seq = last seen, while producers keep writing.
func TestAscAfterSeqIsGapFree(t *testing.T) {
	e := newEnv(t)
	const n = 600
	var wg sync.WaitGroup
	wg.Go(func() { ingestN(t, e, "acme", n/2) })
	wg.Go(func() { ingestN(t, e, "acme", n/2) })
	var got []int64
	last := int64(-1)
	pull := func() int {
		opts := client.ListOptions{Order: client.Asc, Limit: 37}
		if last >= 0 {
			opts.AfterSeq = &last
		}
		p, err := e.client(e.Admin).List(context.Background(), "acme", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range p.Events {
			s := decodeStored(t, raw).Seq
			got = append(got, s)
			last = s
		}
		return len(p.Events)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			pull()
		}
	}
	for pull() > 0 {
	}
	if len(got) != n {
		t.Fatalf("pulled %d events, want %d", len(got), n)
	}
	for i, s := range got {
		if s != int64(i) {
			t.Fatalf("position %d holds seq %d: a gap or a repeat", i, s)
		}
	}
}
