// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/trailaudit/trail/client"
)

// streamReceiver is a webhook endpoint that keeps every delivery it
// received, acknowledged or not. When hold is set, the delivery that
// arrives next is recorded, announced on held, and answered only once
// release is closed: trail serve is killed while it waits.
type streamReceiver struct {
	t       *testing.T
	mu      sync.Mutex
	secret  string
	got     []streamDelivery
	hold    bool
	from    int64 // only a delivery from this seq on is held
	held    chan streamDelivery
	release chan struct{}
}

type streamDelivery struct {
	ID          string
	First, Last int64
	Seqs        []int64
}

func (rc *streamReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	wh, err := standardwebhooks.NewWebhook(rc.secret)
	if err == nil {
		err = wh.Verify(body, r.Header)
	}
	if err != nil {
		rc.mu.Unlock()
		rc.t.Errorf("delivery signature: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var b struct {
		First  int64 `json:"first_seq"`
		Last   int64 `json:"last_seq"`
		Events []struct{ Seq int64 }
	}
	json.Unmarshal(body, &b)
	d := streamDelivery{ID: r.Header.Get("webhook-id"), First: b.First, Last: b.Last}
	for _, ev := range b.Events {
		d.Seqs = append(d.Seqs, ev.Seq)
	}
	rc.got = append(rc.got, d)
	hold := rc.hold && len(d.Seqs) > 0 && d.First >= rc.from
	if hold {
		rc.hold = false
	}
	rc.mu.Unlock()
	if hold {
		rc.held <- d
		<-rc.release
	}
}

func (rc *streamReceiver) deliveries() []streamDelivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]streamDelivery(nil), rc.got...)
}

// TestStreamKill9: trail serve streams to a webhook receiver and is killed
// with SIGKILL while a delivery is in flight, three times; after each
// restart delivery resumes from the durable cursor. The receiver ends
// with every seq, in order, and the only duplicates are those of the
// batch in flight at a kill.
func TestStreamKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test builds and runs the binary; skipped with -short")
	}
	bin := trailBinary(t)
	data := t.TempDir()
	key := createKeyCLI(t, bin, data, "--scope", "admin")
	rc := &streamReceiver{t: t, held: make(chan streamDelivery)}
	recv := httptest.NewServer(rc)
	defer recv.Close()

	s := startServer(t, bin, data, "--stream-allow-private")
	c := client.New(s.Base, key)
	ingestN(t, c, 2500)
	rc.mu.Lock()
	rc.hold, rc.release = true, make(chan struct{})
	st, err := c.CreateStream(t.Context(), "acme", client.NewStream{Name: "siem", Kind: "webhook", Settings: map[string]any{"url": recv.URL}})
	if err == nil {
		rc.secret = st.Secret
	}
	rc.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	var inFlight []streamDelivery
	for cycle := range 3 {
		d := <-rc.held
		inFlight = append(inFlight, d)
		s.Kill()
		close(rc.release)
		s = startServer(t, bin, data, "--stream-allow-private")
		c = client.New(s.Base, key)
		ingestN(t, c, 1500)
		if cycle < 2 {
			rc.mu.Lock()
			// The next kill lands in a later batch.
			rc.hold, rc.release, rc.from = true, make(chan struct{}), d.Last+1
			rc.mu.Unlock()
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := c.Stream(t.Context(), "acme", st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LagEvents == 0 && got.DeliveredSeq >= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s the stream is at %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	size := int64(2500 + 3*1500 + 1) // and the stream's creation event
	s.Stop()
	checkKillDeliveries(t, rc.deliveries(), inFlight, size)
}

// checkKillDeliveries checks the receiver's deliveries: each starts right
// after the one before, except the first after a kill, which starts at
// the in-flight batch's first seq (it was not acknowledged) or right after
// it (it was); every seq 0 … size-1 arrived.
func checkKillDeliveries(t *testing.T, ds []streamDelivery, inFlight []streamDelivery, size int64) {
	t.Helper()
	seen := map[int64]int{}
	next := int64(0) // the first seq the next delivery should cover
	pending := inFlight
	for i, d := range ds {
		switch {
		case d.First == next:
		case len(pending) > 0 && i > 0 && ds[i-1].ID == pending[0].ID && (d.First == pending[0].First || d.First == pending[0].Last+1):
			pending = pending[1:]
		default:
			t.Fatalf("delivery %d (%s) covers %d…%d; want it to start at %d, or at the in-flight batch after a kill", i, d.ID, d.First, d.Last, next)
		}
		for j, seq := range d.Seqs {
			if seq < d.First || seq > d.Last || (j > 0 && seq != d.Seqs[j-1]+1) {
				t.Fatalf("delivery %s covers %d…%d but holds seqs %v…", d.ID, d.First, d.Last, d.Seqs[:min(5, len(d.Seqs))])
			}
			seen[seq]++
		}
		next = d.Last + 1
	}
	allowed := map[int64]int{} // 1, plus one per kill whose in-flight batch held the seq
	for _, d := range inFlight {
		for _, seq := range d.Seqs {
			allowed[seq]++
		}
	}
	if len(pending) != 0 {
		t.Errorf("%d kills left no trace in the deliveries", len(pending))
	}
	dups := 0
	for seq := range size {
		switch n := seen[seq]; {
		case n == 0:
			t.Fatalf("seq %d never arrived", seq)
		case n > 1+allowed[seq]:
			t.Errorf("seq %d arrived %d times, outside the batches in flight at the kills", seq, n)
		}
		dups += seen[seq] - 1
	}
	t.Logf("%d deliveries, %d events, %d duplicates (the batches in flight at the kills)", len(ds), size, dups)
}

// ingestN ingests n events into acme in batches of 500.
func ingestN(t *testing.T, c *client.Client, n int) {
	t.Helper()
	for n > 0 {
		k := min(n, 500)
		events := make([]client.Event, k)
		for i := range events {
			events[i] = client.Event{
				Type:    "repo.create",
				Actor:   client.Actor{Type: "user", ID: "u1", Name: "alice"},
				Targets: []client.Target{{Type: "repo", ID: fmt.Sprint("r", i), Name: "acme/m" + strings.Repeat("x", i%7)}},
			}
		}
		if _, err := c.Ingest(t.Context(), "acme", events); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
}
