// SPDX-License-Identifier: Apache-2.0

package producer_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/trailtest"
	"github.com/trailaudit/trail/producer"
)

// The crash test runs this test binary again as a producer process; the
// environment tells it what to do.
const (
	childEnv = "PRODUCER_TEST_CHILD" // "send" or "drain"
	childURL = "PRODUCER_TEST_URL"
	childKey = "PRODUCER_TEST_KEY"
	childDir = "PRODUCER_TEST_SPOOL"
	childPfx = "PRODUCER_TEST_PREFIX"
)

// runChild is the producer process: "send" sends events prefix-0,
// prefix-1, … from several goroutines, printing each id once Send has
// returned, until killed; "drain" flushes the spool and exits.
func runChild() int {
	cfg := testConfig(os.Getenv(childURL), os.Getenv(childKey), os.Getenv(childDir))
	p, err := producer.Open(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if os.Getenv(childEnv) == "drain" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := p.Flush(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return exitOn(p.Close())
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	const senders = 4
	var wg sync.WaitGroup
	for g := 0; g < senders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; ; i += senders {
				id := os.Getenv(childPfx) + "-" + strconv.Itoa(i)
				if err := p.Send(context.Background(), repoEvent(id)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(out, id)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

func exitOn(err error) int {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// child is a running producer process.
type child struct {
	cmd *exec.Cmd
	ids chan string
}

func startChild(t *testing.T, mode, url, key, spool, prefix string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childURL+"="+url, childKey+"="+key, childDir+"="+spool, childPfx+"="+prefix)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, ids: make(chan string, 1<<16)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.ids <- sc.Text()
		}
		close(c.ids)
	}()
	return c
}

// kill SIGKILLs the child and returns the ids whose Send returned.
func (c *child) kill() []string {
	c.cmd.Process.Signal(syscall.SIGKILL)
	var out []string
	for id := range c.ids {
		out = append(out, id)
	}
	c.cmd.Wait()
	return out
}

// TestCrashCycles kills the producer process and Trail with SIGKILL, in
// random order, over several cycles (PRODUCER_CRASH_CYCLES, default 3):
// every event whose Send returned is in Trail exactly once, and no event
// is there twice.
func TestCrashCycles(t *testing.T) {
	cycles := 3
	if n, err := strconv.Atoi(os.Getenv("PRODUCER_CRASH_CYCLES")); err == nil && n > 0 {
		cycles = n
	}
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("PRODUCER_CRASH_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d (PRODUCER_CRASH_SEED reproduces it)", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	tr := startTrail(t, "", trailtest.FreeAddr(t))
	spool := t.TempDir()
	var confirmed []string
	for cycle := 0; cycle < cycles; cycle++ {
		c := startChild(t, "send", tr.Base, tr.key, spool, "c"+strconv.Itoa(cycle))
		time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond)
		switch rng.IntN(3) {
		case 0: // Trail first, while batches are in flight; the producer keeps spooling
			tr.Kill()
			time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
			confirmed = append(confirmed, c.kill()...)
		case 1: // the producer first, with events in its spool
			confirmed = append(confirmed, c.kill()...)
			tr.Kill()
		default: // only the producer
			confirmed = append(confirmed, c.kill()...)
		}
		if tr.Server.Exited() {
			tr.Restart(t)
		}
	}
	d := startChild(t, "drain", tr.Base, tr.key, spool, "")
	for range d.ids {
	}
	if err := d.cmd.Wait(); err != nil {
		t.Fatalf("drain: %v", err)
	}
	stored := trailtest.All(t, tr.Base, tr.key, "acme")
	seen := map[string]int{}
	for _, e := range stored {
		seen[e.ID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s stored %d times", id, n)
		}
	}
	for _, id := range confirmed {
		if seen[id] != 1 {
			t.Errorf("event %s: Send returned, but Trail has it %d times", id, seen[id])
		}
	}
	t.Logf("%d cycles: %d events confirmed by Send, %d in Trail", cycles, len(confirmed), len(stored))
	if len(confirmed) == 0 {
		t.Fatal("no Send returned in any cycle")
	}
	checkPerPrefixOrder(t, stored)
}

// checkPerPrefixOrder: within one sending goroutine of one cycle, events
// are stored in Send order.
func checkPerPrefixOrder(t *testing.T, stored []trailtest.Stored) {
	last := map[string]int{}
	for _, e := range stored {
		cut := strings.LastIndexByte(e.ID, '-')
		n, _ := strconv.Atoi(e.ID[cut+1:])
		key := e.ID[:cut] + "/" + strconv.Itoa(n%4)
		if prev, ok := last[key]; ok && n < prev {
			t.Errorf("%s stored after %s-%d: not in Send order", e.ID, e.ID[:cut], prev)
		}
		last[key] = n
	}
}
