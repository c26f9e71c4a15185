// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// crash stops s the way a killed process would: no close record, files
// closed without a sync.
func (s *Store) crash() {
	close(s.stop)
	s.done.Wait()
	s.closeFiles()
}

func testEvent(org string, n int) audit.Event {
	t0 := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	return audit.Event{
		ID: fmt.Sprintf("ev-%d", n), Org: org, Type: "repo.create", Category: "content",
		Actor:       audit.Actor{Type: "user", ID: "u-alice", Name: "alice"},
		Targets:     []audit.Target{{Type: "repo", ID: fmt.Sprint("r", n), Name: fmt.Sprintf("%s/model-%d", org, n)}},
		Description: fmt.Sprintf("alice created model %d", n),
		OccurredAt:  t0.Add(time.Duration(n) * time.Minute), ReceivedAt: t0.Add(time.Duration(n) * time.Minute),
	}
}

func pendingOf(ev audit.Event) *audit.Pending {
	return &audit.Pending{Event: ev, Hash: sha256.Sum256([]byte(ev.ID + ev.Description))}
}

// fill appends n events to each org, batches of 7, and returns the bytes
// acknowledged per org, by seq.
func fill(t *testing.T, s *Store, orgs []string, from, n int) map[string][][]byte {
	t.Helper()
	acked := map[string][][]byte{}
	for i := from; i < from+n; i += 7 {
		var bs []*audit.Batch
		for _, org := range orgs {
			b := &audit.Batch{Org: org}
			for j := i; j < min(i+7, from+n); j++ {
				b.Events = append(b.Events, pendingOf(testEvent(org, j)))
			}
			bs = append(bs, b)
		}
		if err := s.Append(context.Background(), bs); err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			if b.Err != nil {
				t.Fatal(b.Err)
			}
			for k, r := range b.Results {
				ev := b.Events[k].Event
				ev.Seq = r.Seq
				acked[b.Org] = append(acked[b.Org], ev.AppendCanonical(nil))
			}
		}
	}
	return acked
}

// wantLog checks that org holds exactly want, dense, with a tree that
// matches the bytes, and that retries of every event get its seq.
func wantLog(t *testing.T, s *Store, org string, want [][]byte) {
	t.Helper()
	ctx := context.Background()
	if n, _ := s.Size(ctx, org); n != int64(len(want)) {
		t.Fatalf("%s: Size = %d, want %d", org, n, len(want))
	}
	var got [][]byte
	if err := s.Scan(ctx, org, 0, 1<<40, audit.Filter{}, func(seq int64, data []byte) error {
		if seq != int64(len(got)) {
			return fmt.Errorf("seq %d after %d events", seq, len(got))
		}
		got = append(got, bytes.Clone(data))
		return nil
	}); err != nil {
		t.Fatalf("%s: Scan: %v", org, err)
	}
	e := &ledger.Edge{}
	for i := range want {
		if i >= len(got) || !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s seq %d: stored bytes differ from the acknowledged ones", org, i)
		}
		e.Append(nil, ledger.LeafHash(want[i]))
	}
	root, err := ledger.TreeHash(int64(len(want)), audit.HashReader(ctx, s, org))
	if err != nil || root != e.Root() {
		t.Fatalf("%s: root %x, %v; want %x", org, root, err, e.Root())
	}
	b := &audit.Batch{Org: org}
	var seqs []int64
	for i := 0; i < len(want); i += max(1, len(want)/20) {
		var id string
		json.Unmarshal(want[i], &struct{ ID *string }{&id})
		var n int
		fmt.Sscanf(id, "ev-%d", &n)
		b.Events = append(b.Events, pendingOf(testEvent(org, n)))
		seqs = append(seqs, int64(i))
	}
	if err := s.Append(ctx, []*audit.Batch{b}); err != nil || b.Err != nil {
		t.Fatalf("%s: retry: %v %v", org, err, b.Err)
	}
	for k, r := range b.Results {
		if r.Seq != seqs[k] {
			t.Errorf("%s: retry of %s got seq %d, want %d", org, r.ID, r.Seq, seqs[k])
		}
	}
}

