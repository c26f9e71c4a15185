// SPDX-License-Identifier: Apache-2.0

package postgres

// BenchmarkPostgres measures Trail on PostgreSQL for docs/postgres.md, in
// one run whatever b.N: TRAIL_PG_BENCH=<events to preload> (default
// 200,000), with TRAIL_TEST_POSTGRES_URL. It preloads one org in-process, then measures
// ingest over HTTP through one and three real `trail serve` replicas, a
// plain COPY of the same rows into a table with the same indexes as
// events, first-page query latency at the preloaded size, and the export
// rate over HTTP.
//
//	TRAIL_PG_BENCH=2000000 TRAIL_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
//	  go test -run X -bench BenchmarkPostgres -benchtime 1x -timeout 2h ./internal/postgres

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/postgres/pgtest"
)

func benchDuration() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("TRAIL_PG_BENCH_DURATION")); err == nil {
		return d
	}
	return 20 * time.Second
}

func BenchmarkPostgres(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("TRAIL_PG_BENCH"))
	if n <= 0 {
		n = 200_000
	}
	// One run measures everything; b.N is not used.
	benchPostgres(b, n)
}

func benchPostgres(t testing.TB, n int) {
	url := pgtest.URL(t)
	ctx := context.Background()
	s, err := Open(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	benchPreload(t, s, "bench", n)
	took := time.Since(start)
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("preload: %d events in-process (Append, 20k-event groups) in %s: %.0f events/s", n, took.Round(time.Second), float64(n)/took.Seconds())

	id, secret := audit.NewKeySecret()
	if err := s.CreateKey(ctx, audit.Key{ID: id, Name: "bench", Scope: audit.ScopeAdmin, CreatedAt: time.Now()}, audit.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	bin := buildTrail(t)
	data := t.TempDir()
	var servers []*benchServer
	for range 3 {
		srv := startBenchServer(t, bin, data, url)
		defer srv.stop()
		servers = append(servers, srv)
	}
	d := benchDuration()
	r1 := httpIngest(t, servers[:1], secret, []string{"bench"}, 6, d, "a")
	t.Logf("HTTP ingest, 1 replica, 6 clients, batches of 500, one org: %.0f events/s", r1)
	r3 := httpIngest(t, servers, secret, []string{"bench"}, 6, d, "b")
	t.Logf("HTTP ingest, 3 replicas, 6 clients, batches of 500, one org (replicas take turns on its lock): %.0f events/s", r3)
	r3o := httpIngest(t, servers, secret, []string{"bench2", "bench3", "bench4"}, 6, d, "c")
	t.Logf("HTTP ingest, 3 replicas, 6 clients, batches of 500, three orgs: %.0f events/s", r3o)
	rows := min(200000, int(r1*d.Seconds()))
	c := copyBaseline(t, s, rows)
	t.Logf("plain COPY baseline: the last %d rows of events (same bytes and tsvector) into one table with the same indexes, 1000-row COPY per transaction: %.0f rows/s", rows, c)
	if err := s.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	size, _ := s.Size(ctx, "bench")
	benchDisk(t, s)
	benchQueries(t, s, "bench", size)
	benchExport(t, servers[0], secret, "bench", size)
}

// benchPreload stores n events in org as a history over six months.
func benchPreload(t testing.TB, s *Store, org string, n int) {
	t.Helper()
	types := []struct{ typ, cat string }{
		{"repo.create", "content"}, {"repo.delete", "content"}, {"org.change_role", "membership"},
		{"billing.update_payment_method", "billing"}, {"org.sso_login", "organization"},
		{"spaces.update_hardware", "content"}, {"repo.update_settings", "content"}, {"org.invite_member", "membership"},
	}
	countries := []string{"FR", "US", "DE", "JP", "BR", "IN", "GB", "CA"}
	from := time.Now().AddDate(0, -6, 0).UTC()
	step := 180 * 24 * time.Hour / time.Duration(n)
	have, _ := s.Size(context.Background(), org)
	const batch, group = 5000, 4
	for i := int(have); i < n; {
		var bs []*audit.Batch
		for g := 0; g < group && i < n; g++ {
			b := &audit.Batch{Org: org}
			for j := 0; j < batch && i < n; j, i = j+1, i+1 {
				ty := types[i%len(types)]
				actor := fmt.Sprintf("user%02d", i%40)
				repo := fmt.Sprintf("%s/model-%d", org, i%500)
				desc := fmt.Sprintf("%s changed %s", actor, repo)
				if i%100000 == 7 {
					desc += " needle"
				}
				at := from.Add(time.Duration(i) * step).Truncate(time.Microsecond)
				b.Events = append(b.Events, &audit.Pending{Event: audit.Event{
					ID: fmt.Sprintf("pre-%d", i), Org: org, Type: ty.typ, Category: ty.cat,
					Actor:       audit.Actor{Type: "user", ID: "u-" + actor, Name: actor},
					Targets:     []audit.Target{{Type: "repo", ID: fmt.Sprintf("r-%d", i%500), Name: repo}},
					Description: desc, Location: &audit.Location{CountryCode: countries[i%len(countries)]},
					Client:     &audit.Client{IP: "203.0.113.0", IPPrefixLen: 24, UserAgent: "bench/1"},
					OccurredAt: at, ReceivedAt: at,
					Metadata: map[string]any{"private": i%2 == 0},
				}})
			}
			bs = append(bs, b)
		}
		if err := s.Append(context.Background(), bs); err != nil {
			t.Fatalf("preload: %v", err)
		}
	}
}

func buildTrail(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "trail")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/trailaudit/trail/cmd/trail").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type benchServer struct {
	cmd  *exec.Cmd
	base string
}

func startBenchServer(t testing.TB, bin, data, url string) *benchServer {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--store", url)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		return &benchServer{cmd, "http://" + a}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("trail serve did not start")
	}
	return nil
}

