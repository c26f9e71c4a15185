// SPDX-License-Identifier: Apache-2.0

package main

// End-to-end tests of the trail binary: each builds the real binary
// (trailBinary), runs it as a subprocess on a t.TempDir() data directory,
// and talks to the real server on a port the OS picks. They poll instead
// of sleeping and never assert on elapsed time, so a loaded machine makes
// them slower, not flaky.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/trailtest"
)

// Generous bounds for a loaded 2-core machine.
const (
	cliTimeout   = 2 * time.Minute // one CLI run
	startTimeout = 2 * time.Minute // until a server listens or is ready
	pollTimeout  = 30 * time.Second
)

// TestMain removes the built binary once every test has run.
func TestMain(m *testing.M) { os.Exit(trailtest.Main(m)) }

// syncBuffer is a bytes.Buffer that one goroutine may write while
// another reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hermeticEnv is the test process's environment without Trail's own
// variables, plus extra: a developer's TRAIL_DATA must not leak in.
func hermeticEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRAIL_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// cliResult is what one run of the binary did.
type cliResult struct {
	stdout, stderr string
	code           int
}

// runTrail runs the binary to completion with extra environment variables
// and returns its output and exit status, whatever the status.
func runTrail(t *testing.T, bin string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = hermeticEnv(env)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("trail %s: still running after %v\nstderr:\n%s", strings.Join(args, " "), cliTimeout, res.stderr)
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("trail %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// mustRun runs the binary and fails the test unless it exits 0.
func mustRun(t *testing.T, bin string, env []string, args ...string) cliResult {
	t.Helper()
	res := runTrail(t, bin, env, args...)
	if res.code != 0 {
		t.Fatalf("trail %s: exit status %d\nstderr:\n%s", strings.Join(args, " "), res.code, res.stderr)
	}
	return res
}

// proc is a long-running `trail serve` whose stdout and stderr are kept.
type proc struct {
	cmd     *exec.Cmd
	stdout  *syncBuffer
	stderr  *syncBuffer // the structured log
	addr    chan string // the address of the "listening" log line, once
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

// launch starts the binary without waiting for anything; the process is
// killed when the test ends if it is still running.
func launch(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}, addr: make(chan string, 1), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = hermeticEnv(env)
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = io.MultiWriter(p.stderr, &lineWriter{line: p.watch})
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// watch looks for the "listening" line of the JSON log.
func (p *proc) watch(line []byte) {
	var rec struct{ Msg, Addr string }
	if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
		select {
		case p.addr <- rec.Addr:
		default:
		}
	}
}

// listening waits until the server listens and returns its base URL.
func (p *proc) listening(t *testing.T) string {
	t.Helper()
	select {
	case a := <-p.addr:
		return "http://" + a
	case <-p.exited:
		t.Fatalf("trail serve exited before listening: %v\nstderr:\n%s", p.waitErr, p.stderr)
	case <-time.After(startTimeout):
		t.Fatalf("trail serve did not listen within %v\nstderr:\n%s", startTimeout, p.stderr)
	}
	return ""
}

// terminate sends SIGTERM and returns how the process ended. One that
// does not exit in time gets SIGQUIT, for its goroutine dump, and fails
// the test.
func (p *proc) terminate(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		return p.waitErr
	case <-time.After(startTimeout):
	}
	p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
	t.Fatalf("trail serve did not exit within %v of SIGTERM\nstderr:\n%s", startTimeout, p.stderr)
	return nil
}

// lineWriter calls line for each complete line written to it.
type lineWriter struct {
	buf  []byte
	line func([]byte)
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

// waitReady polls /readyz until it answers 200.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		status, _ := httpGet(t, base+"/readyz", "")
		if status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz: still %d after %v", base, status, startTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serveOn starts `trail serve` on data with startServer and stops it with
// SIGTERM when the test ends; it must then exit 0.
func serveOn(t *testing.T, bin, data string, extra ...string) *trailtest.Server {
	t.Helper()
	s := startServer(t, bin, data, extra...)
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("trail serve after SIGTERM: %v\nstderr:\n%s", err, s.Logs())
		}
	})
	return s
}

