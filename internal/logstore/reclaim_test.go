// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// raceLog is a sealed log of two orgs whose blocks share files, with the
// bytes each event may be read as: its original bytes, or once erased its
// redacted ones.
type raceLog struct {
	s    *Store
	dir  string
	n    int
	orig map[string][][]byte
	red  map[string][][]byte
	root map[string]ledger.Hash
	t0   time.Time
}

func newRaceLog(t *testing.T, opts Options, n int) *raceLog {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	orgs := []string{"acme", "beta"}
	l := &raceLog{s: s, dir: dir, n: n, orig: fill(t, s, orgs, 0, n), red: map[string][][]byte{},
		root: map[string]ledger.Hash{}, t0: testEvent("acme", 0).ReceivedAt}
	ctx := context.Background()
	for _, org := range orgs {
		for s.sealedOf(org) < int64(n) {
			if err := s.Seal(ctx); err != nil {
				t.Fatal(err)
			}
		}
		e := &ledger.Edge{}
		for seq, data := range l.orig[org] {
			e.Append(nil, ledger.LeafHash(data))
			ev := testEvent(org, seq)
			ev.Seq = int64(seq)
			ev.Actor.ID, ev.Actor.Name = audit.Erased, audit.Erased
			ev.Description = strings.ReplaceAll(ev.Description, "alice", audit.Erased)
			r := ev.AppendCanonical(nil)
			r = append(ledger.AppendRedacted(r[:len(r)-1], ledger.LeafHash(data), "2026-12-06T18:00:00.000000Z", "er_race"), '}')
			l.red[org] = append(l.red[org], r)
		}
		l.root[org] = e.Root()
	}
	return l
}

// redaction is the erasure of seq of org.
func (l *raceLog) redaction(org string, seq int64) audit.Redaction {
	return audit.Redaction{Seq: seq, Data: l.red[org][seq]}
}

