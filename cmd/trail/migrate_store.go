// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/postgres"
	"github.com/trailaudit/trail/internal/sqlite"
	"golang.org/x/mod/sumdb/tlog"
)

// runMigrateStore converts a data directory in place (what the first
// start of trail serve does: convert.go), or copies a whole SQLite store
// into PostgreSQL or into the log engine in another directory: every
// org's events with their ids, seqs and exact bytes (so the Merkle tree,
// rebuilt from them, has the same hashes; each org's root is checked
// against the source's tree and its signed checkpoint), the retry hashes,
// the latest signed checkpoints and the API keys. The source is only
// read; an interrupted copy resumes where it stopped.
func runMigrateStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate-store", migrateStoreUsage, stderr)
	data := dataFlag(fs)
	from := fs.String("from", "", "the embedded store to copy: sqlite:`DIR` (its data directory; stop its server first)")
	to := fs.String("to", "", "the store to copy into: a postgres:// `URL`, or log:DIR for the log engine in another directory")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *from == "" && *to == "" {
		return convertCommand(ctx, *data, stderr) // convert.go
	}
	dir, ok := strings.CutPrefix(*from, "sqlite:")
	switch {
	case !ok || dir == "":
		return usagef("--from must be sqlite:DIR, the data directory of an embedded store")
	case !isPostgres(*to) && (!strings.HasPrefix(*to, "log:") || logDir("", *to) == ""):
		return usagef("--to must be a postgres:// URL or log:DIR")
	case strings.HasPrefix(*to, "log:") && sameDir(logDir("", *to), dir):
		return usagef("--to log:DIR must be another directory than the source: the source stays untouched (to convert a data directory in place, as trail serve does on its first start, run trail migrate-store --data %s)", dir)
	}
	if err := requireDataDir(dir); err != nil {
		return err // the source must exist: never copy a new, empty store
	}
	if err := refuseConverted(dir); err != nil {
		return err
	}
	dst, err := openTarget(ctx, *to)
	if err != nil {
		return err
	}
	defer dst.Close()
	sum, err := copyStore(ctx, dir, dst, stderr)
	if err != nil {
		return err
	}
	engine, where := storeLabel("", *to)
	fmt.Fprintf(stderr, "copied %d orgs (%d events) and %d keys from %s into %s %s; every org's tree root matches\n",
		sum.orgs, sum.copied, sum.keys, dir, engine, where)
	return nil
}

const migrateStoreUsage = `[--data DIR] | --from sqlite:DIR --to postgres://…|log:DIR

With --data alone (or TRAIL_DATA), converts the SQLite data directory DIR
(schema version 1, written by earlier versions) to the log engine in
place, as the first start of trail serve on it does: every org's events,
tree roots checked against the source's tree and signed checkpoints, keys,
checkpoints, viewer links, sessions and streams; trail.db is only read and stays
as it was; the file DIR/CONVERTED, written last, switches the directory.
Stop servers on DIR first. Interrupted, it resumes on the next run.

With --from and --to, copies a SQLite store into PostgreSQL or into the
log engine in another directory, leaving the source as it is.`

// copySummary is what copyStore copied.
type copySummary struct {
	orgs         int
	events       int64 // the events in the source
	copied       int64 // … of which this run copied
	keys, viewer int   // viewer: viewer links, sessions and streams
}

// copyStore copies the SQLite store in dir into dst (see runMigrateStore)
// and seals it, writing one line per org to w (and progress when w is a
// terminal). It holds SQLite's write lock on the source for the whole
// copy, so that no other process can add to it meanwhile.
func copyStore(ctx context.Context, dir string, dst copyTarget, w io.Writer) (copySummary, error) {
	var sum copySummary
	src, err := sqlite.Open(dir, sqlite.Options{ReadOnly: true})
	if err != nil {
		return sum, err
	}
	defer src.Close()
	release, err := holdWrites(ctx, filepath.Join(dir, sqlite.FileName))
	if err != nil {
		return sum, err
	}
	defer release()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=busy_timeout(15000)&_pragma=query_only(1)")
	if err != nil {
		return sum, err
	}
	defer raw.Close()
	m := &storeCopy{src: src, raw: raw, dst: dst, log: w}
	orgs, err := src.Orgs(ctx)
	if err != nil {
		return sum, fmt.Errorf("reading the source's orgs: %w", err)
	}
	for _, org := range orgs {
		if err := m.copyOrg(ctx, org); err != nil {
			return sum, fmt.Errorf("org %s: %w", org, err)
		}
	}
	sum.orgs, sum.events, sum.copied = len(orgs), m.events, m.copied
	if sum.keys, err = m.copyKeys(ctx); err != nil {
		return sum, fmt.Errorf("copying the API keys: %w", err)
	}
	if v, ok := dst.(metaImporter); ok {
		if sum.viewer, err = v.ImportMeta(ctx, raw, time.Now()); err != nil {
			return sum, fmt.Errorf("copying viewer links, sessions and streams: %w", err)
		}
	}
	return sum, dst.finish(ctx)
}

