// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/trailtest"
)

// trailBinary returns the trail binary, built once per test binary run
// (trailtest.Main, from TestMain, removes it).
func trailBinary(t *testing.T) string { return trailtest.Binary(t) }

// startServer runs trail serve (bin, built by trailBinary) on data, on a
// port the OS picks, with extra flags, and waits until it is ready; the
// test's cleanup kills it if it still runs.
func startServer(t *testing.T, bin, data string, extra ...string) *trailtest.Server {
	t.Helper()
	if bin != trailtest.Binary(t) {
		t.Fatalf("startServer runs the binary trailtest builds, not %s", bin)
	}
	return trailtest.Start(t, data, "", extra...)
}

// runCLI runs a trail subcommand and returns its stdout.
func runCLI(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("trail %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

type crashBatch struct {
	ids  []string
	body []byte
}

func newCrashBatch(prefix string, n int) crashBatch {
	var b crashBatch
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		b.ids = append(b.ids, id)
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%q,"type":"repo.create","actor":{"type":"user","id":"u1","name":"alice"},"targets":[{"type":"repo","id":"r%d","name":"acme/m%d"}],"client":{"ip":"81.2.69.160"}}`, id, i, i)
	}
	sb.WriteString("]}")
	b.body = []byte(sb.String())
	return b
}

// ingest posts a batch; ok is false when no acknowledgement arrived.
func ingest(c *http.Client, base, key string, b crashBatch) (map[string]int64, bool) {
	req, _ := http.NewRequest("POST", base+"/api/v1/orgs/acme/events", bytes.NewReader(b.body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, false
	}
	var reply struct {
		Events []struct {
			ID  string
			Seq int64
		}
	}
	if json.NewDecoder(resp.Body).Decode(&reply) != nil || len(reply.Events) != len(b.ids) {
		return nil, false
	}
	acks := map[string]int64{}
	for _, e := range reply.Events {
		acks[e.ID] = e.Seq
	}
	return acks, true
}

// crashEngines are the embedded engines the crash test runs on, as
// --store values: the SQLite engine, selected explicitly, and the log
// engine (the default, in --data) with small blocks, so that sealing
// runs all the time and kills land in it too.
var crashEngines = []struct{ name, store string }{
	{"sqlite", "sqlite:"},
	{"log", "log:?block-events=64&page-events=8"},
}

// TestCrashRecovery kills trail serve with SIGKILL at random moments during
// concurrent ingest, restarts it, and checks that every acknowledged event
// is present exactly once with its acknowledged seq, that seqs stay dense,
// and (trail check) that the roots match the signed checkpoints, on each
// embedded engine. TRAIL_CRASH_CYCLES sets the number of cycles (default 8).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary; skipped with -short")
	}
	cycles := 8
	if v, err := strconv.Atoi(os.Getenv("TRAIL_CRASH_CYCLES")); err == nil && v > 0 {
		cycles = v
	}
	for _, e := range crashEngines {
		t.Run(e.name, func(t *testing.T) { crashRecovery(t, e.store, cycles) })
	}
}

func crashRecovery(t *testing.T, store string, cycles int) {
	bin := trailBinary(t)
	data := t.TempDir()
	storeArgs := []string{"--store", store}
	key := strings.TrimSpace(strings.SplitN(runCLI(t, bin, "keys", "create", "--scope", "admin", "--data", data, "--store", store), "\n", 2)[0])
	acked := map[string]int64{}
	var pending []crashBatch // sent, never acknowledged
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	client := &http.Client{Timeout: 10 * time.Second}
	for cycle := 0; cycle < cycles; cycle++ {
		s := startServer(t, bin, data, storeArgs...)
		// Unacknowledged batches of the last cycle are retried first: they
		// must get seqs exactly once, whether or not they had committed.
		for _, b := range pending {
			acks, ok := ingest(client, s.Base, key, b)
			if !ok {
				t.Fatalf("cycle %d: retry of an unacknowledged batch failed", cycle)
			}
			mergeAcks(t, acked, acks)
		}
		pending = nil
		var mu sync.Mutex
		var wg sync.WaitGroup
		ctx, cancel := context.WithCancel(context.Background())
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for n := 0; ctx.Err() == nil; n++ {
					b := newCrashBatch(fmt.Sprintf("c%d-g%d-%d", cycle, g, n), 1+(n*7+g)%40)
					acks, ok := ingest(client, s.Base, key, b)
					mu.Lock()
					if ok {
						mergeAcks(t, acked, acks)
					} else {
						pending = append(pending, b)
					}
					mu.Unlock()
					if !ok {
						return
					}
				}
			}(g)
		}
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		s.Kill()
		cancel()
		wg.Wait()
	}
	s := startServer(t, bin, data, storeArgs...)
	for _, b := range pending {
		acks, ok := ingest(client, s.Base, key, b)
		if !ok {
			t.Fatal("final retry of an unacknowledged batch failed")
		}
		mergeAcks(t, acked, acks)
	}
	checkLog(t, s.Base, key, acked)
	s.Stop()
	// The roots rebuilt from the stored bytes match the stored tree and
	// the checkpoints signed across the crashes.
	if out := runCLI(t, bin, "check", "--data", data, "--store", store); !strings.Contains(out, "ok       acme:") {
		t.Errorf("trail check after the crashes:\n%s", out)
	}
}

func mergeAcks(t *testing.T, acked, acks map[string]int64) {
	for id, seq := range acks {
		if old, ok := acked[id]; ok && old != seq {
			t.Errorf("event %s acknowledged with seq %d, later with seq %d", id, old, seq)
		}
		acked[id] = seq
	}
}

// checkLog exports the org and checks density, uniqueness and that every
// acknowledged event is there with its seq.
func checkLog(t *testing.T, base, key string, acked map[string]int64) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/orgs/acme/export?format=ndjson", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("export: %s", resp.Status)
	}
	seen := map[string]int64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var want int64
	for sc.Scan() {
		var e struct {
			ID  string
			Seq int64
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %d: %v", want, err)
		}
		if e.Seq != want {
			t.Fatalf("export: got seq %d, want %d (seqs must be dense)", e.Seq, want)
		}
		if _, dup := seen[e.ID]; dup {
			t.Fatalf("event %s stored twice", e.ID)
		}
		seen[e.ID] = e.Seq
		want++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for id, seq := range acked {
		got, ok := seen[id]
		if !ok {
			t.Errorf("acknowledged event %s (seq %d) is missing", id, seq)
		} else if got != seq {
			t.Errorf("acknowledged event %s: got seq %d, want %d", id, got, seq)
		}
	}
	if len(acked) == 0 {
		t.Fatal("no event was acknowledged: the test proved nothing")
	}
	t.Logf("%d events acknowledged across crashes, %d stored, all dense and unique", len(acked), want)
}