var httpClient = &http.Client{Timeout: time.Minute}

// httpGet sends a GET with an optional bearer key; status is 0 when no
// response came.
func httpGet(t *testing.T, url, key string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// testCtx is a context for API calls, bounded and cancelled with the test.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	t.Cleanup(cancel)
	return ctx
}

func apiClient(base, key string) *client.Client {
	return client.New(base, key, client.WithHTTPClient(httpClient))
}

// createKeyCLI runs `trail keys create` on data and returns the secret.
func createKeyCLI(t *testing.T, bin, data string, args ...string) string {
	t.Helper()
	res := mustRun(t, bin, nil, append([]string{"keys", "create", "--data", data}, args...)...)
	return strings.TrimSuffix(res.stdout, "\n")
}

// storedEvent is what the tests read of an event's stored bytes.
type storedEvent struct {
	ID          string       `json:"id"`
	Org         string       `json:"org"`
	Seq         int64        `json:"seq"`
	Type        string       `json:"type"`
	Actor       client.Actor `json:"actor"`
	Description string       `json:"description"`
	Location    *struct {
		CountryCode string `json:"country_code"`
		City        string `json:"city"`
	} `json:"location"`
	Metadata   map[string]any `json:"metadata"`
	RecordedBy string         `json:"recorded_by"`
}

func decodeEvent(t *testing.T, raw []byte) storedEvent {
	t.Helper()
	var e storedEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("decoding event %s: %v", raw, err)
	}
	return e
}

// logSize returns the org's log size through the API: the newest seq + 1.
// Listing is not recorded, so it does not change the size.
func logSize(t *testing.T, c *client.Client, org string) int64 {
	t.Helper()
	page, err := c.List(testCtx(t), org, client.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) == 0 {
		return 0
	}
	return decodeEvent(t, page.Events[0]).Seq + 1
}