// metaImporter is a target that takes the source's viewer links,
// sessions and streams (the log engine: its catalog has the same tables).
type metaImporter interface {
	ImportMeta(ctx context.Context, src *sql.DB, now time.Time) (int, error)
}

// holdWrites takes SQLite's write lock on the database at path (waiting
// up to its busy timeout for a writer to finish) and keeps it until
// release: another process's writes wait, then fail, and are never lost
// to a copy that has already read past them. Nothing is written.
func holdWrites(ctx context.Context, path string) (release func(), err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(15000)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s is being written by another process (a trail serve --store sqlite:, or a trail of an earlier version?): stop it first: %w", path, err)
	}
	return func() {
		tx.Rollback()
		db.Close()
	}, nil
}

type storeCopy struct {
	src    *sqlite.Store
	raw    *sql.DB
	dst    copyTarget
	log    io.Writer
	events int64 // events of the orgs done so far
	copied int64 // … copied by this run
}

// copiedEvent is one event read from the source.
type copiedEvent struct {
	seq  int64
	data []byte
	hash [32]byte
}

// copyTarget is a store migrate-store copies into.
type copyTarget interface {
	audit.Store
	importEvents(ctx context.Context, org string, evs []copiedEvent) error
	ImportKey(ctx context.Context, k audit.Key, hash [32]byte) (bool, error)
	finish(ctx context.Context) error // after the copy
}

func openTarget(ctx context.Context, to string) (copyTarget, error) {
	if isPostgres(to) {
		s, err := postgres.Open(ctx, to, postgres.Options{})
		return pgTarget{s}, err
	}
	s, err := logstore.Open(logDir("", to), logstore.Options{})
	return logTarget{s}, err
}

type pgTarget struct{ *postgres.Store }

func (t pgTarget) importEvents(ctx context.Context, org string, evs []copiedEvent) error {
	out := make([]postgres.Imported, len(evs))
	for i, e := range evs {
		ev, err := decodeStored(e.data)
		if err != nil {
			return fmt.Errorf("event seq %d: %w", e.seq, err)
		}
		out[i] = postgres.Imported{Seq: e.seq, Data: e.data, Hash: e.hash, Event: ev}
	}
	return t.Import(ctx, org, out)
}

func (t pgTarget) finish(ctx context.Context) error { return t.Analyze(ctx) }

type logTarget struct{ *logstore.Store }

func (t logTarget) importEvents(ctx context.Context, org string, evs []copiedEvent) error {
	out := make([]logstore.Imported, len(evs))
	for i, e := range evs {
		out[i] = logstore.Imported{Seq: e.seq, Data: e.data, Hash: e.hash}
	}
	return t.Import(ctx, org, out)
}

// finish seals everything copied into blocks.
func (t logTarget) finish(ctx context.Context) error { return t.Seal(ctx) }

// progressEvery is how often a long copy reports its progress when its
// output is not a terminal (a log).
const progressEvery = 10 * time.Second

// copyChunk is how many events one import transaction carries.
const copyChunk = 5000

