// SPDX-License-Identifier: Apache-2.0

package main

// End-to-end tests of Trail on PostgreSQL: several real `trail serve`
// processes on one database, a PostgreSQL restart under load, and
// `trail migrate-store`. They need TRAIL_TEST_POSTGRES_URL (each test gets
// a fresh database on that server) and skip without it.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/postgres"
	"github.com/trailaudit/trail/internal/postgres/pgtest"
	"github.com/trailaudit/trail/internal/trailtest"
)

// post sends a batch to org through base and returns the acks (nil unless
// 200), the status and the Retry-After header.
func post(c *http.Client, base, key, org string, b crashBatch) (map[string]int64, int, string) {
	req, _ := http.NewRequest("POST", base+"/api/v1/orgs/"+org+"/events", bytes.NewReader(b.body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, ""
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, resp.StatusCode, resp.Header.Get("Retry-After")
	}
	var reply struct {
		Events []struct {
			ID  string
			Seq int64
		}
	}
	if json.NewDecoder(resp.Body).Decode(&reply) != nil || len(reply.Events) != len(b.ids) {
		return nil, 0, ""
	}
	acks := map[string]int64{}
	for _, e := range reply.Events {
		acks[e.ID] = e.Seq
	}
	return acks, 200, ""
}

// orgLog reads org's whole log through base as NDJSON and checks that seqs
// are dense from 0 and ids unique; it returns id → seq.
func orgLog(t *testing.T, base, key, org string) map[string]int64 {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/orgs/"+org+"/export?format=ndjson", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("export of %s: %s", org, resp.Status)
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
			t.Fatalf("export of %s, line %d: %v", org, want, err)
		}
		if e.Seq != want {
			t.Fatalf("export of %s: got seq %d, want %d (seqs must be dense)", org, e.Seq, want)
		}
		if _, dup := seen[e.ID]; dup {
			t.Fatalf("%s: event %s stored twice", org, e.ID)
		}
		seen[e.ID] = e.Seq
		want++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return seen
}

// checkAcked checks that every acknowledged event is in the log with its
// acknowledged seq.
func checkAcked(t *testing.T, org string, log, acked map[string]int64) {
	t.Helper()
	if len(acked) == 0 {
		t.Fatalf("%s: no event was acknowledged: the test proved nothing", org)
	}
	for id, seq := range acked {
		if got, ok := log[id]; !ok {
			t.Errorf("%s: acknowledged event %s (seq %d) is missing", org, id, seq)
		} else if got != seq {
			t.Errorf("%s: acknowledged event %s: stored at seq %d, acknowledged %d", org, id, got, seq)
		}
	}
}

// acks collects acknowledgements, checking that an id keeps its seq.
type acks struct {
	mu sync.Mutex
	m  map[string]map[string]int64 // org → id → seq
}

func (a *acks) add(t *testing.T, org string, got map[string]int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string]map[string]int64{}
	}
	if a.m[org] == nil {
		a.m[org] = map[string]int64{}
	}
	for id, seq := range got {
		if old, ok := a.m[org][id]; ok && old != seq {
			t.Errorf("%s: event %s acknowledged with seq %d, later with seq %d", org, id, old, seq)
		}
		a.m[org][id] = seq
	}
}

// hasCommand reports whether the binary knows a subcommand.
func hasCommand(bin, name string) bool {
	out, _ := exec.Command(bin, "help").CombinedOutput()
	return strings.Contains(string(out), "trail "+name+" ")
}