func (s *benchServer) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	s.cmd.Wait()
}

// httpIngest posts batches of 500 through the servers (clients spread
// over them and over orgs) for d and returns the acknowledged events/s.
func httpIngest(t testing.TB, servers []*benchServer, secret string, orgs []string, clients int, d time.Duration, tag string) float64 {
	t.Helper()
	const batch = 500
	bodies := make([][]byte, 200)
	for i := range bodies {
		var b strings.Builder
		b.WriteString(`{"events":[`)
		for j := range batch {
			if j > 0 {
				b.WriteByte(',')
			}
			n := i*batch + j
			fmt.Fprintf(&b, `{"type":"repo.create","actor":{"type":"user","id":"u%d","name":"user%d"},"targets":[{"type":"repo","id":"r%d","name":"acme/model-%d"}],"client":{"ip":"81.2.69.%d","user_agent":"bench/1"},"metadata":{}}`, n%40, n%40, n%500, n%500, n%250)
		}
		b.WriteString("]}")
		bodies[i] = []byte(b.String())
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var acked atomic.Int64
	var failed atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			srv := servers[c%len(servers)]
			org := orgs[c%len(orgs)]
			for i := c; time.Now().Before(deadline); i += clients {
				req, _ := http.NewRequest("POST", srv.base+"/api/v1/orgs/"+org+"/events", bytes.NewReader(bodies[i%len(bodies)]))
				req.Header.Set("Authorization", "Bearer "+secret)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					acked.Add(batch)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Errorf("ingest %s: %d requests failed", tag, failed.Load())
	}
	return float64(acked.Load()) / time.Since(start).Seconds()
}

// copyBaseline copies the last n rows of events (with their ids) into a
// table with the same indexes as events, by plain COPY of 1000 rows per
// transaction, and returns rows/s.
func copyBaseline(t testing.TB, s *Store, n int) float64 {
	t.Helper()
	ctx := context.Background()
	_, err := s.pool.Exec(ctx, `DROP TABLE IF EXISTS copy_baseline;
		CREATE TABLE copy_baseline (
			org bigint NOT NULL, seq bigint NOT NULL, id text COLLATE "C" NOT NULL,
			type text COLLATE "C" NOT NULL, category text COLLATE "C" NOT NULL, country text COLLATE "C" NOT NULL,
			occurred bigint NOT NULL, received bigint NOT NULL, data bytea NOT NULL, tsv tsvector NOT NULL,
			PRIMARY KEY (org, seq, received), UNIQUE (org, id));
		CREATE INDEX ON copy_baseline (org, type, seq);
		CREATE INDEX ON copy_baseline (org, category, seq);
		CREATE INDEX ON copy_baseline (org, country, seq);
		CREATE INDEX ON copy_baseline (org, occurred, seq);
		CREATE INDEX ON copy_baseline USING gin (tsv);`)
	if err != nil {
		t.Fatal(err)
	}
	// The rows, read back once, as COPY text lines.
	rows, err := s.pool.Query(ctx, `SELECT e.org, e.seq, i.id, e.type, e.category, e.country, e.occurred, e.received, e.data, e.tsv::text
		FROM events e JOIN ids i ON i.org = e.org AND i.seq = e.seq
		WHERE e.org = (SELECT num FROM orgs WHERE name = 'bench') ORDER BY e.seq DESC LIMIT $1`, n)
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for rows.Next() {
		var org, seq, occ, rec int64
		var id, typ, cat, country, tsv string
		var data []byte
		if err := rows.Scan(&org, &seq, &id, &typ, &cat, &country, &occ, &rec, &data, &tsv); err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%d\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t\\\\x%s\t%s\n", org, seq, copyEscape(id), copyEscape(typ), copyEscape(cat),
			copyEscape(country), occ, rec, hex.EncodeToString(data), copyEscape(tsv))
		lines = append(lines, []byte(line))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(lines)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	start := time.Now()
	for i := 0; i < len(lines); i += 1000 {
		chunk := bytes.Join(lines[i:min(i+1000, len(lines))], nil)
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(chunk), "COPY copy_baseline FROM STDIN")
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return float64(len(lines)) / time.Since(start).Seconds()
}

func copyEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(s)
}

