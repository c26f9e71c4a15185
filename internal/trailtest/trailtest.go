// SPDX-License-Identifier: Apache-2.0

// Package trailtest runs a real `trail serve` process for the end-to-end
// tests of packages outside cmd/trail (the producer SDK, the outbox, the
// example app): it builds the binary once per test binary, starts servers
// on loopback ports, kills and restarts them, and makes API keys with the
// CLI.
package trailtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binDir string

// build builds ./cmd/trail once per test binary.
var build = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "trailtest-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "trail")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/trailaudit/trail/cmd/trail").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// Main runs the tests and removes the built binary; call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	return code
}

// Binary returns the path of the trail binary, building it on first use.
func Binary(t testing.TB) string {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// FreeAddr returns a loopback address with a port the OS just picked and
// released, for a server that must come back on the same address.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Server is one `trail serve` process.
type Server struct {
	Base string // http://127.0.0.1:PORT
	Data string
	Addr string
	args []string
	cmd  *exec.Cmd
	logs *logBuffer
}

// Start runs trail serve on data at addr ("" for a port the OS picks)
// with extra flags, and waits until it is ready. The test's cleanup kills
// it.
func Start(t testing.TB, data, addr string, extra ...string) *Server {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	s := &Server{Data: data, Addr: addr, args: extra}
	s.start(t)
	t.Cleanup(s.Kill)
	return s
}

// Restart starts the server again on the address it had.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.start(t)
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	args := append([]string{"serve", "--addr", s.Addr, "--data", s.Data}, s.args...)
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = hermeticEnv()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd, s.logs = cmd, &logBuffer{}
	addr := make(chan string, 1)
	go s.logs.scan(stderr, addr)
	select {
	case a := <-addr:
		s.Addr, s.Base = a, "http://"+a
	case <-time.After(60 * time.Second):
		s.Kill()
		t.Fatalf("trail serve did not start listening; its log:\n%s", s.logs)
	}
	if !s.waitReady(90 * time.Second) {
		s.Kill()
		t.Fatalf("trail serve never became ready; its log:\n%s", s.logs)
	}
}

func (s *Server) waitReady(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.Base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		if s.cmd.ProcessState != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Kill SIGKILLs the server and waits for it to die.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

// Stop sends SIGTERM and waits for the server to exit, returning how it
// exited (nil for status 0). One still running a minute later gets
// SIGQUIT, so that its goroutine dump lands in its log, then SIGKILL, and
// Stop says so.
func (s *Server) Stop() error {
	if s.cmd == nil || s.cmd.Process == nil || s.cmd.ProcessState != nil {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
	}
	s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	return fmt.Errorf("trail serve still running a minute after SIGTERM; sent SIGQUIT")
}

// Logs returns what the server logged so far.
func (s *Server) Logs() string { return s.logs.String() }

// CreateKey makes an API key with the CLI (`trail keys create`) on data
// and returns its secret. args are more flags, such as "--org", "acme".
func CreateKey(t testing.TB, data, scope string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(Binary(t), append([]string{"keys", "create", "--data", data, "--scope", scope}, args...)...)
	cmd.Env = hermeticEnv()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("trail keys create: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// hermeticEnv is the environment without Trail's variables, so that a
// developer's TRAIL_DATA cannot leak into a test.
func hermeticEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TRAIL_") {
			env = append(env, kv)
		}
	}
	return env
}

// logBuffer keeps a server's log and finds its listening address.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) scan(r io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		l.mu.Lock()
		l.b.Write(append(line, '\n'))
		l.mu.Unlock()
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
			select {
			case addr <- rec.Addr:
			default:
			}
		}
	}
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Exited reports whether the server process has ended (killed or not).
func (s *Server) Exited() bool { return s.cmd == nil || s.cmd.ProcessState != nil }