// checkWalk reads every event of org in one query (one view), in either
// order, and fails unless they are a dense run ending at the log's end,
// each in its original or its redacted form.
func (l *raceLog) checkWalk(ctx context.Context, org string, order audit.Order) error {
	var seqs []int64
	_, err := l.s.each(ctx, org, audit.Query{Order: order, After: -1, Before: -1, Limit: 1 << 30}, func(seq int64, data []byte) error {
		if seq < 0 || seq >= int64(l.n) {
			return fmt.Errorf("seq %d out of the log", seq)
		}
		if !bytes.Equal(data, l.orig[org][seq]) && !bytes.Equal(data, l.red[org][seq]) {
			return fmt.Errorf("seq %d reads as neither its original nor its redacted bytes: %.80q", seq, data)
		}
		seqs = append(seqs, seq)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s walk (%v): %w", org, order, err)
	}
	if len(seqs) == 0 {
		return fmt.Errorf("%s walk (%v): no events", org, order)
	}
	for i := 1; i < len(seqs); i++ {
		step := int64(1)
		if order == audit.Desc {
			step = -1
		}
		if seqs[i] != seqs[i-1]+step {
			return fmt.Errorf("%s walk (%v): seq %d after %d", org, order, seqs[i], seqs[i-1])
		}
	}
	if last := max(seqs[0], seqs[len(seqs)-1]); last != int64(l.n)-1 {
		return fmt.Errorf("%s walk (%v) ends at %d, want %d", org, order, last, l.n-1)
	}
	return nil
}

// checkRoot recomputes org's root from the tree hashes (leaves read from
// the blocks and the pruned leaves) and an inclusion proof of the last
// event.
func (l *raceLog) checkRoot(ctx context.Context, org string) error {
	r := audit.HashReader(ctx, l.s, org)
	root, err := ledger.TreeHash(int64(l.n), r)
	if err != nil {
		return fmt.Errorf("%s root: %w", org, err)
	}
	if root != l.root[org] {
		return fmt.Errorf("%s root changed: %x, want %x", org, root, l.root[org])
	}
	last := int64(l.n - 1)
	proof, err := ledger.ProveInclusion(last, int64(l.n), r)
	if err != nil {
		return fmt.Errorf("%s inclusion proof: %w", org, err)
	}
	if err := ledger.CheckInclusion(proof, last, int64(l.n), root, ledger.LeafHash(l.orig[org][last])); err != nil {
		return fmt.Errorf("%s inclusion proof: %w", org, err)
	}
	return nil
}

// checkEvent looks an event up by id: found with one of its forms, or
// not found once pruned.
func (l *raceLog) checkEvent(ctx context.Context, org string, seq int) error {
	got, data, err := l.s.Event(ctx, org, fmt.Sprintf("ev-%d", seq))
	if errors.Is(err, audit.ErrNotFound) {
		if p, _ := l.s.PrunedBefore(ctx, org); int64(seq) < p {
			return nil
		}
		return fmt.Errorf("%s ev-%d not found, not pruned", org, seq)
	}
	if err != nil {
		return fmt.Errorf("%s ev-%d: %w", org, seq, err)
	}
	if got != int64(seq) || !bytes.Equal(data, l.orig[org][seq]) && !bytes.Equal(data, l.red[org][seq]) {
		return fmt.Errorf("%s ev-%d: seq %d, %.80q", org, seq, got, data)
	}
	return nil
}

// churn prunes both orgs one block further and erases a few live events
// of each, rounds times; every erasure rewrites a block and retires the
// old one.
func (l *raceLog) churn(ctx context.Context, rounds, blockEvents int) error {
	for i := 1; i <= rounds; i++ {
		cutoff := l.t0.Add(time.Duration(i*blockEvents) * time.Minute)
		for _, org := range []string{"acme", "beta"} {
			if _, err := l.s.Prune(ctx, org, cutoff); err != nil {
				return fmt.Errorf("prune: %w", err)
			}
			p, _ := l.s.PrunedBefore(ctx, org)
			var rs []audit.Redaction
			for _, seq := range []int64{p, p + int64(blockEvents)/2, int64(l.n) - 1 - int64(i)} {
				if seq < int64(l.n) {
					rs = append(rs, l.redaction(org, seq))
				}
			}
			if err := l.s.Redact(ctx, org, rs); err != nil {
				return fmt.Errorf("redact: %w", err)
			}
		}
	}
	return nil
}

// TestReadsRacingPruneAndErasure has readers walk the blocks (queries in
// both orders, tree hashes and proofs, lookups by id) while the blocks
// they read are pruned and rewritten by erasures, over and over: every
// read sees the log as it was before a change or after it, never an
// error, although the old blocks' ranges are punched out and whole block
// files removed.
func TestReadsRacingPruneAndErasure(t *testing.T) {
	defer func(n int) { maxHeaders = n }(maxHeaders)
	maxHeaders = 4 // headers are read again from the files all the time
	defer func(n int64) { blockFileBytes = n }(blockFileBytes)
	blockFileBytes = 64 << 10 // many block files: emptied ones are removed
	const n, blockEvents, rounds = 3000, 64, 40
	l := newRaceLog(t, Options{BlockEvents: blockEvents, PageEvents: 16, ManualSeal: true}, n)
	defer l.s.Close()
	ctx := context.Background()
	before := diskUsage(t, filepath.Join(l.dir, "blocks"))
	stop := make(chan struct{})
	var reads atomic.Int64
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	reader := func(k int) {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			org := []string{"acme", "beta"}[(k+i)%2]
			var err error
			switch (k + i) % 4 {
			case 0:
				err = l.checkWalk(ctx, org, audit.Asc)
			case 1:
				err = l.checkWalk(ctx, org, audit.Desc)
			case 2:
				err = l.checkRoot(ctx, org)
			default:
				err = l.checkEvent(ctx, org, (k*977+i*131)%n)
			}
			if err != nil {
				errs <- err
				return
			}
			reads.Add(1)
		}
	}
	for k := 0; k < 6; k++ {
		wg.Add(1)
		go reader(k)
	}
	err := l.churn(ctx, rounds, blockEvents)
	close(stop)
	wg.Wait()
	close(errs)
	if err != nil {
		t.Fatal(err)
	}
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d reads during %d rounds of pruning and erasure", reads.Load(), rounds)
	// Once the reads are done, the space is given back and the log reads
	// as the last state.
	if err := l.s.awaitReleased(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, org := range []string{"acme", "beta"} {
		if err := errors.Join(l.checkWalk(ctx, org, audit.Asc), l.checkRoot(ctx, org)); err != nil {
			t.Fatal(err)
		}
	}
	// 7 of 47 blocks per org are left.
	if after := diskUsage(t, filepath.Join(l.dir, "blocks")); after > before/4 {
		t.Fatalf("blocks hold %d bytes on disk after pruning 85%% of them, %d before", after, before)
	}
}

// TestBackupRacingPruneAndErasure backs the store up again and again while
// it is pruned and erased: every copy opens and holds a dense log with the
// source's root.
func TestBackupRacingPruneAndErasure(t *testing.T) {
	defer func(n int) { maxHeaders = n }(maxHeaders)
	maxHeaders = 4
	defer func(n int64) { blockFileBytes = n }(blockFileBytes)
	blockFileBytes = 64 << 10
	const n, blockEvents, rounds = 2000, 64, 25
	l := newRaceLog(t, Options{BlockEvents: blockEvents, PageEvents: 16, ManualSeal: true}, n)
	defer l.s.Close()
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- l.churn(ctx, rounds, blockEvents) }()
	var copies []string
	for i := 0; ; i++ {
		dest := filepath.Join(t.TempDir(), fmt.Sprint("copy", i))
		if err := l.s.Backup(ctx, dest); err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		copies = append(copies, dest)
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d backups during %d rounds of pruning and erasure", len(copies), rounds)
			for _, dest := range copies {
				c, err := Open(dest, Options{ManualSeal: true})
				if err != nil {
					t.Fatalf("opening the backup %s: %v", dest, err)
				}
				cl := *l
				cl.s = c
				for _, org := range []string{"acme", "beta"} {
					if err := errors.Join(cl.checkWalk(ctx, org, audit.Asc), cl.checkRoot(ctx, org)); err != nil {
						c.Close()
						t.Fatalf("the backup %s: %v", dest, err)
					}
				}
				c.Close()
			}
			return
		default:
		}
	}
}

