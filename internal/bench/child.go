// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a `trail serve` process on the store under test.
type child struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	logs   tail   // the last lines of its structured log (stderr)
	exited chan struct{}
	err    error // Wait's result, once exited is closed
	// profiled is closed when the log says "cpu profile written".
	profiled chan struct{}
}

// startChild runs `exe args... --addr 127.0.0.1:0` and returns once it
// listens (it may not be ready yet).
func startChild(ctx context.Context, exe string, args []string) (*child, error) {
	c := &child{exited: make(chan struct{}), profiled: make(chan struct{})}
	c.cmd = exec.Command(exe, append(slices.Clone(args), "--addr", "127.0.0.1:0")...)
	c.cmd.Stdout = io.Discard
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting trail serve: %w", err)
	}
	addr := make(chan string, 1)
	go c.read(stderr, addr)
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	select {
	case a := <-addr:
		c.base = "http://" + a
		return c, nil
	case <-c.exited:
		return nil, fmt.Errorf("trail serve exited before listening: %v\n%s", c.err, c.logs.String())
	case <-ctx.Done():
		c.kill()
		return nil, ctx.Err()
	case <-time.After(5 * time.Minute):
		c.kill()
		return nil, fmt.Errorf("trail serve did not listen within 5 minutes:\n%s", c.logs.String())
	}
}

// read keeps the log's tail and sends the listening address once.
func (c *child) read(r io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent, profiled := false, false
	for sc.Scan() {
		c.logs.add(sc.Text())
		var rec struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		switch {
		case rec.Msg == "listening" && !sent:
			addr <- rec.Addr
			sent = true
		case rec.Msg == "cpu profile written" && !profiled:
			close(c.profiled)
			profiled = true
		}
	}
}

// waitReady polls /readyz until it answers 200.
func (c *child) waitReady(ctx context.Context) error {
	for {
		resp, err := http.Get(c.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.exited:
			return fmt.Errorf("trail serve exited before ready: %v\n%s", c.err, c.logs.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// writeProfile asks the server to write its CPU profile and waits until
// it has.
func (c *child) writeProfile(stop func(pid int) error) error {
	if err := stop(c.cmd.Process.Pid); err != nil {
		return err
	}
	select {
	case <-c.profiled:
		return nil
	case <-c.exited:
		return fmt.Errorf("trail serve exited before writing its profile: %v", c.err)
	case <-time.After(time.Minute):
		return errors.New("trail serve did not write its profile within a minute")
	}
}

// kill sends SIGKILL and waits for the process to be gone; on a nil or
// exited child it does nothing.
func (c *child) kill() {
	if c == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// stop asks the server to shut down (SIGTERM) and waits; after a minute
// it kills it.
func (c *child) stop() error {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(time.Minute):
		c.kill()
		return errors.New("trail serve did not stop within a minute of SIGTERM")
	}
	if c.err != nil {
		return fmt.Errorf("trail serve: %v\n%s", c.err, c.logs.String())
	}
	return nil
}

// rssAnonKiB is the server's anonymous resident memory (heap, stacks: not
// mapped files) from /proc, or 0 where there is no /proc.
func (c *child) rssAnonKiB() int64 {
	return procStatusKiB(c.cmd.Process.Pid, "RssAnon")
}

func procStatusKiB(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// tail keeps the last lines written to it.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, s)
	if len(t.lines) > 40 {
		t.lines = t.lines[len(t.lines)-40:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
