// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
)

// closedWithin reports whether the server closes conn within d while the
// client keeps quiet (reads until EOF or an error other than our own
// deadline).
func closedWithin(conn net.Conn, d time.Duration) bool {
	conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

// TestSlowloris: clients that send headers or a body a trickle at a time
// are cut off by --read-header-timeout and --read-timeout, store nothing,
// and do not keep the server from serving others.
func TestSlowloris(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := trailBinary(t)
	data := t.TempDir()
	key := createKeyCLI(t, bin, data, "--scope", "admin")
	s := serveOn(t, bin, data, "--geoip", "off", "--read-header-timeout", "1s", "--read-timeout", "2s")
	addr := strings.TrimPrefix(s.Base, "http://")

	const n = 20
	var conns []net.Conn
	for i := range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i%2 == 0 { // headers that never end
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Slow: 1\r\n", addr)
		} else { // a body that never comes
			fmt.Fprintf(c, "POST /api/v1/orgs/acme/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"events\":[", addr, key)
		}
		conns = append(conns, c)
	}
	// Meanwhile the server serves everyone else.
	if status, _ := httpGet(t, s.Base+"/healthz", ""); status != 200 {
		t.Errorf("healthz while %d slow clients hold connections: %d", n, status)
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Trickle one more header line or body byte every 200 ms: each
			// arrives well within any per-read timeout, so only a bound on
			// the whole header or request read can end this.
			stop := make(chan struct{})
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(200 * time.Millisecond):
						if i%2 == 0 {
							fmt.Fprint(c, "X-More: 1\r\n")
						} else {
							fmt.Fprint(c, " ")
						}
					}
				}
			}()
			defer close(stop)
			if !closedWithin(c, time.Minute) {
				t.Errorf("slow client %d still connected after a minute", i)
			}
		}()
	}
	wg.Wait()
	page, err := apiClient(s.Base, key).List(testCtx(t), "acme", client.ListOptions{Limit: 1})
	if err != nil || len(page.Events) != 0 {
		t.Errorf("after the slow bodies were cut: %v, %d events; want none stored", err, len(page.Events))
	}
}

// TestGracefulShutdown: on SIGTERM a running export is cut (the client
// gets a transfer that ends in an error, never a complete document) while
// an ingest whose request was still arriving finishes and is acked, and
// serve exits 0; the acked events are there after a restart.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := trailBinary(t)
	data := t.TempDir()
	key := createKeyCLI(t, bin, data, "--scope", "admin")
	p := launch(t, bin, nil, "serve", "--addr", "127.0.0.1:0", "--data", data, "--geoip", "off")
	base := p.listening(t)
	waitReady(t, base)
	addr := strings.TrimPrefix(base, "http://")
	c := apiClient(base, key)
	// An export bigger than the sockets' buffers, so that it is still
	// being written when the signal comes.
	for b := range 24 {
		var evs []client.Event
		for i := range 1000 {
			ev := repoCreate(b*1000+i, "acme/model-"+strings.Repeat("x", 200))
			evs = append(evs, ev)
		}
		if _, err := c.Ingest(testCtx(t), "acme", evs); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/orgs/acme/export?format=json", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	// Uncompressed: gzipped, the export would fit in the sockets' buffers
	// and a fast engine would have written all of it before the signal.
	req.Header.Set("Accept-Encoding", "identity")
	exp, err := httpClient.Do(req)
	if err != nil || exp.StatusCode != 200 {
		t.Fatalf("export: %v %v", err, exp)
	}
	defer exp.Body.Close()
	head := make([]byte, 10)
	if _, err := io.ReadFull(exp.Body, head); err != nil {
		t.Fatal(err)
	}

	// An ingest in flight: headers and half the body sent.
	body := `{"events":[{"id":"in-flight","type":"repo.create","actor":{"type":"user","id":"u1","name":"alice"},"targets":[{"type":"repo","id":"r","name":"acme/r"}]}]}`
	ing, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ing.Close()
	fmt.Fprintf(ing, "POST /api/v1/orgs/acme/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, key, len(body), body[:40])
	time.Sleep(200 * time.Millisecond) // let the server read the headers: the connection is active

	exited := make(chan error, 1)
	go func() { exited <- p.terminate(t) }()
	deadline := time.Now().Add(startTimeout)
	for !strings.Contains(p.stderr.String(), `"msg":"shutting down"`) {
		if time.Now().After(deadline) {
			t.Fatal("no shutdown")
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprint(ing, body[40:])
	resp, err := http.ReadResponse(bufio.NewReader(ing), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the in-flight ingest: %v %v; want it finished and acked", err, resp)
	}
	resp.Body.Close()

	rest, err := io.ReadAll(exp.Body)
	if err == nil {
		var doc map[string]any
		if json.Unmarshal(append(head, rest...), &doc) == nil {
			t.Fatal("the export cut by the shutdown reads as a complete document")
		}
		t.Fatal("the export cut by the shutdown ended without a transfer error")
	}
	if err := <-exited; err != nil {
		t.Fatalf("serve after SIGTERM: %v, want exit 0\n%s", err, p.stderr)
	}

	s := serveOn(t, bin, data, "--geoip", "off")
	if _, err := apiClient(s.Base, key).Event(testCtx(t), "acme", "in-flight"); err != nil {
		t.Errorf("the ingest acked during the shutdown is not there after a restart: %v", err)
	}
}