// benchDisk logs the bytes per event of each table with its indexes.
func benchDisk(t testing.TB, s *Store) {
	t.Helper()
	ctx := context.Background()
	var events int64
	s.pool.QueryRow(ctx, `SELECT count(*) FROM ids`).Scan(&events)
	rows, err := s.pool.Query(ctx, `SELECT coalesce(p.relname, c.relname) AS t, sum(pg_total_relation_size(c.oid))
		FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
		WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace AND c.relname <> 'copy_baseline'
		GROUP BY 1 ORDER BY 2 DESC`)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	var total int64
	for rows.Next() {
		var name string
		var n int64
		rows.Scan(&name, &n)
		total += n
		parts = append(parts, fmt.Sprintf("%s %d", name, n/max(events, 1)))
	}
	t.Logf("disk: %d bytes per event with indexes (%s), %d events", total/max(events, 1), strings.Join(parts, ", "), events)
}

// benchQueries measures first-page (50 events, newest first) latency per
// filter kind, in-process.
func benchQueries(t testing.TB, s *Store, org string, size int64) {
	t.Helper()
	term := func(f audit.Field, v string) []audit.Term { return []audit.Term{{Field: f, Value: v}} }
	day := time.Now().AddDate(0, -3, 0).UTC().Truncate(24 * time.Hour)
	kinds := []struct {
		name  string
		terms func(i int) []audit.Term
	}{
		{"none", func(int) []audit.Term { return nil }},
		{"type", func(i int) []audit.Term {
			return term(audit.FieldType, []string{"repo.delete", "org.change_role", "org.invite_member"}[i%3])
		}},
		{"category", func(i int) []audit.Term { return term(audit.FieldCategory, []string{"billing", "membership"}[i%2]) }},
		{"country", func(i int) []audit.Term { return term(audit.FieldCountry, []string{"JP", "FR", "SE"}[i%3]) }},
		{"actor", func(i int) []audit.Term { return term(audit.FieldActor, fmt.Sprintf("user%02d", i%40)) }},
		{"target", func(i int) []audit.Term { return term(audit.FieldTarget, fmt.Sprintf("%s/model-%d", org, i%500)) }},
		{"word", func(i int) []audit.Term { return term(audit.FieldText, fmt.Sprintf("model-%d", i%500)) }},
		{"rare word", func(int) []audit.Term { return term(audit.FieldText, "needle") }},
		{"one day", func(i int) []audit.Term {
			d := day.AddDate(0, 0, i%30)
			return []audit.Term{{Field: audit.FieldOccurred, From: d, To: d.Add(24 * time.Hour)}}
		}},
		{"type + actor + word", func(i int) []audit.Term {
			return []audit.Term{{Field: audit.FieldTypePrefix, Value: "repo."}, {Field: audit.FieldActor, Value: fmt.Sprintf("user%02d", i%40)}, {Field: audit.FieldText, Value: "model"}}
		}},
	}
	for _, k := range kinds {
		var lat []time.Duration
		for i := range 200 {
			q := audit.Query{Filter: audit.Filter{Terms: k.terms(i)}, Before: -1, After: -1, Limit: 50}
			st := time.Now()
			if _, err := s.Query(context.Background(), org, q); err != nil {
				t.Fatalf("%s: %v", k.name, err)
			}
			lat = append(lat, time.Since(st))
		}
		slices.Sort(lat)
		t.Logf("first page at %d events, %-20s p50 %6.2f ms  p99 %6.2f ms", size, k.name+":",
			float64(lat[len(lat)/2].Microseconds())/1000, float64(lat[len(lat)*99/100].Microseconds())/1000)
	}
}

// benchExport downloads org's whole log as JSON through srv.
func benchExport(t testing.TB, srv *benchServer, secret, org string, size int64) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.base+"/api/v1/orgs/"+org+"/export?format=json", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	took := time.Since(start)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("export: %v %s", err, resp.Status)
	}
	t.Logf("export over HTTP (JSON): %d events, %.0f MB in %s: %.0f events/s, %.0f MB/s", size, float64(n)/1e6, took.Round(time.Millisecond),
		float64(size)/took.Seconds(), float64(n)/1e6/took.Seconds())
}