// copyOrg copies org's events the destination lacks, checking each
// against the source's stored leaf hash, then checks the roots against
// the source's tree and its latest signed checkpoint and copies that
// checkpoint.
func (m *storeCopy) copyOrg(ctx context.Context, org string) error {
	size, err := m.src.Size(ctx, org)
	if err != nil {
		return err
	}
	have, err := m.dst.Size(ctx, org)
	if err != nil {
		return err
	}
	if have > size {
		return fmt.Errorf("the destination has %d events, more than the source's %d: it is another log", have, size)
	}
	if have > 0 {
		if err := m.sameRoot(ctx, org, have); err != nil {
			return fmt.Errorf("the destination's first %d events are not the source's: %w", have, err)
		}
	}
	var num int64
	if err := m.raw.QueryRowContext(ctx, `SELECT num FROM orgs WHERE name = ?`, org).Scan(&num); err != nil {
		return err
	}
	start, reported := time.Now(), time.Now()
	chunks, stop := m.readChecked(ctx, org, num, have, size)
	defer stop()
	for next := have; next < size; {
		c, ok := <-chunks
		if !ok {
			if err := ctx.Err(); err != nil {
				return err // stopped, not a short source
			}
			return fmt.Errorf("the source's events end at seq %d of %d", next, size)
		}
		if c.err != nil {
			return c.err
		}
		if err := m.dst.importEvents(ctx, org, c.evs); err != nil {
			return err
		}
		next += int64(len(c.evs))
		switch {
		case isTerminal(m.log):
			fmt.Fprintf(m.log, "\r%s: %d of %d events", org, next, size)
		case time.Since(reported) >= progressEvery && next < size:
			fmt.Fprintf(m.log, "%s: %d of %d events copied so far\n", org, next, size)
			reported = time.Now()
		}
	}
	if err := m.sameRoot(ctx, org, size); err != nil {
		return err
	}
	if isTerminal(m.log) {
		fmt.Fprint(m.log, "\r")
	}
	m.events += size
	m.copied += size - have
	checked, err := m.copyCheckpoint(ctx, org)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.log, "%s: %d events (%d copied in %s), tree root matches%s\n", org, size, size-have, time.Since(start).Round(time.Millisecond), checked)
	return nil
}

// checkedChunk is a chunk of events read from the source and checked
// against its tree, or the error that stopped the reading.
type checkedChunk struct {
	evs []copiedEvent
	err error
}