// TestPostgresReplicas runs three trail serve processes on one database
// and ingests into the same orgs through all three at once: seqs stay
// dense and unique, every acknowledged event is there with its seq, a
// retry through another replica gets the original seqs, and the export
// verifies.
func TestPostgresReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers; skipped with -short")
	}
	url := pgtest.NewDatabase(t)
	bin := trailBinary(t)
	data := t.TempDir() // shared by the replicas: it holds the signing key only
	key := strings.TrimSpace(strings.SplitN(runCLI(t, bin, "keys", "create", "--scope", "admin", "--data", data, "--store", url), "\n", 2)[0])
	var servers []*trailtest.Server
	for range 3 {
		s := startServer(t, bin, data, "--store", url)
		defer s.Stop()
		servers = append(servers, s)
	}
	orgs := []string{"acme", "beta"}
	client := &http.Client{Timeout: time.Minute}
	var got acks
	var sent sync.Map // batch prefix → crashBatch, for the retries
	var wg sync.WaitGroup
	const perWorker = 25
	for r, s := range servers {
		for w := range 2 {
			wg.Go(func() {
				for n := range perWorker {
					org := orgs[(n+w)%len(orgs)]
					prefix := fmt.Sprintf("r%d-w%d-%d", r, w, n)
					b := newCrashBatch(prefix, 1+(n*13+r*7+w)%60)
					a, status, _ := post(client, s.Base, key, org, b)
					if status != 200 {
						t.Errorf("replica %d: ingest %s: status %d", r, prefix, status)
						return
					}
					got.add(t, org, a)
					sent.Store(org+"/"+prefix, b)
				}
			})
		}
	}
	// The same new batch through every replica at once: one stores it,
	// the others answer with its seqs.
	for _, org := range orgs {
		b := newCrashBatch("race-"+org, 20)
		var results [3]map[string]int64
		var rg sync.WaitGroup
		for i, s := range servers {
			rg.Go(func() {
				a, status, _ := post(client, s.Base, key, org, b)
				if status != 200 {
					t.Errorf("racing batch through replica %d: status %d", i, status)
				}
				results[i] = a
			})
		}
		rg.Wait()
		for i := range results {
			got.add(t, org, results[i])
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// Retries through another replica return the original seqs.
	retried := 0
	sent.Range(func(k, v any) bool {
		org, prefix, _ := strings.Cut(k.(string), "/")
		var r int
		fmt.Sscanf(prefix, "r%d", &r)
		a, status, _ := post(client, servers[(r+1)%3].Base, key, org, v.(crashBatch))
		if status != 200 {
			t.Errorf("retry of %s through another replica: status %d", prefix, status)
		}
		got.add(t, org, a)
		retried++
		return retried < 20
	})
	total := 0
	for _, org := range orgs {
		log := orgLog(t, servers[2].Base, key, org)
		checkAcked(t, org, log, got.m[org])
		if len(log) != len(got.m[org]) {
			t.Errorf("%s: %d events stored, %d acknowledged", org, len(log), len(got.m[org]))
		}
		total += len(log)
	}
	t.Logf("3 replicas, %d events over %d orgs, dense, unique, retries idempotent", total, len(orgs))
	if hasCommand(bin, "verify") {
		// The replicas share data, and so one signing key: its verifier
		// key pins what every replica signed.
		verifier := strings.TrimSpace(strings.SplitN(runCLI(t, bin, "keys", "verifier", "--data", data), "\n", 2)[0])
		for _, org := range orgs {
			file := filepath.Join(t.TempDir(), org+".json")
			runCLI(t, bin, "export", "--org", org, "--format", "json", "--out", file, "--data", data, "--store", url)
			runCLI(t, bin, "verify", "--key", verifier, file)
		}
		if hasCommand(bin, "check") {
			runCLI(t, bin, "check", "--data", data, "--store", url)
		}
	} else {
		t.Log("trail verify does not exist yet: the export is not verified")
	}
}

// TestPostgresReplicasShareSigningKey: a replica whose signing key is not
// the one the database's replicas use refuses to start; after a rotation
// (the old key trusted) the new key is accepted.
func TestPostgresReplicasShareSigningKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	url := pgtest.NewDatabase(t)
	bin := trailBinary(t)
	data := t.TempDir()
	startServer(t, bin, data, "--store", url).Stop()

	other := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--store", url)
	var stderr bytes.Buffer
	other.Stderr = &stderr
	done := make(chan error, 1)
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- other.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(stderr.String(), "the database's replicas sign with") {
			t.Errorf("a replica with another signing key: %v\n%s; want it refused, naming both keys", err, stderr.String())
		}
	case <-time.After(time.Minute):
		other.Process.Kill()
		t.Fatal("a replica with another signing key started")
	}

	runCLI(t, bin, "keys", "rotate-signing", "--data", data)
	startServer(t, bin, data, "--store", url).Stop() // the old key is trusted: a rotation
}

// TestPostgresDemo runs trail serve --demo on PostgreSQL: the demo org
// loads once, and a second start adds nothing.
func TestPostgresDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the demo org; skipped with -short")
	}
	url := pgtest.NewDatabase(t)
	bin := trailBinary(t)
	data := t.TempDir()
	for range 2 {
		s := startServer(t, bin, data, "--store", url, "--demo")
		s.Stop()
	}
	store, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if n, err := store.Size(t.Context(), demoOrg); err != nil || n != demo.DefaultEvents {
		t.Errorf("demo org on PostgreSQL: %d events, %v; want %d", n, err, demo.DefaultEvents)
	}
}