// TestReaderProcessKeepsPrunedBlocks opens the directory a second time,
// as another process beside the owner would (trail backup beside trail
// serve): blocks the owner prunes and erases meanwhile stay readable by
// it until it closes, and their space is given back after.
func TestReaderProcessKeepsPrunedBlocks(t *testing.T) {
	defer func(n int64) { blockFileBytes = n }(blockFileBytes)
	blockFileBytes = 64 << 10
	defer func(d time.Duration) { reclaimRetry = d }(reclaimRetry)
	reclaimRetry = 20 * time.Millisecond
	const n, blockEvents = 2000, 64
	l := newRaceLog(t, Options{BlockEvents: blockEvents, PageEvents: 16, ManualSeal: true}, n)
	defer l.s.Close()
	ctx := context.Background()
	r, err := Open(l.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Reader() {
		t.Fatal("the second Open is not a reader")
	}
	before := diskUsage(t, filepath.Join(l.dir, "blocks"))
	if err := l.churn(ctx, 20, blockEvents); err != nil {
		t.Fatal(err)
	}
	if p, _ := l.s.PrunedBefore(ctx, "acme"); p < 1000 {
		t.Fatalf("pruned before %d", p)
	}
	rl := *l
	rl.s = r
	for _, org := range []string{"acme", "beta"} {
		if err := errors.Join(rl.checkWalk(ctx, org, audit.Asc), rl.checkRoot(ctx, org)); err != nil {
			t.Fatalf("the reader, after the owner pruned: %v", err)
		}
		if p, _ := r.PrunedBefore(ctx, org); p != 0 {
			t.Fatalf("the reader sees %s pruned before %d", org, p)
		}
	}
	if held := diskUsage(t, filepath.Join(l.dir, "blocks")); held < before {
		t.Fatalf("blocks gave %d bytes back while a reader was open", before-held)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		after := diskUsage(t, filepath.Join(l.dir, "blocks"))
		if after < before*70/100 {
			t.Logf("blocks: %d bytes on disk with the reader open, %d once it closed", before, after)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("blocks hold %d of %d bytes 10 s after the reader closed", after, before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, org := range []string{"acme", "beta"} {
		if err := errors.Join(l.checkWalk(ctx, org, audit.Asc), l.checkRoot(ctx, org)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenGivesBackRetiredSpace closes (as a crash would) a store whose
// retired blocks another process still held: their bytes stay on disk,
// and the next Open gives them back once that process is gone.
func TestOpenGivesBackRetiredSpace(t *testing.T) {
	defer func(n int64) { blockFileBytes = n }(blockFileBytes)
	blockFileBytes = 64 << 10
	const n, blockEvents = 2000, 64
	opts := Options{BlockEvents: blockEvents, PageEvents: 16, ManualSeal: true}
	l := newRaceLog(t, opts, n)
	ctx := context.Background()
	other, err := os.Open(filepath.Join(l.dir, ReadersFile)) // another process reading
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	blocks := filepath.Join(l.dir, "blocks")
	before := diskUsage(t, blocks)
	if err := l.churn(ctx, 20, blockEvents); err != nil {
		t.Fatal(err)
	}
	l.s.crash()
	if held := diskUsage(t, blocks); held < before {
		t.Fatalf("blocks gave %d bytes back while another process read them", before-held)
	}
	other.Close() // that process exits
	s, err := Open(l.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		after := diskUsage(t, blocks)
		if after < before*70/100 {
			t.Logf("blocks: %d bytes on disk before pruning, %d after the reopen", before, after)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("blocks hold %d of %d bytes 10 s after the reopen", after, before)
		}
	}
	rl := *l
	rl.s = s
	for _, org := range []string{"acme", "beta"} {
		if err := errors.Join(rl.checkWalk(ctx, org, audit.Asc), rl.checkRoot(ctx, org)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAwaitReleasedWakes has an erasure's wait for its old blocks
// (SaveErasure's awaitReleased) outlast a read that holds them: it returns
// when the read ends and the reclaimer gives them back, long before its
// limit, and it returns at once when its context is cancelled.
func TestAwaitReleasedWakes(t *testing.T) {
	const n, blockEvents = 256, 64
	l := newRaceLog(t, Options{BlockEvents: blockEvents, PageEvents: 16, ManualSeal: true}, n)
	defer l.s.Close()
	ctx := context.Background()
	const limit = time.Hour
	erase := func(seq int64) uint64 {
		t.Helper()
		pin := l.s.pinEpoch() // a read that began before the erasure
		if err := l.s.Redact(ctx, "acme", []audit.Redaction{l.redaction("acme", seq)}); err != nil {
			t.Fatal(err)
		}
		if held, _ := l.s.reclaim.heldUpTo(math.MaxUint64); !held {
			t.Fatal("the erasure's old block was released while a read held it")
		}
		return pin
	}

	pin := erase(3)
	done := make(chan error, 1)
	go func() { done <- l.s.awaitReleased(ctx, limit) }()
	select {
	case err := <-done:
		t.Fatalf("awaitReleased returned (%v) while a read held the old block", err)
	case <-time.After(50 * time.Millisecond):
	}
	l.s.unpinEpoch(pin)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("awaitReleased still waits 30 s after the read ended")
	}
	if held, _ := l.s.reclaim.heldUpTo(math.MaxUint64); held {
		t.Fatal("awaitReleased returned before the old block was released")
	}

	pin = erase(70)
	cctx, cancel := context.WithCancel(ctx)
	go func() { done <- l.s.awaitReleased(cctx, limit) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("awaitReleased with its context cancelled: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("awaitReleased still waits 30 s after its context was cancelled")
	}
	l.s.unpinEpoch(pin)
	if err := l.s.awaitReleased(ctx, limit); err != nil {
		t.Fatal(err)
	}
}
