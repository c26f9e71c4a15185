// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory and unmounts
// it when the test ends. It skips the test, saying why, when not root or
// when the mount fails (CI runs as root).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a size-limited tmpfs (mount -t tmpfs); CI runs as root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mounting a %s tmpfs on %s failed (%v: %s): the disk-full test needs it", size, dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file under dir until the filesystem has at most
// leave bytes free, and returns its path.
func fillDisk(t *testing.T, dir string, leave int64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for n := free - leave; n > 0; n -= int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(int64(len(chunk)), n)]); err != nil {
			break // full already: as good
		}
	}
	return path
}

// ingestReply is what one raw ingest request answered.
type ingestReply struct {
	status int
	header http.Header
	body   []byte
	acks   map[string]int64 // id → seq, on a 200
}

func postEvents(t *testing.T, base, key string, b crashBatch) ingestReply {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/orgs/acme/events", bytes.NewReader(b.body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Errorf("ingest: %v", err)
		return ingestReply{}
	}
	defer resp.Body.Close()
	r := ingestReply{status: resp.StatusCode, header: resp.Header}
	r.body, _ = io.ReadAll(resp.Body)
	if r.status == 200 {
		var reply struct {
			Events []struct {
				ID  string
				Seq int64
			}
		}
		if err := json.Unmarshal(r.body, &reply); err != nil || len(reply.Events) != len(b.ids) {
			t.Errorf("ingest: 200 with %s (%v)", r.body, err)
		}
		r.acks = map[string]int64{}
		for _, e := range reply.Events {
			r.acks[e.ID] = e.Seq
		}
	}
	return r
}

// want503 checks a refusal for lack of space: 503, Retry-After, and the
// JSON error shape with code "unavailable".
func want503(t *testing.T, what string, r ingestReply) bool {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string }
	}
	if r.status != 503 || r.header.Get("Retry-After") == "" ||
		json.Unmarshal(r.body, &body) != nil || body.Error.Code != "unavailable" || body.Error.Message == "" {
		t.Errorf("%s: status %d, Retry-After %q, body %s; want 503, Retry-After and an unavailable JSON error",
			what, r.status, r.header.Get("Retry-After"), r.body)
		return false
	}
	return true
}

// TestDiskFull runs the real trail serve on a small tmpfs, fills it, and
// ingests until the disk is full: ingest answers 503 with Retry-After
// (never 500), reads keep working, a restart on the full disk starts and
// serves what was acknowledged, and once space returns ingest resumes
// without a restart. At the end trail check passes and every acknowledged
// event is there exactly once with its acknowledged seq. On each embedded
// engine.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs and runs the binary; skipped with -short")
	}
	for _, eng := range []struct{ name, store string }{
		{"log", "log:DIR?block-events=64&page-events=8"},
		{"sqlite", ""},
	} {
		t.Run(eng.name, func(t *testing.T) { testDiskFull(t, eng.store) })
	}
}

