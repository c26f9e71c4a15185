// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/trailaudit/trail/internal/stream"
	"github.com/trailaudit/trail/internal/stream/streamtest"
)

// No Splunk or Datadog can run on this machine: these receivers enforce
// the documented request contract of Splunk's HTTP Event Collector and of
// Datadog's logs intake v2, and refuse any request that breaks it.

// hecReceiver is Splunk's HEC (docs.splunk.com, "Format events for HTTP
// Event Collector"): POST /services/collector/event, Authorization:
// Splunk <token>, a body of concatenated event objects each with a
// non-empty "event", a numeric "time" if any, at most maxBody bytes.
type hecReceiver struct {
	token   string
	maxBody int
	mu      sync.Mutex
	events  []map[string]json.RawMessage
	bodies  []int // size of each accepted body
	refuse  int   // when set, answer every request with this status
}

func (h *hecReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(status, code int, text string) {
		w.Header().Set("Content-Type", "application/json")
		if status == 503 || status == 429 {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"text":%q,"code":%d}`, text, code)
	}
	switch {
	case r.Method != "POST" || r.URL.Path != "/services/collector/event":
		reply(404, 404, "Not found")
		return
	case r.Header.Get("Authorization") == "":
		reply(401, 2, "Token is required")
		return
	case r.Header.Get("Authorization") != "Splunk "+h.token:
		reply(403, 4, "Invalid token")
		return
	case h.refuse != 0:
		reply(h.refuse, 9, "Server is busy")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, int64(h.maxBody)+1))
	if len(body) > h.maxBody {
		reply(413, 27, "Content too large")
		return
	}
	var got []map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(body))
	for d.More() {
		var e map[string]json.RawMessage
		if err := d.Decode(&e); err != nil {
			reply(400, 6, "Invalid data format")
			return
		}
		if ev := e["event"]; len(ev) == 0 || string(ev) == `""` || string(ev) == "null" {
			reply(400, 12, "Event field is required")
			return
		}
		if t, ok := e["time"]; ok {
			var f float64
			if json.Unmarshal(t, &f) != nil {
				reply(400, 6, "Invalid data format")
				return
			}
		}
		got = append(got, e)
	}
	if len(got) == 0 {
		reply(400, 5, "No data")
		return
	}
	h.mu.Lock()
	h.events = append(h.events, got...)
	h.bodies = append(h.bodies, len(body))
	h.mu.Unlock()
	reply(200, 0, "Success")
}

func TestSplunk(t *testing.T) {
	recv := &hecReceiver{token: "11111111-2222-3333-4444-555555555555", maxBody: 1_000_000}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	log := streamtest.New(t)
	log.AddPadded("acme", 3000, 200) // ~1.8 MB of HEC objects: several bodies
	sink, c := openKind(t, "splunk", `{"url":"`+srv.URL+`/","token":"`+recv.token+`","index":"audit","sourcetype":"trail:audit:json"}`)
	k, _ := stream.LookupKind("splunk")
	if pub := mustJSON(k.Public(c.Settings)); strings.Contains(string(pub), recv.token) {
		t.Errorf("Public = %s: the token leaked", pub)
	}
	b := log.Batch("acme", 0, 3000, 3000)
	if err := sink.Deliver(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(recv.bodies) < 2 {
		t.Errorf("%d bodies, want the batch split under the 1 MB limit", len(recv.bodies))
	}
	if len(recv.events) != 3001 {
		t.Fatalf("HEC got %d events, want 3000 and the checkpoint", len(recv.events))
	}
	for i, ev := range b.Events {
		e := recv.events[i]
		if string(e["event"]) != string(ev.Data) || string(e["index"]) != `"audit"` || string(e["sourcetype"]) != `"trail:audit:json"` || string(e["source"]) != `"trail"` {
			t.Fatalf("HEC event %d = %v, want seq %d: %s", i, e, ev.Seq, ev.Data)
		}
		want := fmt.Sprintf("%d.000", streamtest.T0.Unix()+60*ev.Seq)
		if string(e["time"]) != want {
			t.Fatalf("HEC event %d time = %s, want %s (occurred_at)", i, e["time"], want)
		}
	}
	if cp := recv.events[3000]["event"]; string(cp) != string(checkpointJSON(b.Checkpoint)) {
		t.Errorf("last HEC event = %s, want the checkpoint", cp)
	}
}

func TestSplunkRefusals(t *testing.T) {
	recv := &hecReceiver{token: "right", maxBody: 1_000_000}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	log := streamtest.New(t)
	log.Add("acme", 2)
	b := log.Batch("acme", 0, 2, 2)
	wrong, _ := openKind(t, "splunk", `{"url":"`+srv.URL+`","token":"wrong"}`)
	var se *stream.StatusError
	if err := wrong.Deliver(context.Background(), b); !errors.As(err, &se) || se.Status != 403 || se.Code != "code 4" || se.Retryable() {
		t.Errorf("Deliver with a wrong token = %v, want HTTP 403 code 4, not retryable", err)
	}
	recv.refuse = 503
	right, _ := openKind(t, "splunk", `{"url":"`+srv.URL+`","token":"right"}`)
	if err := right.Deliver(context.Background(), b); !errors.As(err, &se) || se.Status != 503 || !se.Retryable() || se.RetryAfter.Seconds() != 7 {
		t.Errorf("Deliver to a busy HEC = %v, want HTTP 503, retryable, retry after 7s", err)
	}
	if len(recv.events) != 0 {
		t.Errorf("the refused deliveries stored %d events", len(recv.events))
	}
}

func TestSplunkSettings(t *testing.T) {
	for _, c := range []struct{ settings, field string }{
		{`{"token":"t"}`, "url"},
		{`{"url":"http://splunk.example.com:8088","token":"t"}`, "url"},
		{`{"url":"https://splunk.example.com:8088?x=1","token":"t"}`, "url"},
		{`{"url":"https://splunk.example.com:8088"}`, "token"},
		{`{"url":"https://splunk.example.com:8088","token":"t","index":"a b"}`, "index"},
		{`{"url":"https://splunk.example.com:8088","token":"t","sourcetype":"x\"y"}`, "sourcetype"},
		{`{"url":"https://splunk.example.com:8088","token":"t","channel":"c"}`, "channel"},
	} {
		settingError(t, "splunk", c.settings, c.field)
	}
}

// ddReceiver is Datadog's logs intake v2 (docs.datadoghq.com/api/latest/logs,
// "Send logs"): POST /api/v2/logs, DD-API-KEY, a JSON array of entries each
// with a string "message"; at most 1000 entries and 5 MB uncompressed per
// request, 1 MB per entry; Content-Encoding gzip allowed.
type ddReceiver struct {
	key     string
	mu      sync.Mutex
	entries []map[string]any
	counts  []int // entries of each accepted request
	sizes   []int // uncompressed bytes of each accepted request
	gzipped int
	refuse  int
}

func (d *ddReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		if status == 429 {
			w.Header().Set("Retry-After", "3")
		}
		w.WriteHeader(status)
		if status == 202 {
			io.WriteString(w, "{}")
			return
		}
		fmt.Fprintf(w, `{"errors":[%q]}`, msg)
	}
	switch {
	case r.Method != "POST" || r.URL.Path != "/api/v2/logs":
		reply(404, "Not found")
		return
	case r.Header.Get("DD-API-KEY") != d.key:
		reply(403, "Forbidden")
		return
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		reply(400, "Content-Type must be application/json")
		return
	case d.refuse != 0:
		reply(d.refuse, "Too many requests")
		return
	}
	var in io.Reader = r.Body
	gz := false
	switch r.Header.Get("Content-Encoding") {
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			reply(400, "bad gzip")
			return
		}
		in, gz = zr, true
	case "", "identity":
	default:
		reply(415, "unsupported Content-Encoding")
		return
	}
	body, err := io.ReadAll(io.LimitReader(in, 5_000_001))
	if err != nil {
		reply(400, "bad body")
		return
	}
	if len(body) > 5_000_000 {
		reply(413, "Payload too large")
		return
	}
	var raw []json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		reply(400, "the body must be a JSON array of log entries")
		return
	}
	if len(raw) == 0 || len(raw) > 1000 {
		reply(400, fmt.Sprintf("%d entries: an array holds 1 to 1000", len(raw)))
		return
	}
	var got []map[string]any
	for _, e := range raw {
		var m map[string]any
		if len(e) > 1_000_000 || json.Unmarshal(e, &m) != nil {
			reply(400, "an entry is not a JSON object of at most 1 MB")
			return
		}
		if _, ok := m["message"].(string); !ok {
			reply(400, "an entry has no string message")
			return
		}
		got = append(got, m)
	}
	d.mu.Lock()
	d.entries = append(d.entries, got...)
	d.counts = append(d.counts, len(got))
	d.sizes = append(d.sizes, len(body))
	if gz {
		d.gzipped++
	}
	d.mu.Unlock()
	reply(202, "")
}

func TestDatadog(t *testing.T) {
	for _, c := range []struct {
		name     string
		n, pad   int
		gzip     string
		requests func(counts, sizes []int) bool
	}{
		{"by count", 2500, 0, "", func(counts, _ []int) bool {
			return fmt.Sprint(counts) == "[1000 1000 501]"
		}},
		{"by size, plain", 400, 30_000, `,"gzip":false`, func(counts, sizes []int) bool {
			for i, s := range sizes {
				if s > 5_000_000 || i < len(sizes)-1 && s < 4_500_000 {
					return false // over the limit, or split too early
				}
			}
			return len(counts) == 3
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			recv := &ddReceiver{key: "dd-key-1"}
			srv := httptest.NewServer(recv)
			defer srv.Close()
			log := streamtest.New(t)
			log.AddPadded("acme", c.n, c.pad)
			sink, _ := openKind(t, "datadog", `{"url":"`+srv.URL+`","api_key":"dd-key-1","service":"trail-prod","tags":"env:prod,team:sec"`+c.gzip+`}`)
			b := log.Batch("acme", 0, int64(c.n), int64(c.n))
			if err := sink.Deliver(context.Background(), b); err != nil {
				t.Fatal(err)
			}
			if !c.requests(recv.counts, recv.sizes) {
				t.Errorf("requests of %v entries, %v bytes: not split as the limits require", recv.counts, recv.sizes)
			}
			if want := 0; c.gzip == "" && recv.gzipped != len(recv.counts) || c.gzip != "" && recv.gzipped != want {
				t.Errorf("%d of %d requests gzip'd (settings %q)", recv.gzipped, len(recv.counts), c.gzip)
			}
			if len(recv.entries) != c.n+1 {
				t.Fatalf("%d entries, want %d events and the checkpoint", len(recv.entries), c.n)
			}
			for i, ev := range b.Events {
				e := recv.entries[i]
				if e["message"] != string(ev.Data) || e["ddsource"] != "trail" || e["service"] != "trail-prod" || e["ddtags"] != "env:prod,team:sec" {
					t.Fatalf("entry %d = %v, want seq %d", i, e, ev.Seq)
				}
			}
			if last := recv.entries[c.n]["message"]; last != string(checkpointJSON(b.Checkpoint)) {
				t.Errorf("last entry = %v, want the checkpoint", last)
			}
		})
	}
}

func TestDatadogRefusals(t *testing.T) {
	recv := &ddReceiver{key: "right"}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	log := streamtest.New(t)
	log.Add("acme", 2)
	b := log.Batch("acme", 0, 2, -1)
	var se *stream.StatusError
	wrong, _ := openKind(t, "datadog", `{"url":"`+srv.URL+`","api_key":"wrong"}`)
	if err := wrong.Deliver(context.Background(), b); !errors.As(err, &se) || se.Status != 403 || se.Retryable() {
		t.Errorf("Deliver with a wrong key = %v, want HTTP 403, not retryable", err)
	}
	recv.refuse = 429
	right, _ := openKind(t, "datadog", `{"url":"`+srv.URL+`","api_key":"right"}`)
	if err := right.Deliver(context.Background(), b); !errors.As(err, &se) || se.Status != 429 || !se.Retryable() || se.RetryAfter.Seconds() != 3 {
		t.Errorf("Deliver when rate limited = %v, want HTTP 429, retryable, retry after 3s", err)
	}
}

func TestDatadogSettings(t *testing.T) {
	for _, c := range []struct{ settings, field string }{
		{`{}`, "api_key"},
		{`{"site":"datadoghq.org","api_key":"k"}`, "site"},
		{`{"site":"datadoghq.eu","url":"https://proxy.example.com","api_key":"k"}`, "url"},
		{`{"url":"http://proxy.example.com","api_key":"k"}`, "url"},
		{`{"api_key":"k","tags":"a b"}`, "tags"},
		{`{"api_key":"k","service":"a b"}`, "service"},
		{`{"api_key":"k","gzip":"no"}`, "gzip"},
	} {
		settingError(t, "datadog", c.settings, c.field)
	}
	k, _ := stream.LookupKind("datadog")
	c, err := k.Create([]byte(`{"api_key":"secret-key","site":"datadoghq.eu"}`))
	if err != nil {
		t.Fatal(err)
	}
	if pub := k.Public(c.Settings); strings.Contains(string(mustJSON(pub)), "secret-key") || pub["site"] != "datadoghq.eu" || pub["gzip"] != true {
		t.Errorf("Public = %v", pub)
	}
}
