// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/sqlite"
)

// v1Dir is a data directory as earlier versions wrote it (the SQLite
// engine, schema version 1), made with the real binary.
type v1Dir struct {
	data            string
	admin           string            // an admin key's secret
	link            string            // an unspent viewer link, on the SQLite server's URL
	session         *http.Client      // signed in through another link (its cookie)
	sqliteBase      string            // the SQLite server's URL, now stopped
	sizes           map[string]int64  // org → events
	checkpointSizes map[string]int64  // org → size of its signed checkpoint
	dbSum           [sha256.Size]byte // trail.db's bytes
	stream          client.Stream     // acme's webhook stream, paused after some deliveries
}

// makeV1Dir runs trail serve --store sqlite: on a new directory: keys,
// events in three orgs, signed checkpoints, a viewer link and a session.
func makeV1Dir(t *testing.T, bin string) v1Dir {
	t.Helper()
	d := v1Dir{data: filepath.Join(t.TempDir(), "data"), sizes: map[string]int64{}, checkpointSizes: map[string]int64{}}
	sqliteArgs := []string{"--store", "sqlite:"}
	d.admin = createKeyCLI(t, bin, d.data, append(sqliteArgs, "--scope", "admin")...)
	revoked := createKeyCLI(t, bin, d.data, append(sqliteArgs, "--scope", "read", "--org", "beta")...)
	s := startServer(t, bin, d.data, append(sqliteArgs, "--checkpoint-interval", "100ms", "--stream-allow-private")...)
	d.sqliteBase = s.Base
	c := apiClient(s.Base, d.admin)
	for i, org := range []string{"acme", "beta", "gamma"} {
		for b := 0; b < 3+i; b++ {
			var evs []client.Event
			for j := range 40 {
				evs = append(evs, repoCreate(b*100+j, fmt.Sprintf("%s/m%d", org, j)))
			}
			if _, err := c.Ingest(testCtx(t), org, evs); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A stream that delivered some events, then paused: its cursor must
	// survive the conversion.
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer recv.Close()
	st, err := c.CreateStream(testCtx(t), "acme", client.NewStream{Name: "siem", Kind: "webhook", Settings: map[string]any{"url": recv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	for st.DeliveredSeq < 0 {
		time.Sleep(50 * time.Millisecond)
		if st, err = c.Stream(testCtx(t), "acme", st.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PauseStream(testCtx(t), "acme", st.ID); err != nil {
		t.Fatal(err)
	}
	if st, err = c.Stream(testCtx(t), "acme", st.ID); err != nil {
		t.Fatal(err)
	}
	d.stream = *st
	// A link spent (its session kept) and one not, made beside the server.
	link := func() string {
		res := mustRun(t, bin, nil, append([]string{"link", "--org", "acme", "--user", "u_ada", "--name", "Ada",
			"--data", d.data, "--public-url", s.Base + "/"}, sqliteArgs...)...)
		return strings.SplitN(res.stdout, "\n", 2)[0]
	}
	d.session = signIn(t, link())
	d.link = link()
	var revokeID string
	for _, row := range keyRows(t, mustRun(t, bin, nil, "keys", "list", "--data", d.data, "--store", "sqlite:").stdout) {
		if row["ORG"] == "beta" {
			revokeID = row["ID"]
		}
	}
	mustRun(t, bin, nil, "keys", "revoke", revokeID, "--data", d.data, "--store", "sqlite:")
	if status, _ := httpGet(t, s.Base+"/api/v1/orgs/beta/events", revoked); status != http.StatusUnauthorized {
		t.Fatalf("the revoked key %s answers %d", revokeID, status)
	}
	// Every org's checkpoint signed at its size (the page view added an
	// event to acme), by the background signer.
	deadline := time.Now().Add(pollTimeout)
	for _, org := range []string{"acme", "beta", "gamma"} {
		for {
			cp, err := c.Checkpoint(testCtx(t), org)
			if err != nil {
				t.Fatal(err)
			}
			d.checkpointSizes[org], d.sizes[org] = cp.Size, logSize(t, c, org)
			if cp.Size == d.sizes[org] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: checkpoint of size %d, log of %d after %v", org, cp.Size, d.sizes[org], pollTimeout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	d.dbSum = fileSum(t, filepath.Join(d.data, sqlite.FileName))
	return d
}

// signIn spends a viewer link and returns a client holding its session.
func signIn(t *testing.T, link string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	req, _ := http.NewRequest("POST", link, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("spending %s: %d", link, resp.StatusCode)
	}
	return c
}

func fileSum(t *testing.T, path string) [sha256.Size]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestConvertOnFirstStart starts trail serve with the default store on a
// SQLite data directory: it converts it, and afterwards every event, key,
// checkpoint, viewer link, session and stream cursor is there, roots match, trail.db is
// unchanged, and the log continues.
func TestConvertOnFirstStart(t *testing.T) {
	bin := trailBinary(t)
	v1 := makeV1Dir(t, bin)
	s := startServer(t, bin, v1.data)
	logs := s.Logs()
	if !strings.Contains(logs, `"msg":"converted"`) || !strings.Contains(logs, `"engine":"log"`) {
		t.Fatalf("the first start does not say it converted onto the log engine:\n%s", logs)
	}
	for org, n := range v1.checkpointSizes {
		want := fmt.Sprintf("%s: %d events (%d copied in", org, v1.sizes[org], v1.sizes[org])
		if !strings.Contains(logs, want) || !strings.Contains(logs, fmt.Sprintf("and its signed checkpoint of size %d", n)) {
			t.Errorf("the conversion's log does not report %q with its checkpoint of size %d:\n%s", want, n, logs)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(v1.data, convertedFile)); err != nil {
		t.Errorf("no %s after the conversion: %v", convertedFile, err)
	}
	if fileSum(t, filepath.Join(v1.data, sqlite.FileName)) != v1.dbSum {
		t.Error("the conversion changed trail.db")
	}

	// Everything a copy must keep (events, bytes, roots, checkpoints, daily
	// counts, query results, keys with their state), from both engines'
	// files.
	src, err := sqlite.Open(v1.data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := logstore.Open(v1.data, logstore.Options{ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	sameStores(t, src, dst)
	dst.Close()
	src.Close()

	// Started again: the viewer link made before works once, the session
	// goes on, roots match the checkpoints, and the logs continue.
	s = serveOn(t, bin, v1.data)
	link := strings.Replace(v1.link, v1.sqliteBase, s.Base, 1)
	if status, page := spendLink(t, link); status != 200 || !strings.Contains(page, "Ada") {
		t.Errorf("a viewer link made before the conversion: %d", status)
	}
	if resp, err := v1.session.Get(s.Base + "/orgs/acme/settings/audit-logs"); err != nil || resp.StatusCode != 200 {
		t.Errorf("the page with a session made before the conversion: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	st, err := apiClient(s.Base, v1.admin).Stream(testCtx(t), "acme", v1.stream.ID)
	if err != nil || st.DeliveredSeq != v1.stream.DeliveredSeq || st.CheckpointSize != v1.stream.CheckpointSize || st.State != "paused" || st.Name != "siem" {
		t.Errorf("the stream after the conversion: %+v %v; want its cursor as before: %+v", st, err, v1.stream)
	}
	res := mustRun(t, bin, nil, "check", "--data", v1.data)
	for org, n := range v1.checkpointSizes {
		if !strings.Contains(res.stdout, fmt.Sprintf("ok       %s:", org)) || !strings.Contains(res.stdout, fmt.Sprintf("matches its signed checkpoint of size %d", n)) {
			t.Errorf("trail check after the conversion, %s:\n%s", org, res.stdout)
		}
	}
	acks, err := apiClient(s.Base, v1.admin).Ingest(testCtx(t), "beta", []client.Event{repoCreate(9999, "beta/after")})
	if err != nil || acks[0].Seq != v1.sizes["beta"] {
		t.Errorf("ingest after the conversion: %+v %v; want seq %d", acks, err, v1.sizes["beta"])
	}
}

// TestConvertedDirectoryStartsWithoutConverting converts a directory as
// the release before this one wrote it (no streams table: it is not
// added), then restarts it: no second conversion, events added since are
// kept, trail.db unchanged.
func TestConvertedDirectoryStartsWithoutConverting(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	fillCheckedLog(t, data, 500, 400, rand.New(rand.NewPCG(3, 3)))
	key := createKeyCLI(t, bin, data, "--scope", "admin", "--store", "sqlite:")
	// As the release before streams wrote it: no streams table.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TABLE streams`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := fileSum(t, filepath.Join(data, sqlite.FileName))
	s := startServer(t, bin, data)
	if !strings.Contains(s.Logs(), `"msg":"converted"`) {
		t.Fatalf("the first start did not convert:\n%s", s.Logs())
	}
	if _, err := apiClient(s.Base, key).Ingest(testCtx(t), "acme", []client.Event{repoCreate(1, "acme/new")}); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	marker, _ := os.ReadFile(filepath.Join(data, convertedFile))

	s = startServer(t, bin, data)
	defer s.Stop()
	if strings.Contains(s.Logs(), "convert") {
		t.Errorf("the second start converted again:\n%s", s.Logs())
	}
	if n := logSize(t, apiClient(s.Base, key), "acme"); n != 501 {
		t.Errorf("after a restart: %d events, want 501", n)
	}
	if again, _ := os.ReadFile(filepath.Join(data, convertedFile)); !bytes.Equal(again, marker) {
		t.Errorf("%s was rewritten", convertedFile)
	}
	if fileSum(t, filepath.Join(data, sqlite.FileName)) != before {
		t.Error("the conversion changed trail.db (of a version without the streams table)")
	}
	// The SQLite engine is refused on the converted directory: its
	// trail.db is the data from before the conversion.
	res := runTrail(t, bin, nil, "orgs", "--data", data, "--store", "sqlite:")
	if res.code != 2 || !strings.Contains(res.stderr, "was converted to the log engine") {
		t.Errorf("--store sqlite: on a converted directory: exit %d\n%s", res.code, res.stderr)
	}
	res = mustRun(t, bin, nil, "migrate-store", "--data", data)
	if !strings.Contains(res.stderr, "converted already") {
		t.Errorf("migrate-store --data on a converted directory: %s", res.stderr)
	}
}

// TestConvertOnStartSurvivesSIGKILL kills trail serve several times while
// its first start converts a directory, then starts it cleanly: every
// event is there once with its seq, the roots match the signed
// checkpoint, and trail.db never changed.
func TestConvertOnStartSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills the real binary; skipped with -short")
	}
	bin := trailBinary(t)
	data := t.TempDir()
	rng := rand.New(rand.NewPCG(11, 11))
	const n, cp = 20000, 19000
	fillCheckedLog(t, data, n, cp, rng)
	key := createKeyCLI(t, bin, data, "--scope", "admin", "--store", "sqlite:")
	before := fileSum(t, filepath.Join(data, sqlite.FileName))
	for kill := range 4 {
		p := launch(t, bin, nil, "serve", "--addr", "127.0.0.1:0", "--data", data)
		waitFor(t, p, `"msg":"converting`)
		// The first kill lands at once, the others later and later.
		time.Sleep(time.Duration(kill) * time.Duration(100+rng.IntN(400)) * time.Millisecond)
		p.cmd.Process.Kill()
		<-p.exited
		_, err := os.Stat(filepath.Join(data, convertedFile))
		if kill == 0 && err == nil {
			t.Fatalf("the conversion was complete at once: the kill proved nothing")
		}
		if fileSum(t, filepath.Join(data, sqlite.FileName)) != before {
			t.Fatalf("kill %d: trail.db changed", kill)
		}
		t.Logf("kill %d: converted: %v", kill, err == nil)
		if err == nil {
			break
		}
	}
	s := startServer(t, bin, data)
	acked := map[string]int64{}
	for i := range int64(n) {
		acked[fmt.Sprint("e", i)] = i
	}
	checkLog(t, s.Base, key, acked)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if res := mustRun(t, bin, nil, "check", "--data", data); !strings.Contains(res.stdout, "ok       acme:") {
		t.Errorf("trail check after the killed conversions:\n%s", res.stdout)
	}
	// The converted tree has the root the source's checkpoint signed.
	src, err := sqlite.Open(data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := logstore.Open(data, logstore.Options{ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	ctx := t.Context()
	want, err := src.LatestCheckpoint(ctx, "acme")
	if err != nil || want.Size != cp {
		t.Fatalf("the source's checkpoint: %+v %v", want, err)
	}
	if got, err := ledger.TreeHash(cp, audit.HashReader(ctx, dst, "acme")); err != nil || got != want.Root {
		t.Errorf("the converted tree's root at %d: %x (%v), want the signed %x", cp, got, err, want.Root)
	}
}

// waitFor waits until the process's log holds s.
func waitFor(t *testing.T, p *proc, s string) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for !strings.Contains(p.stderr.String(), s) {
		select {
		case <-p.exited:
			t.Fatalf("trail serve exited before logging %s: %v\n%s", s, p.waitErr, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("trail serve did not log %s within %v:\n%s", s, startTimeout, p.stderr)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestConvertRefusesDamagedSource damages one event's stored bytes in a
// SQLite directory: the first start refuses to convert it, naming the
// event, and leaves trail.db untouched and the directory unswitched, at
// every attempt.
func TestConvertRefusesDamagedSource(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	fillCheckedLog(t, data, 7000, 7000, rand.New(rand.NewPCG(4, 4)))
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET data = replace(CAST(data AS TEXT), 'event number', 'event NUMBER') WHERE id = 'e6123'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before := fileSum(t, filepath.Join(data, sqlite.FileName))
	for _, args := range [][]string{
		{"serve", "--addr", "127.0.0.1:0", "--data", data},
		{"serve", "--addr", "127.0.0.1:0", "--data", data}, // the resumed attempt refuses too
		{"migrate-store", "--data", data},
	} {
		res := runTrail(t, bin, nil, args...)
		for _, want := range []string{`event seq 6123 (id "e6123")`, "the source is damaged", "is untouched", "--store sqlite:" + data} {
			if res.code != 1 || !strings.Contains(res.stderr, want) {
				t.Errorf("trail %s on a damaged source: exit %d, want 1 and %q in:\n%s", args[0], res.code, want, res.stderr)
			}
		}
		if _, err := os.Stat(filepath.Join(data, convertedFile)); err == nil {
			t.Fatalf("trail %s switched a damaged directory", args[0])
		}
		if fileSum(t, filepath.Join(data, sqlite.FileName)) != before {
			t.Fatalf("trail %s changed trail.db", args[0])
		}
	}
	// The SQLite engine still serves it, as the message says.
	startServer(t, bin, data, "--store", "sqlite:"+data).Stop()
}

// TestConvertRefusesUnreadableSource: a trail.db that is not a SQLite
// database is refused with a clear error and left as it was.
func TestConvertRefusesUnreadableSource(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	junk := bytes.Repeat([]byte("not a database "), 300)
	if err := os.WriteFile(filepath.Join(data, sqlite.FileName), junk, 0o600); err != nil {
		t.Fatal(err)
	}
	res := runTrail(t, bin, nil, "serve", "--addr", "127.0.0.1:0", "--data", data)
	if res.code != 1 || !strings.Contains(res.stderr, "converting the SQLite data in "+data) || !strings.Contains(res.stderr, "is untouched") {
		t.Errorf("trail serve on a trail.db that is no database: exit %d\n%s", res.code, res.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(data, sqlite.FileName)); !bytes.Equal(got, junk) {
		t.Error("trail serve changed the unreadable trail.db")
	}
	if _, err := os.Stat(filepath.Join(data, convertedFile)); err == nil {
		t.Errorf("trail serve switched a directory it could not convert")
	}
}