func testDiskFull(t *testing.T, store string) {
	bin := trailBinary(t)
	mnt := mountTmpfs(t, "16m")
	// The log engine's directory is on the tmpfs, the signing key beside
	// it on the ordinary disk; the SQLite engine keeps both in --data.
	data, storeArgs := filepath.Join(mnt, "data"), []string(nil)
	if store != "" {
		data = t.TempDir()
		storeArgs = []string{"--store", strings.Replace(store, "DIR", filepath.Join(mnt, "log"), 1)}
	}
	key := createKeyCLI(t, bin, data, append(storeArgs, "--scope", "admin")...)
	s := startServer(t, bin, data, storeArgs...)
	t.Cleanup(s.Kill) // a no-op once stopped below

	acked := map[string]int64{}
	ingestOK := func(b crashBatch) {
		t.Helper()
		r := postEvents(t, s.Base, key, b)
		if r.status != 200 {
			t.Fatalf("ingest with space: status %d: %s", r.status, r.body)
		}
		for id, seq := range r.acks {
			acked[id] = seq
		}
	}
	ingestOK(newCrashBatch("before", 50))
	filler := fillDisk(t, mnt, 256<<10)

	// Ingest from 4 clients at once (so that groups commit several
	// batches) until each was refused twice: every answer is a 200 or a
	// 503.
	var mu sync.Mutex
	var refused []crashBatch
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, no := 0, 0; no < 2; i++ {
				if i == 1000 {
					t.Errorf("client %d: 1,000 batches and no refusal: the disk never filled", g)
					return
				}
				b := newCrashBatch(fmt.Sprintf("full%d-%d", g, i), 50)
				r := postEvents(t, s.Base, key, b)
				mu.Lock()
				if r.status == 200 {
					for id, seq := range r.acks {
						acked[id] = seq
					}
				} else if want503(t, fmt.Sprintf("client %d, batch %d on a full disk", g, i), r) {
					refused = append(refused, b)
					no++
				}
				mu.Unlock()
				if r.status != 200 && r.status != 503 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d events acknowledged before the disk was full, %d batches refused", len(acked), len(refused))

	// Reads keep working: the newest acknowledged event is listed.
	c := apiClient(s.Base, key)
	size := logSize(t, c, "acme")
	if size != int64(len(acked)) {
		t.Errorf("on a full disk: log size %d, want the %d acknowledged", size, len(acked))
	}
	page, err := c.List(testCtx(t), "acme", client.ListOptions{Query: "type:repo.create", Limit: 10})
	if err != nil || len(page.Events) != 10 {
		t.Errorf("search on a full disk: %v, %v", page, err)
	}

	// A restart on the full disk: the server starts and serves what was
	// acknowledged; ingest answers 503, or 200 where the restart freed a
	// little space (a catalog checkpoint, a sealed log segment).
	if err := s.Stop(); err != nil {
		t.Fatalf("trail serve stopped on a full disk: %v\n%s", err, s.Logs())
	}
	s = startServer(t, bin, data, storeArgs...)
	t.Cleanup(s.Kill)
	c = apiClient(s.Base, key)
	if n := logSize(t, c, "acme"); n != int64(len(acked)) {
		t.Errorf("restarted on a full disk: log size %d, want the %d acknowledged", n, len(acked))
	}
	if r := postEvents(t, s.Base, key, refused[0]); r.status == 200 {
		for id, seq := range r.acks {
			acked[id] = seq
		}
	} else {
		want503(t, "ingest after a restart on a full disk", r)
	}

	// Space returns: ingest resumes, with the refused batches retried.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(startTimeout)
	for _, b := range append(refused, newCrashBatch("after", 50)) {
		for {
			r := postEvents(t, s.Base, key, b)
			if r.status == 200 {
				for id, seq := range r.acks {
					acked[id] = seq
				}
				break
			}
			if !want503(t, "ingest after space returned", r) {
				t.FailNow()
			}
			if time.Now().After(deadline) {
				t.Fatalf("ingest did not resume within %v after space returned", startTimeout)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("trail serve after SIGTERM: %v\n%s", err, s.Logs())
	}
	// Every line the server logged through the failures is JSON, the
	// sealer's too (a log shipper parses them).
	for _, line := range strings.Split(strings.TrimSpace(s.Logs()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("a server log line is not JSON: %s", line)
		}
	}
	out := mustRun(t, bin, nil, append([]string{"check", "--data", data}, storeArgs...)...).stdout
	if !strings.Contains(out, fmt.Sprintf("ok       acme: %d events", len(acked))) {
		t.Errorf("trail check after the disk was full, want %d events:\n%s", len(acked), out)
	}
	s = serveOn(t, bin, data, storeArgs...)
	wantExactlyOnce(t, apiClient(s.Base, key), acked)
}

// wantExactlyOnce lists the whole of acme's log, oldest first, and checks
// that seqs are dense and every acknowledged id is there exactly once with
// its acknowledged seq.
func wantExactlyOnce(t *testing.T, c *client.Client, acked map[string]int64) {
	t.Helper()
	seen := map[string]int64{}
	var next int64
	opts := client.ListOptions{Limit: 1000, Order: client.Asc}
	for {
		page, err := c.List(testCtx(t), "acme", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range page.Events {
			e := decodeEvent(t, raw)
			if e.Seq != next {
				t.Fatalf("seq %d where %d was due: seqs are not dense", e.Seq, next)
			}
			next++
			if old, dup := seen[e.ID]; dup {
				t.Errorf("id %s stored twice, seqs %d and %d", e.ID, old, e.Seq)
			}
			seen[e.ID] = e.Seq
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
	for id, seq := range acked {
		if got, ok := seen[id]; !ok || got != seq {
			t.Errorf("acknowledged %s at seq %d: stored at %d (present %v)", id, seq, got, ok)
		}
	}
}