var small = Options{BlockEvents: 50, PageEvents: 8, ManualSeal: true, SegmentBytes: 16 << 10}

func TestReopenAfterCloseAndCrash(t *testing.T) {
	defer func(n int) { maxHeaders = n }(maxHeaders)
	maxHeaders = 3 // headers are dropped and read again all the time
	orgs := []string{"acme", "beta"}
	for _, how := range []string{"close", "crash"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, small)
			if err != nil {
				t.Fatal(err)
			}
			acked := fill(t, s, orgs, 0, 230)
			if err := s.Seal(context.Background()); err != nil {
				t.Fatal(err)
			}
			for org, more := range fill(t, s, orgs, 230, 40) { // a tail left in the log
				acked[org] = append(acked[org], more...)
			}
			if how == "close" {
				s.Close()
			} else {
				s.crash()
			}
			for round := 0; round < 2; round++ {
				if s, err = Open(dir, small); err != nil {
					t.Fatalf("reopen %d: %v", round, err)
				}
				for _, org := range orgs {
					wantLog(t, s, org, acked[org])
				}
				s.crash()
			}
		})
	}
}

// lastSegment returns the path of the newest log segment holding records.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	nums, err := listSegments(filepath.Join(dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	for i := len(nums) - 1; i >= 0; i-- {
		p := filepath.Join(dir, "wal", segName(nums[i]))
		if fi, _ := os.Stat(p); fi.Size() > 0 {
			return p
		}
	}
	t.Fatal("no log segment holds records")
	return ""
}

func TestTornTailIsDropped(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, Options{ManualSeal: true})
	acked := fill(t, s, []string{"acme"}, 0, 30)
	fill(t, s, []string{"acme"}, 30, 7) // the group the crash tears
	s.crash()
	seg := lastSegment(t, dir)
	data, _ := os.ReadFile(seg)
	// Cut the last record (found by walking the frames) in its middle.
	off := 0
	for {
		_, n, err := readFrame(data[off:])
		if err != nil || off+n == len(data) {
			break
		}
		off += n
	}
	if err := os.Truncate(seg, int64(off+(len(data)-off)/2)); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{ManualSeal: true})
	if err != nil {
		t.Fatalf("Open after a torn write: %v", err)
	}
	defer s.Close()
	wantLog(t, s, "acme", acked["acme"])
	// New events follow the dropped ones densely.
	more := fill(t, s, []string{"acme"}, 100, 3)
	wantLog(t, s, "acme", append(acked["acme"], more["acme"]...))
}

func TestDamageToAcknowledgedRecordsIsReported(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(data []byte, first, second int)
	}{
		{"flipped byte", func(data []byte, first, second int) { data[first+second/2] ^= 0x40 }},
		{"zeroed page", func(data []byte, first, second int) {
			clear(data[first : first+min(4096, second)])
		}},
		{"last record before the close record", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := Open(dir, Options{ManualSeal: true})
			fill(t, s, []string{"acme"}, 0, 7)
			fill(t, s, []string{"acme"}, 7, 600) // the records to damage
			fill(t, s, []string{"acme"}, 607, 7)
			s.Close()
			seg := lastSegment(t, dir)
			data, _ := os.ReadFile(seg)
			_, first, _ := readFrame(data)
			_, second, _ := readFrame(data[first:])
			at := first // the damaged record's place
			if c.damage != nil {
				c.damage(data, first, second)
			} else {
				// The newest events record: the one before the close record.
				off, prev := 0, 0
				for off < len(data) {
					_, n, _ := readFrame(data[off:])
					prev, off = off, off+n
					if off+frameHeader+1 == len(data) {
						break
					}
				}
				data[prev+frameHeader+3] ^= 1
				at = prev
			}
			os.WriteFile(seg, data, 0o600)
			_, err := Open(dir, Options{ManualSeal: true})
			if err == nil {
				t.Fatal("Open of a log with damaged acknowledged records: no error")
			}
			if msg := audit.ErrorMessage(err); !strings.Contains(msg, fmt.Sprintf("damaged at byte %d ", at)) || !strings.Contains(msg, "org acme: seqs") {
				t.Errorf("error %q does not say the log is damaged at byte %d and which org and seqs", msg, at)
			}
			t.Log(audit.ErrorMessage(err))
			if after, _ := os.ReadFile(seg); !bytes.Equal(after, data) {
				t.Error("Open changed a damaged log")
			}
		})
	}
}