func TestCLIUsage(t *testing.T) {
	bin := trailBinary(t)
	env := []string{"TRAIL_DATA=" + filepath.Join(t.TempDir(), "data")}
	tests := []struct {
		args   []string
		code   int
		stdout string // a substring of stdout; "" means stdout must be empty
		stderr string // a substring of stderr
	}{
		{args: nil, code: 2, stderr: "Usage:"},
		{args: []string{"help"}, code: 0, stdout: "Usage:"},
		{args: []string{"--help"}, code: 0, stdout: "Usage:"},
		{args: []string{"version"}, code: 0, stdout: "trail "},
		{args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{args: []string{"serve", "--bogus"}, code: 2, stderr: "-bogus"},
		{args: []string{"serve", "extra"}, code: 2, stderr: `unexpected argument "extra"`},
		{args: []string{"serve", "--ipv4-prefix", "33"}, code: 2, stderr: "--ipv4-prefix"},
		{args: []string{"keys"}, code: 2, stderr: "missing subcommand"},
		{args: []string{"keys", "rotate"}, code: 2, stderr: `unknown keys subcommand "rotate"`},
		{args: []string{"export", "--org", "acme", "--format", "xml"}, code: 2, stderr: `unknown export format "xml"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append([]string{"trail"}, tt.args...), " "), func(t *testing.T) {
			res := runTrail(t, bin, env, tt.args...)
			if res.code != tt.code {
				t.Errorf("exit status %d, want %d\nstderr:\n%s", res.code, tt.code, res.stderr)
			}
			if tt.stdout == "" && res.stdout != "" {
				t.Errorf("stdout %q, want nothing (errors go to stderr)", res.stdout)
			}
			if !strings.Contains(res.stdout, tt.stdout) {
				t.Errorf("stdout %q, want it to contain %q", res.stdout, tt.stdout)
			}
			if !strings.Contains(res.stderr, tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", res.stderr, tt.stderr)
			}
		})
	}
}

// TestServeEnv checks that serve takes its data directory and address from
// TRAIL_DATA and TRAIL_ADDR, and keys its data directory from TRAIL_DATA.
func TestServeEnv(t *testing.T) {
	bin := trailBinary(t)
	data := filepath.Join(t.TempDir(), "from-env")
	env := []string{"TRAIL_DATA=" + data, "TRAIL_ADDR=127.0.0.1:0"}

	res := mustRun(t, bin, env, "keys", "create", "--scope", "read", "--org", "acme")
	key := strings.TrimSpace(res.stdout)
	if _, err := os.Stat(filepath.Join(data, logstore.CatalogFile)); err != nil {
		t.Fatalf("keys create with TRAIL_DATA did not create its store (the log engine) there: %v", err)
	}
	if out := mustRun(t, bin, env, "keys", "list").stdout; len(keyRows(t, out)) != 1 {
		t.Fatalf("keys list with TRAIL_DATA: want the one key just created, got\n%s", out)
	}

	p := launch(t, bin, env, "serve")
	base := p.listening(t)
	if strings.HasSuffix(base, ":8080") || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("serve listens on %s; want 127.0.0.1 and the port the OS picked for TRAIL_ADDR=127.0.0.1:0", base)
	}
	waitReady(t, base)
	// The key was created in TRAIL_DATA: the server only knows it if it
	// opened the same store.
	if status, body := httpGet(t, base+"/api/v1/orgs/acme/events", key); status != http.StatusOK {
		t.Fatalf("GET events with a key made in TRAIL_DATA: %d %s", status, body)
	}
	if err := p.terminate(t); err != nil {
		t.Fatalf("serve after SIGTERM: %v, want exit status 0", err)
	}

	// A flag beats the environment.
	other := filepath.Join(t.TempDir(), "from-flag")
	mustRun(t, bin, env, "keys", "create", "--scope", "read", "--data", other)
	if out := mustRun(t, bin, env, "keys", "list", "--data", other).stdout; len(keyRows(t, out)) != 1 {
		t.Fatalf("keys list --data beside TRAIL_DATA: want only the key made in --data, got\n%s", out)
	}
}

// TestServeGracefulShutdown checks that SIGTERM stops the server with exit
// status 0 and that it restarts on the same data with every event.
func TestServeGracefulShutdown(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	key := createKeyCLI(t, bin, data, "--scope", "admin", "--org", "acme")
	p := launch(t, bin, nil, "serve", "--addr", "127.0.0.1:0", "--data", data)
	base := p.listening(t)
	waitReady(t, base)
	c := apiClient(base, key)
	const n = 50
	var events []client.Event
	for i := range n {
		events = append(events, repoCreate(i, "acme/model-"+strconv.Itoa(i)))
	}
	if _, err := c.Ingest(testCtx(t), "acme", events); err != nil {
		t.Fatal(err)
	}
	if err := p.terminate(t); err != nil {
		t.Fatalf("serve after SIGTERM: %v, want exit status 0\nstderr:\n%s", err, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), `"msg":"shutting down"`) {
		t.Errorf("the log does not say it is shutting down:\n%s", p.stderr)
	}

	s := serveOn(t, bin, data)
	c = apiClient(s.Base, key)
	page, err := c.List(testCtx(t), "acme", client.ListOptions{Order: client.Asc, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != n {
		t.Fatalf("after restart: %d events, want %d", len(page.Events), n)
	}
	for i, raw := range page.Events {
		if e := decodeEvent(t, raw); e.Seq != int64(i) || e.ID != "ev-"+strconv.Itoa(i) {
			t.Errorf("after restart, event %d: got id %s seq %d, want ev-%d seq %d", i, e.ID, e.Seq, i, i)
		}
	}
}

// repoCreate is a valid repo.create event with the id ev-N.
func repoCreate(n int, repo string) client.Event {
	return client.Event{
		ID:      "ev-" + strconv.Itoa(n),
		Type:    "repo.create",
		Actor:   client.Actor{Type: "user", ID: "u1", Name: "alice"},
		Targets: []client.Target{{Type: "repo", ID: "r" + strconv.Itoa(n), Name: repo}},
		Client:  client.ClientInfo{IP: "81.2.69.160", UserAgent: "trail-e2e"},
	}
}
