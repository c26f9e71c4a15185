// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"
)

// serveFlags are the flags the bench adds to a server's command line: its
// geolocation database, and no per-key rate limits (the bench measures
// throughput, and counts every org's events over the API after the crash,
// far past a normal reader's rate).
func serveFlags(geo string) []string {
	return []string{"--geoip", geo, "--rate-ingest", "0", "--rate-read", "0"}
}

// serverPhases runs `trail serve` on the store: ingest at full load,
// SIGKILL, restart (time to ready, every acknowledged event present),
// latency at half load, export.
func (r *run) serverPhases(ctx context.Context) error {
	args := append(slices.Clone(r.o.Serve), serveFlags(r.geo)...)
	first := args
	if r.o.ProfiledServe != nil {
		first = append(slices.Clone(r.o.ProfiledServe), serveFlags(r.geo)...)
	}
	start := time.Now()
	c, err := r.startReady(ctx, first)
	if err != nil {
		return err
	}
	defer func() { c.kill() }() // a no-op once it has stopped
	r.report.add(row{name: "server start on the preloaded store (to /readyz 200)", trail: dur(time.Since(start))})
	h := &httpClient{base: c.base, keys: r.keys, c: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}}
	if r.o.Only == OnlyExport {
		if err := r.exportPhase(ctx, h, c); err != nil {
			return err
		}
		return c.stop()
	}

	before, err := r.sizes(ctx, h)
	if err != nil {
		return err
	}
	acked, err := r.ingestPhase(ctx, h) // ingest.go
	if err != nil {
		return err
	}
	if r.o.ProfiledServe != nil {
		if err := c.writeProfile(r.o.StopServeProfile); err != nil {
			return err
		}
	}
	// Kill at once, while the most data the engine leaves unsealed is.
	c.kill()
	if c, err = r.restartPhase(ctx, h, args, before, acked); err != nil {
		return err
	}
	if err := r.latencyPhase(ctx, h); err != nil { // ingest.go
		return err
	}
	if err := r.exportPhase(ctx, h, c); err != nil { // export.go
		return err
	}
	if err := r.proofPhase(ctx, h); err != nil {
		return err
	}
	return c.stop()
}

func (r *run) startReady(ctx context.Context, args []string) (*child, error) {
	c, err := startChild(ctx, r.o.Exe, args)
	if err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		c.kill()
		return nil, err
	}
	return c, nil
}

// restartPhase starts the server again after the SIGKILL, times it to
// ready and checks that every acknowledged event is there.
func (r *run) restartPhase(ctx context.Context, h *httpClient, args []string, before, acked []int64) (*child, error) {
	r.progress("restarting after SIGKILL")
	start := time.Now()
	c, err := r.startReady(ctx, args)
	if err != nil {
		return nil, fmt.Errorf("restarting after SIGKILL: %w", err)
	}
	took := time.Since(start)
	h.base = c.base
	after, err := r.sizes(ctx, h)
	if err != nil {
		c.kill()
		return nil, err
	}
	var total, lost int64
	for i := range before {
		total += acked[i]
		lost += max(0, before[i]+acked[i]-after[i])
	}
	r.report.add(row{name: "restart after SIGKILL at the end of the ingest phase (to /readyz 200)",
		trail: fmt.Sprintf("%s; %s acknowledged events, %s lost", dur(took), count(total), count(lost))})
	if lost > 0 {
		c.kill()
		return nil, fmt.Errorf("%d acknowledged events are missing after the SIGKILL and restart", lost)
	}
	return c, nil
}

// sizes returns each org's number of events, from the newest event's seq.
func (r *run) sizes(ctx context.Context, h *httpClient) ([]int64, error) {
	out := make([]int64, len(r.orgs))
	for i, org := range r.orgs {
		var page struct {
			Events []struct {
				Seq int64 `json:"seq"`
			} `json:"events"`
		}
		if err := h.getJSON(ctx, "/api/v1/orgs/"+url.PathEscape(org)+"/events?limit=1", &page); err != nil {
			return nil, err
		}
		if len(page.Events) > 0 {
			out[i] = page.Events[0].Seq + 1
		}
	}
	return out, nil
}

// httpClient talks to the server with the bench's keys.
type httpClient struct {
	base string
	keys benchKeys
	c    *http.Client
}

// post sends one ingest body to org and fails unless it is acknowledged.
func (h *httpClient) post(ctx context.Context, org string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, "POST", h.base+"/api/v1/orgs/"+url.PathEscape(org)+"/events", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+h.keys.ingest)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ingest into %s: %s: %.300s", org, resp.Status, b)
	}
	return nil
}

// get starts a GET with the read key; the caller closes the body.
func (h *httpClient) get(ctx context.Context, path string) (*http.Response, error) {
	return h.getWith(ctx, path, nil)
}

// getWith is get with more request headers.
func (h *httpClient) getWith(ctx context.Context, path string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", h.base+path, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+h.keys.read)
	resp, err := h.c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return resp, nil
}

func (h *httpClient) getJSON(ctx context.Context, path string, v any) error {
	resp, err := h.get(ctx, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// proofPhase times inclusion proofs over HTTP for events found by the
// queries, after one untimed proof that has the server sign a checkpoint.
func (r *run) proofPhase(ctx context.Context, h *httpClient) error {
	if len(r.proofIDs) == 0 {
		return nil
	}
	r.progress("inclusion proofs: %d", len(r.proofIDs))
	proof := func(id string) error {
		var reply struct{ Seq int64 }
		return h.getJSON(ctx, "/api/v1/orgs/"+url.PathEscape(r.o.Org)+"/events/"+url.PathEscape(id)+"/proof", &reply)
	}
	if err := proof(r.proofIDs[0]); err != nil {
		return err
	}
	var lat latencies
	for _, id := range r.proofIDs {
		t0 := time.Now()
		if err := proof(id); err != nil {
			return err
		}
		lat.add(time.Since(t0))
	}
	r.report.add(row{
		name:   "inclusion proof over HTTP, big org",
		trail:  fmt.Sprintf("p50 %s, p99 %s (%d proofs)", ms(lat.pct(50)), ms(lat.pct(99)), lat.len()),
		target: "p99 ≤ 5 ms",
	})
	return nil
}