// TestPostgresRestart stops PostgreSQL under load: ingest answers 503
// with Retry-After while it is down, Trail recovers by itself once it is
// back, and every acknowledged event is there.
func TestPostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts PostgreSQL; skipped with -short")
	}
	if os.Getenv(pgtest.EnvVar) == "" {
		t.Skip("PostgreSQL is missing: set " + pgtest.EnvVar + " to run the PostgreSQL tests")
	}
	cluster := pgCluster(t)
	pgtest.LockServerExclusive(t)
	url := pgtest.NewDatabase(t)
	bin := trailBinary(t)
	data := t.TempDir()
	key := strings.TrimSpace(strings.SplitN(runCLI(t, bin, "keys", "create", "--scope", "admin", "--data", data, "--store", url), "\n", 2)[0])
	s := startServer(t, bin, data, "--store", url)
	defer s.Stop()
	t.Cleanup(func() { pgctl(t, cluster, "start") }) // whatever happens, leave it running

	client := &http.Client{Timeout: 30 * time.Second}
	var got acks
	var mu sync.Mutex
	var pending []crashBatch
	var unavailable, badRetryAfter int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				b := newCrashBatch(fmt.Sprintf("g%d-%d", g, n), 1+(n*7+g)%30)
				a, status, retryAfter := post(client, s.Base, key, "acme", b)
				mu.Lock()
				switch status {
				case 200:
					got.add(t, "acme", a)
				case 503:
					unavailable++
					if retryAfter == "" {
						badRetryAfter++
					}
					pending = append(pending, b)
				default:
					pending = append(pending, b)
					t.Errorf("ingest while PostgreSQL restarts: status %d, want 200 or 503", status)
				}
				mu.Unlock()
				if status != 200 {
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(time.Second) // under load
	pgctl(t, cluster, "stop", "-m", "fast")
	// Stopped: ingest must answer 503, not hang or 500.
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := unavailable
		mu.Unlock()
		if n >= 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	pgctl(t, cluster, "start")
	// Recovery without restarting Trail: new batches are acknowledged.
	before := countAcks(&got, &mu)
	deadline = time.Now().Add(2 * time.Minute)
	for countAcks(&got, &mu) < before+20 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if countAcks(&got, &mu) < before+20 {
		t.Fatal("Trail did not recover after PostgreSQL came back")
	}
	if unavailable == 0 {
		t.Error("no 503 while PostgreSQL was down")
	}
	if badRetryAfter > 0 {
		t.Errorf("%d of %d 503 answers had no Retry-After", badRetryAfter, unavailable)
	}
	for _, b := range pending {
		a, status, _ := post(client, s.Base, key, "acme", b)
		if status != 200 {
			t.Fatalf("retry after the restart: status %d", status)
		}
		got.add(t, "acme", a)
	}
	log := orgLog(t, s.Base, key, "acme")
	checkAcked(t, "acme", log, got.m["acme"])
	t.Logf("%d events acknowledged, %d answers 503 while PostgreSQL was down, all present, dense and unique", len(got.m["acme"]), unavailable)
}

func countAcks(a *acks, mu *sync.Mutex) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.m["acme"])
}

// pgCluster returns the version of the local cluster "main" that the
// test may restart, or skips.
func pgCluster(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("restarting PostgreSQL needs root (pg_ctlcluster): skipped")
	}
	if _, err := exec.LookPath("pg_ctlcluster"); err != nil {
		t.Skip("pg_ctlcluster is missing: no local PostgreSQL cluster to restart")
	}
	entries, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(entries) == 0 {
		t.Skip("no local PostgreSQL cluster in /etc/postgresql to restart")
	}
	return entries[len(entries)-1].Name()
}

func pgctl(t *testing.T, version string, args ...string) {
	t.Helper()
	cmd := exec.Command("pg_ctlcluster", append([]string{"--skip-systemctl-redirect", version, "main"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err == nil || strings.Contains(string(out), "already running") {
		return
	}
	if args[0] == "start" && pgReady(30*time.Second) {
		// pg_ctlcluster can report a failed start while the server it
		// started is up (its log says "ready to accept connections"):
		// what this test needs is a server that answers.
		t.Logf("pg_ctlcluster start: %v, but the server accepts connections\n%s", err, out)
		return
	}
	t.Errorf("pg_ctlcluster %s: %v\n%s", strings.Join(args, " "), err, out)
}

// pgReady reports whether the machine's PostgreSQL accepts connections
// within d.
func pgReady(d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if exec.Command("pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432").Run() == nil {
			return true
		}
	}
	return false
}
