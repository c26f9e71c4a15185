// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/audit"
)

// TestStreamOverHTTP: an admin creates a webhook stream over the API; the
// receiver gets the org's events in signed deliveries; the listing shows
// the cursor and lag; every change is in the org's log.
func TestStreamOverHTTP(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var secret string
	var seqs []int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(secret)
		if err == nil {
			err = wh.Verify(body, r.Header)
		}
		if err != nil {
			t.Errorf("delivery signature: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var d struct {
			Events []struct{ Seq int64 } `json:"events"`
		}
		json.Unmarshal(body, &d)
		for _, ev := range d.Events {
			seqs = append(seqs, ev.Seq)
		}
	}))
	defer recv.Close()
	e.ingest("acme", changeRole("e1", "bob"))

	c := e.client(e.Admin)
	mu.Lock()
	st, err := c.CreateStream(t.Context(), "acme", client.NewStream{Name: "siem", Kind: "webhook", Settings: map[string]any{"url": recv.URL}})
	if err == nil {
		secret = st.Secret
	}
	mu.Unlock()
	if err != nil || !strings.HasPrefix(st.Secret, "whsec_") || st.DeliveredSeq != -1 || st.State != "active" {
		t.Fatalf("CreateStream = %+v, %v", st, err)
	}
	e.ingest("acme", changeRole("e2", "carol"), repoCreate("e3", "llama"))
	n := e.size("acme")
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := c.Stream(t.Context(), "acme", st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.DeliveredSeq == n-1 && got.LagEvents == 0 {
			if got.Secret != "" || got.LastSuccessAt == "" {
				t.Errorf("GET shows %+v: want no secret and a last success", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %+v, want delivered_seq %d", got, n-1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if len(seqs) != int(n) || seqs[0] != 0 || seqs[n-1] != n-1 {
		t.Errorf("receiver got seqs %v, want 0…%d", seqs, n-1)
	}
	mu.Unlock()

	list, err := c.Streams(t.Context(), "acme")
	if err != nil || len(list) != 1 || list[0].ID != st.ID || list[0].Settings["url"] != recv.URL {
		t.Fatalf("Streams = %+v, %v", list, err)
	}
	if p, err := c.PauseStream(t.Context(), "acme", st.ID); err != nil || p.State != "paused" {
		t.Errorf("PauseStream = %+v, %v", p, err)
	}
	// Replayed while paused, so that the reply shows the moved cursor: an
	// active stream may deliver again before the reply is read.
	if p, err := c.ReplayStream(t.Context(), "acme", st.ID, client.ReplayFrom{FromTime: time.Now().Add(-time.Hour)}); err != nil || p.DeliveredSeq != -1 || p.State != "paused" {
		t.Errorf("ReplayStream(from_time an hour ago) = %+v, %v; want delivered_seq -1, paused", p, err)
	}
	mu.Lock()
	seqs = nil
	mu.Unlock()
	if p, err := c.ResumeStream(t.Context(), "acme", st.ID); err != nil || p.State != "active" {
		t.Errorf("ResumeStream = %+v, %v", p, err)
	}
	// Resumed, it delivers the org's log again from its first event.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		again := slices.Clone(seqs)
		mu.Unlock()
		if len(again) > 0 && again[0] == 0 && again[len(again)-1] >= n-1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the replay and 30s the receiver got seqs %v, want 0…%d again", again, n-1)
		}
	}
	if res, err := c.TestStream(t.Context(), "acme", st.ID); err != nil || !res.OK {
		t.Errorf("TestStream = %+v, %v", res, err)
	}
	if err := c.DeleteStream(t.Context(), "acme", st.ID); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, raw := range e.all("acme") {
		var ev struct {
			Type  string
			Actor audit.Actor
		}
		json.Unmarshal(raw, &ev)
		if strings.HasPrefix(ev.Type, "org.audit_log.stream.") {
			types = append(types, strings.TrimPrefix(ev.Type, "org.audit_log.stream."))
			if ev.Actor.Type != "token" || ev.Actor.ID != e.keyID(e.Admin) {
				t.Errorf("%s recorded with actor %+v, want the admin key", ev.Type, ev.Actor)
			}
		}
	}
	if got := strings.Join(types, " "); got != "create pause replay resume test delete" {
		t.Errorf("stream events in the log: %s", got)
	}
	metrics := string(e.get("/metrics", "").Body)
	if !strings.Contains(metrics, "trail_stream_deliveries_total") {
		t.Error("/metrics has no trail_stream_deliveries_total")
	}
}