// readChecked reads org's events [from, to) from the source in chunks and
// checks each event against its leaf hash, one chunk ahead of the
// caller's import of the previous one (reading and checking then run
// beside writing and sealing). The last chunk sent after an error holds
// it. stop ends the reading early and waits for it.
func (m *storeCopy) readChecked(ctx context.Context, org string, num, from, to int64) (<-chan checkedChunk, func()) {
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan checkedChunk, 1)
	go func() {
		defer close(out)
		for next := from; next < to; {
			evs, err := m.readChunk(ctx, num, next, min(to, next+copyChunk))
			if err == nil {
				err = m.checkLeaves(ctx, org, evs)
			}
			select {
			case out <- checkedChunk{evs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			next += int64(len(evs))
		}
	}()
	return out, func() {
		cancel()
		for range out {
		}
	}
}

// copyCheckpoint checks that the destination's tree has the root of the
// source's latest signed checkpoint at its size and copies it; it returns
// what it checked, for the report.
func (m *storeCopy) copyCheckpoint(ctx context.Context, org string) (string, error) {
	cp, err := m.src.LatestCheckpoint(ctx, org)
	if audit.ErrorCode(err) == audit.CodeNotFound {
		return " (no signed checkpoint yet)", nil
	}
	if err != nil {
		return "", err
	}
	got, err := ledger.TreeHash(cp.Size, audit.HashReader(ctx, m.dst, org))
	if err != nil {
		return "", fmt.Errorf("reading the destination's tree at the checkpoint's size %d: %w", cp.Size, err)
	}
	if got != cp.Root {
		return "", fmt.Errorf("the source's signed checkpoint of size %d has root %s but its events give %s: the source is damaged (trail check --store sqlite:DIR names where): %w",
			cp.Size, ledger.EncodeHash(cp.Root), ledger.EncodeHash(got), ledger.ErrMismatch)
	}
	if _, err := m.dst.SaveCheckpoint(ctx, org, cp); err != nil {
		return "", err
	}
	return fmt.Sprintf(" and its signed checkpoint of size %d", cp.Size), nil
}

// checkLeaves checks that each event's bytes hash to the leaf the
// source's tree holds for it: damaged bytes are named, never copied.
func (m *storeCopy) checkLeaves(ctx context.Context, org string, evs []copiedEvent) error {
	idx := make([]int64, len(evs))
	for i, e := range evs {
		idx[i] = tlog.StoredHashIndex(0, e.seq)
	}
	want, err := m.src.ReadHashes(ctx, org, idx)
	if err != nil {
		return fmt.Errorf("reading the source's tree: %w", err)
	}
	for i, e := range evs {
		if ledger.LeafHash(e.data) != want[i] {
			var id struct{ ID string }
			json.Unmarshal(e.data, &id)
			return fmt.Errorf("the source is damaged: the stored bytes of event seq %d (id %q) do not hash to its leaf in the source's tree (trail check --store sqlite:DIR names every damaged event): %w",
				e.seq, id.ID, ledger.ErrMismatch)
		}
	}
	return nil
}

// sameRoot compares the tree roots of org's first n events in both stores.
func (m *storeCopy) sameRoot(ctx context.Context, org string, n int64) error {
	want, err := ledger.TreeHash(n, audit.HashReader(ctx, m.src, org))
	if err != nil {
		return fmt.Errorf("reading the source's tree: %w", err)
	}
	got, err := ledger.TreeHash(n, audit.HashReader(ctx, m.dst, org))
	if err != nil {
		return fmt.Errorf("reading the destination's tree: %w", err)
	}
	if got != want {
		return fmt.Errorf("tree root of size %d: destination %s, source %s: %w", n, ledger.EncodeHash(got), ledger.EncodeHash(want), ledger.ErrMismatch)
	}
	return nil
}

// readChunk reads the source's events from <= seq < to with their retry
// hashes, straight from its tables (the store interface does not expose
// the hashes).
func (m *storeCopy) readChunk(ctx context.Context, num, from, to int64) ([]copiedEvent, error) {
	const seqBits = 40 // the SQLite key: org number << 40 | seq
	rows, err := m.raw.QueryContext(ctx, `SELECT k, hash, data FROM events WHERE k >= ? AND k < ? ORDER BY k`,
		num<<seqBits|from, num<<seqBits|to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []copiedEvent
	for rows.Next() {
		var k int64
		var hash, data []byte
		if err := rows.Scan(&k, &hash, &data); err != nil {
			return nil, err
		}
		e := copiedEvent{seq: k & (1<<seqBits - 1), data: data}
		copy(e.hash[:], hash)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) != int(to-from) {
		return nil, fmt.Errorf("the source has %d events in seqs %d…%d, want %d: is it damaged, or written to during the copy?", len(out), from, to-1, to-from)
	}
	for i := range out {
		if out[i].seq != from+int64(i) {
			return nil, fmt.Errorf("the source lacks seq %d", from+int64(i))
		}
	}
	return out, nil
}

// decodeStored decodes an event's canonical bytes.
func decodeStored(data []byte) (audit.Event, error) {
	var v struct {
		ID          string          `json:"id"`
		Org         string          `json:"org"`
		Seq         int64           `json:"seq"`
		Type        string          `json:"type"`
		Category    string          `json:"category"`
		Actor       audit.Actor     `json:"actor"`
		Targets     []audit.Target  `json:"targets"`
		Description string          `json:"description"`
		Client      *audit.Client   `json:"client"`
		Location    *audit.Location `json:"location"`
		OccurredAt  time.Time       `json:"occurred_at"`
		ReceivedAt  time.Time       `json:"received_at"`
		Metadata    map[string]any  `json:"metadata"`
		RecordedBy  string          `json:"recorded_by"`
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return audit.Event{}, err
	}
	if v.ID == "" {
		return audit.Event{}, errors.New("no id in the stored bytes")
	}
	return audit.Event{
		ID: v.ID, Org: v.Org, Seq: v.Seq, Type: v.Type, Category: v.Category, Actor: v.Actor,
		Targets: v.Targets, Description: v.Description, Client: v.Client, Location: v.Location,
		OccurredAt: v.OccurredAt.UTC(), ReceivedAt: v.ReceivedAt.UTC(), Metadata: v.Metadata, RecordedBy: v.RecordedBy,
	}, nil
}

// copyKeys copies every API key with its hash and state; a key copied
// before keeps its state, except that a revocation in the source is
// carried over.
func (m *storeCopy) copyKeys(ctx context.Context) (int, error) {
	rows, err := m.raw.QueryContext(ctx, `SELECT id, hash, name, scope, org, created, expires, last_used, revoked FROM keys`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var k audit.Key
		var hash []byte
		var scope string
		var created, expires, used, revoked int64
		if err := rows.Scan(&k.ID, &hash, &k.Name, &scope, &k.Org, &created, &expires, &used, &revoked); err != nil {
			return n, err
		}
		k.Scope = audit.Scope(scope)
		k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.RevokedAt = unixMicros(created), unixMicros(expires), unixMicros(used), unixMicros(revoked)
		var h [32]byte
		if len(hash) != len(h) {
			return n, fmt.Errorf("key %s: stored hash has %d bytes", k.ID, len(hash))
		}
		copy(h[:], hash)
		stored, err := m.dst.ImportKey(ctx, k, h)
		if err == nil && !stored && !k.RevokedAt.IsZero() {
			// Copied by an earlier, interrupted run, then revoked in the
			// source: a revocation is never lost.
			err = m.dst.RevokeKey(ctx, k.ID, k.RevokedAt)
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func unixMicros(m int64) time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMicro(m).UTC()
}