// TestReplayInPieces runs the replay tests with a read buffer smaller
// than any record, so that every record crosses the end of a read.
func TestReplayInPieces(t *testing.T) {
	defer func(n int) { replayRead = n }(replayRead)
	replayRead = 100
	t.Run("reopen", TestReopenAfterCloseAndCrash)
	t.Run("torn", TestTornTailIsDropped)
	t.Run("damage", TestDamageToAcknowledgedRecordsIsReported)
	t.Run("reader", TestReaderBesideOwner)
}

func TestDamagedBlockIsNamed(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, small)
	fill(t, s, []string{"acme"}, 0, 120)
	s.Seal(context.Background())
	s.Close()
	path := filepath.Join(dir, "blocks", blockFileName(0))
	data, _ := os.ReadFile(path)
	data[len(data)-10] ^= 0xff // in the last page of the last block
	os.WriteFile(path, data, 0o600)
	s, err := Open(dir, small)
	if err != nil {
		t.Fatalf("Open with a damaged block: %v", err)
	}
	defer s.Close()
	b := &audit.Batch{Org: "acme", Events: []*audit.Pending{pendingOf(testEvent("acme", 500))}}
	if err := s.Append(context.Background(), []*audit.Batch{b}); err != nil || audit.ErrorCode(b.Err) != audit.CodeUnavailable {
		t.Errorf("Append to an org with a damaged block: %v, batch %v; want the batch refused", err, b.Err)
	}
	if _, err := ledger.TreeHash(120, audit.HashReader(context.Background(), s, "acme")); err == nil {
		t.Error("the root of an org with a damaged block came out")
	}
	err = s.Scan(context.Background(), "acme", 0, 200, audit.Filter{}, func(int64, []byte) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "block of seqs 100…119") || !strings.Contains(err.Error(), "CRC") {
		t.Errorf("Scan over a damaged block: err = %v, want one naming the block's seqs and the CRC", err)
	}
}