// TestStreamErrors: each refusal has its status, names what to fix, and
// stores nothing.
func TestStreamErrors(t *testing.T) {
	e := newEnv(t)
	beta := e.key(audit.ScopeAdmin, "beta")
	read := e.key(audit.ScopeRead, "")
	path := "/api/v1/orgs/acme/streams"
	ok := `{"name":"siem","kind":"webhook","url":"http://127.0.0.1:9/"}`
	if r := e.do("POST", path, e.Admin, "application/json", []byte(ok)); r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	for _, tt := range []struct {
		method, path, key, body string
		status                  int
		says                    string
	}{
		{"POST", path, e.Admin, `{"name":`, 400, "body"},
		{"POST", path, e.Admin, ok, 409, "siem"},
		{"POST", path, e.Admin, `{"name":"x","kind":"fax"}`, 422, "kind"},
		{"POST", path, e.Admin, `{"name":"x","kind":"webhook","url":"http://siem.example.com"}`, 422, "url"},
		{"POST", path, e.Admin, `{"name":"x","kind":"webhook","url":"https://siem.example.com","filter":"typo:x"}`, 422, "filter"},
		{"POST", path, e.Admin, `{"name":"` + strings.Repeat("x", 20<<10) + `"}`, 413, "bytes"},
		{"POST", path, read, ok, 403, ""},
		{"GET", path, read, "", 403, ""},
		{"GET", "/api/v1/orgs/acme/streams", beta, "", 404, ""},
		{"GET", path + "/st_nope", e.Admin, "", 404, "st_nope"},
		{"POST", path + "/st_nope/pause", e.Admin, "", 404, "st_nope"},
		{"POST", path + "/st_nope/replay", e.Admin, `{"from_seq":0}`, 404, "st_nope"},
		{"DELETE", path + "/st_nope", e.Admin, "", 404, "st_nope"},
		{"GET", path + "?limit=3", e.Admin, "", 400, "limit"},
	} {
		r := e.do(tt.method, tt.path, tt.key, "application/json", []byte(tt.body))
		if r.Status != tt.status || !strings.Contains(r.apiError().Message, tt.says) {
			t.Errorf("%s %s %.40s: %d %s, want %d saying %q", tt.method, tt.path, tt.body, r.Status, r.Body, tt.status, tt.says)
		}
	}
	list, err := e.client(e.Admin).Streams(t.Context(), "acme")
	if err != nil || len(list) != 1 {
		t.Fatalf("after the refusals: %d streams, %v; want 1", len(list), err)
	}
	id := list[0].ID
	for body, says := range map[string]string{
		`{}`:                        "from_seq",
		`{"from_seq":-1}`:           "from_seq",
		`{"from_seq":99}`:           "from_seq",
		`{"from_time":"yesterday"}`: "from_time",
		`{"from_seq":0,"from_time":"2026-01-01T00:00:00Z"}`: "not both",
		`{"from":0}`: "from",
	} {
		r := e.do("POST", path+"/"+id+"/replay", e.Admin, "application/json", []byte(body))
		if (r.Status != 400 && r.Status != 422) || !strings.Contains(r.apiError().Message, says) {
			t.Errorf("replay %s: %d %s, want 400/422 saying %q", body, r.Status, r.Body, says)
		}
	}
}
