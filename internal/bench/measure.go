// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the baseline's driver

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/sqlite"
)

// exportRate exports the whole bench org as JSON to io.Discard and
// reports events/s and peak RSS during the export.
func exportRate(ctx context.Context, svc *audit.Service, o Options, out io.Writer) error {
	debug.FreeOSMemory()
	resetPeakRSS()
	before := rssKiB("VmRSS")
	x, err := svc.StartExport(ctx, o.Org, audit.ExportRequest{Format: audit.FormatJSON, Actor: audit.Actor{Type: "system", ID: "bench", Name: "bench"}})
	if err != nil {
		return err
	}
	var peak atomic.Int64
	done := make(chan struct{})
	go sampleRSS(&peak, done)
	cw := &countWriter{}
	start := time.Now()
	n, err := x.WriteTo(ctx, cw, nil)
	took := time.Since(start)
	close(done)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "export json: %d events, %d MiB in %s = %.0f events/s; RSS before %d MiB, peak during export %d MiB (VmHWM %d MiB)\n",
		n, cw.n>>20, took.Round(time.Millisecond), float64(n)/took.Seconds(), before>>10, peak.Load()>>10, rssKiB("VmHWM")>>10)
	return nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func sampleRSS(peak *atomic.Int64, done chan struct{}) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if r := rssKiB("VmRSS"); r > peak.Load() {
			peak.Store(r)
		}
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// rssKiB reads a memory figure of this process from /proc (Linux only; 0
// elsewhere).
func rssKiB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// diskUsage reports the store's bytes per event.
func diskUsage(ctx context.Context, store *sqlite.Store, dir, org string, out io.Writer) error {
	n, err := store.Size(ctx, org)
	if err != nil || n == 0 {
		return err
	}
	var total int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			total += fi.Size()
		}
	}
	fmt.Fprintf(out, "disk: %d MiB for %d events = %d bytes/event (database, WAL and indexes)\n", total>>20, n, total/n)
	return nil
}

// baseline is the naive design the issue compares against: one table with
// a random UUID key and three secondary indexes, events spread over 1000
// orgs, 1000 rows per transaction, WAL, synchronous=FULL.
func baseline(ctx context.Context, dir string, o Options, p *pool, out io.Writer) (float64, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "naive.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, s := range []string{
		`CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, org TEXT NOT NULL, type TEXT NOT NULL, actor TEXT NOT NULL, occurred TEXT NOT NULL, data TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS events_org_time ON events (org, occurred)`,
		`CREATE INDEX IF NOT EXISTS events_org_type ON events (org, type)`,
		`CREATE INDEX IF NOT EXISTS events_org_actor ON events (org, actor)`,
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return 0, err
		}
	}
	rows := baselineRows(p)
	var n int
	deadline := time.Now().Add(o.Duration)
	start := time.Now()
	for i := 0; time.Now().Before(deadline); i++ {
		if err := baselineTx(ctx, db, rows, i); err != nil {
			return 0, err
		}
		n += 1000
	}
	took := time.Since(start)
	rate := float64(n) / took.Seconds()
	fmt.Fprintf(out, "naive baseline: %d rows in %s = %.0f rows/s (random UUID key, 3 indexes, 1000 orgs, 1000 rows/tx, WAL, synchronous=FULL)\n", n, took.Round(time.Millisecond), rate)
	return rate, nil
}

type baselineRow struct{ org, typ, actor, occurred, data string }

func baselineRows(p *pool) []baselineRow {
	rows := make([]baselineRow, len(p.events))
	for i, raw := range p.events {
		var e struct {
			Type       string `json:"type"`
			Actor      struct{ Name string }
			OccurredAt string `json:"occurred_at"`
		}
		json.Unmarshal(raw, &e)
		rows[i] = baselineRow{"org" + strconv.Itoa(i%1000), e.Type, e.Actor.Name, e.OccurredAt, string(raw)}
	}
	return rows
}

func baselineTx(ctx context.Context, db *sql.DB, rows []baselineRow, round int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO events (id, org, type, actor, occurred, data) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	var id [16]byte
	for j := 0; j < 1000; j++ {
		r := rows[(round*1000+j)%len(rows)]
		rand.Read(id[:])
		if _, err := st.ExecContext(ctx, hex.EncodeToString(id[:]), r.org, r.typ, r.actor, r.occurred, r.data); err != nil {
			return err
		}
	}
	return tx.Commit()
}