// TestDamagedLastBlockParts: Open checks every part of an org's last
// block that a CRC covers without decompressing its pages; a flipped bit
// in its header, its id section or any of its pages (the first, a middle
// one, the last) keeps the org from taking appends, and the error names
// the block (and the page's seqs). An earlier block is not read at Open.
func TestDamagedLastBlockParts(t *testing.T) {
	base := t.TempDir()
	s, _ := Open(base, small)
	fill(t, s, []string{"acme", "other"}, 0, 120)
	s.Seal(context.Background())
	o := s.org("acme")
	last, first := o.blocks[len(o.blocks)-1], o.blocks[0]
	s.Close()
	path := filepath.Join("blocks", blockFileName(last.file))
	data, _ := os.ReadFile(filepath.Join(base, path))
	h, hl, err := decodeHeader(data[last.off:last.off+last.size], last.size)
	if err != nil || len(h.pages) < 3 {
		t.Fatalf("the last block's header: %v, %d pages", err, len(h.pages))
	}
	at := func(p int) int64 { return last.off + h.pages[p].off + h.pages[p].size/2 }
	for _, c := range []struct {
		name string
		off  int64
		want string
	}{
		{"header", last.off + blockPrefix + int64(hl)/2, "header CRC"},
		{"id section", last.off + h.idsOff(hl) + 2, "id section CRC"},
		{"pair filter", last.off + h.pairs.off + h.pairs.size/2, "pair filter CRC"},
		{"word dictionary", last.off + h.dict.off + h.dict.size/2, "word dictionary CRC"},
		{"columns", last.off + h.columns.off + h.columns.size/2, "columns CRC"},
		{"first page", at(0), fmt.Sprintf("page 0 (seqs %d…%d): page CRC", h.pages[0].first, h.pages[0].first+int64(h.pages[0].n)-1)},
		{"middle page", at(1), "page 1 (seqs"},
		{"last page", at(len(h.pages) - 1), fmt.Sprintf("page %d (seqs", len(h.pages)-1)},
		{"an earlier block", first.off + first.size - 3, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyFixture(t, base)
			damaged := bytes.Clone(data)
			damaged[c.off] ^= 0x10
			os.WriteFile(filepath.Join(dir, path), damaged, 0o600)
			s, err := Open(dir, small)
			if err != nil {
				t.Fatalf("Open with a damaged block: %v", err)
			}
			defer s.Close()
			b := &audit.Batch{Org: "acme", Events: []*audit.Pending{pendingOf(testEvent("acme", 500))}}
			if err := s.Append(context.Background(), []*audit.Batch{b}); err != nil {
				t.Fatal(err)
			}
			broken := s.org("acme").broken
			if c.want == "" {
				if b.Err != nil || broken != nil {
					t.Errorf("a damaged earlier block: append %v, broken %v; want the append taken (Open reads only the last block)", b.Err, broken)
				}
				return
			}
			if audit.ErrorCode(b.Err) != audit.CodeUnavailable {
				t.Errorf("Append to an org with a damaged last block: %v; want it refused", b.Err)
			}
			name := fmt.Sprintf("block of seqs %d…%d", last.first, last.first+last.n-1)
			if broken == nil || !strings.Contains(broken.Error(), name) || !strings.Contains(broken.Error(), c.want) {
				t.Errorf("the org's damage: %v; want it to name %q and %q", broken, name, c.want)
			}
			other := &audit.Batch{Org: "other", Events: []*audit.Pending{pendingOf(testEvent("other", 500))}}
			if err := s.Append(context.Background(), []*audit.Batch{other}); err != nil || other.Err != nil {
				t.Errorf("Append to an undamaged org: %v, %v", err, other.Err)
			}
		})
	}
}

// TestSealRacesBackgroundSealer: Seal and the background sealer asking
// for the same events seal them once.
func TestSealRacesBackgroundSealer(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{BlockEvents: 16, PageEvents: 4})
	if err != nil {
		t.Fatal(err)
	}
	var acked map[string][][]byte
	for round := 0; round < 20; round++ {
		more := fill(t, s, []string{"acme"}, round*50, 50)
		if acked == nil {
			acked = more
		} else {
			acked["acme"] = append(acked["acme"], more["acme"]...)
		}
		if err := s.Seal(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	wantLog(t, s, "acme", acked["acme"])
	s.Close()
	if s, err = Open(dir, Options{BlockEvents: 16, PageEvents: 4}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantLog(t, s, "acme", acked["acme"])
}

// TestDiskFullThenFsyncFailure: a failed write stores nothing and the
// next append works once space returns; a failed fdatasync stops every
// later acknowledgement until the store is reopened, and nothing
// acknowledged before is lost.
func TestDiskFullThenFsyncFailure(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, Options{ManualSeal: true})
	acked := fill(t, s, []string{"acme"}, 0, 10)
	ctx := context.Background()
	one := func(n int) (*audit.Batch, error) {
		b := &audit.Batch{Org: "acme", Events: []*audit.Pending{pendingOf(testEvent("acme", n))}}
		return b, s.Append(ctx, []*audit.Batch{b})
	}

	defer func(w func(*os.File, []byte) (int, error)) { writeFile = w }(writeFile)
	writeFile = func(f *os.File, b []byte) (int, error) {
		n, _ := f.Write(b[:len(b)/2]) // half a record reached the disk
		return n, syscall.ENOSPC
	}
	if _, err := one(100); audit.ErrorCode(err) != audit.CodeUnavailable {
		t.Fatalf("Append on a full disk: %v, want unavailable", err)
	}
	if n, _ := s.Size(ctx, "acme"); n != 10 {
		t.Fatalf("size after a failed write: %d, want 10", n)
	}
	writeFile = func(f *os.File, b []byte) (int, error) { return f.Write(b) }
	b, err := one(101)
	if err != nil || b.Results[0].Seq != 10 {
		t.Fatalf("Append once space returned: %v %+v, want seq 10", err, b.Results)
	}
	acked["acme"] = append(acked["acme"], canonicalOf(testEvent("acme", 101), 10))

	defer func(f func(*os.File) error) { fdatasync = f }(fdatasync)
	fdatasync = func(*os.File) error { return syscall.EIO }
	if _, err := one(102); audit.ErrorCode(err) != audit.CodeStoreFailed {
		t.Fatalf("Append with a failing fdatasync: %v, want store_failed", err)
	}
	fdatasync = func(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
	if _, err := one(103); audit.ErrorCode(err) != audit.CodeStoreFailed || !strings.Contains(audit.ErrorMessage(err), "until Trail restarts") {
		t.Fatalf("Append after an fdatasync failure: %v, want a refusal until restart", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after an fdatasync failure: nil, want an error (not ready)")
	}
	s.crash()
	if s, err = Open(dir, Options{ManualSeal: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The record whose sync failed may or may not be there (it was never
	// acknowledged); everything acknowledged is.
	n, _ := s.Size(ctx, "acme")
	if n != 11 && n != 12 {
		t.Fatalf("size after restart: %d, want 11 (or 12 with the unacknowledged record)", n)
	}
	for i, want := range acked["acme"] {
		if _, data, err := s.Event(ctx, "acme", eventID(want)); err != nil || !bytes.Equal(data, want) {
			t.Errorf("acknowledged event %d after restart: %v", i, err)
		}
	}
}

func canonicalOf(ev audit.Event, seq int64) []byte {
	ev.Seq = seq
	return ev.AppendCanonical(nil)
}

// TestReaderBesideOwner: a second Open of a directory in use reads what
// was acknowledged, while the owner keeps appending and sealing, and
// appends nothing.
func TestReaderBesideOwner(t *testing.T) {
	dir := t.TempDir()
	opts := Options{BlockEvents: 20, PageEvents: 4, SegmentBytes: 8 << 10, MaxSegments: 2}
	owner, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	acked := fill(t, owner, []string{"acme"}, 0, 100)
	done := make(chan struct{})
	go func() { // the owner goes on: appends, seals, removes segments
		defer close(done)
		fill(t, owner, []string{"acme"}, 1000, 300)
	}()
	for i := 0; i < 5; i++ {
		r, err := Open(dir, opts)
		if err != nil {
			t.Fatalf("reader %d: %v", i, err)
		}
		n, _ := r.Size(context.Background(), "acme")
		if n < 100 {
			t.Errorf("reader %d sees %d events, want at least the 100 acknowledged before it opened", i, n)
		}
		for j, want := range acked["acme"] {
			if _, data, err := r.Event(context.Background(), "acme", eventID(want)); err != nil || !bytes.Equal(data, want) {
				t.Fatalf("reader %d, event %d: %v", i, j, err)
			}
		}
		b := &audit.Batch{Org: "acme", Events: []*audit.Pending{pendingOf(testEvent("acme", 5000))}}
		if err := r.Append(context.Background(), []*audit.Batch{b}); audit.ErrorCode(err) != audit.CodeUnavailable {
			t.Errorf("reader Append: %v, want unavailable", err)
		}
		r.Close()
	}
	<-done
}

// TestImportThenRetry: imported events keep their seqs and bytes, and a
// retry of an imported id (same content hash) gets its seq, sealed or not.
func TestImportThenRetry(t *testing.T) {
	s, _ := Open(t.TempDir(), small)
	defer s.Close()
	ctx := context.Background()
	var evs []Imported
	var want [][]byte
	for i := range 120 {
		p := pendingOf(testEvent("acme", i))
		data := p.Encode(int64(i))
		evs = append(evs, Imported{Seq: int64(i), Data: data, Hash: p.Hash})
		want = append(want, data)
	}
	if err := s.Import(ctx, "acme", evs[:100]); err != nil {
		t.Fatal(err)
	}
	if err := s.Import(ctx, "acme", evs[101:]); err == nil {
		t.Fatal("Import leaving a gap: no error")
	}
	s.Seal(ctx)
	if err := s.Import(ctx, "acme", evs[100:]); err != nil {
		t.Fatal(err)
	}
	wantLog(t, s, "acme", want) // checks bytes, density, root and retries
}

// TestBlockFsyncFailure: a failed fdatasync of a block (while sealing)
// fails the store closed as a failed log sync does: the seal is not
// retried, every later append is refused until reopen, Ping fails, and
// after reopen every acknowledged event is there.
func TestBlockFsyncFailure(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, Options{ManualSeal: true})
	acked := fill(t, s, []string{"acme"}, 0, 10)
	ctx := context.Background()
	defer func(f func(*os.File) error) { fdatasync = f }(fdatasync)
	fdatasync = func(f *os.File) error {
		if strings.Contains(f.Name(), "blocks") {
			return syscall.EIO
		}
		return syscall.Fdatasync(int(f.Fd()))
	}
	if err := s.Seal(ctx); audit.ErrorCode(err) != audit.CodeStoreFailed {
		t.Fatalf("Seal with a failing block fdatasync: %v, want store_failed", err)
	}
	fdatasync = func(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
	b := &audit.Batch{Org: "acme", Events: []*audit.Pending{pendingOf(testEvent("acme", 100))}}
	if err := s.Append(ctx, []*audit.Batch{b}); !strings.Contains(audit.ErrorMessage(err), "until Trail restarts") {
		t.Fatalf("Append after a block fdatasync failure: %v, want a refusal until restart", err)
	}
	if err := s.Seal(ctx); err == nil {
		t.Error("Seal after a block fdatasync failure: nil, want the failure (never retried)")
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after a block fdatasync failure: nil, want an error (not ready)")
	}
	if n, _ := s.Size(ctx, "acme"); n != 10 {
		t.Errorf("reads after the failure: size %d, want 10", n)
	}
	s.crash()
	if s, err := Open(dir, Options{ManualSeal: true}); err != nil {
		t.Fatal(err)
	} else {
		defer s.Close()
		for i, want := range acked["acme"] {
			if _, data, err := s.Event(ctx, "acme", eventID(want)); err != nil || !bytes.Equal(data, want) {
				t.Errorf("acknowledged event %d after restart: %v", i, err)
			}
		}
	}
}

// TestSegReaderBounded: a frame length that says more than the segment
// holds (a damaged length: up to maxRecord, 1 GiB) reads what is left of
// the segment into a buffer of the usual size, not one of that length.
func TestSegReaderBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seg")
	want := bytes.Repeat([]byte("0123456789"), 100)
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defer func(n int) { replayRead = n }(replayRead)
	replayRead = 100 // so that the first read does not reach the end
	r := &segReader{f: f, size: int64(len(want))}
	off, err := r.have(0, frameHeader)
	if err != nil {
		t.Fatal(err)
	}
	if off, err = r.have(off+10, 1<<29); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.data[off:], want[10:]) {
		t.Errorf("read %d bytes, want the %d after the first 10", len(r.data[off:]), len(want)-10)
	}
	if cap(r.buf) > len(want) {
		t.Errorf("a %d-byte buffer for a %d-byte segment", cap(r.buf), len(want))
	}
}
