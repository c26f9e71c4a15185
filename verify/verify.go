// SPDX-License-Identifier: Apache-2.0

// Package verify checks Trail exports, checkpoints and proofs offline,
// with pure functions: no network, no clock, nothing but the bytes given
// and the verifier keys the caller trusts.
//
// An export is authentic when its checkpoint (a C2SP signed note) is signed
// by a trusted key, and intact when the exact bytes of its events, with
// the hashes of its integrity block, rebuild the checkpoint's RFC 6962
// root. Errors tell "the data does not match" (*MismatchError, naming the
// first event that does not) from "this is not a well-formed export"
// (*MalformedError); *UntrustedKeyError says everything matched but no
// trusted key was given.
package verify

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/trailaudit/trail/internal/ledger"
)

// Options say which keys to trust and what else to prove. The zero
// Options checks everything but authenticity.
type Options struct {
	// Keys are the trusted note verifier keys ("name+hash+key"). With
	// none, Verify checks the signature with the key the file names and
	// returns an *UntrustedKeyError along with the Result.
	Keys []string
	// Previous, if set, is an older signed checkpoint of the same log:
	// Verify also proves that the export's log extends it (nothing of it
	// deleted or rewritten).
	Previous string
	// Workers hash events in parallel; 0 means GOMAXPROCS.
	Workers int
	// Progress, if set, is called now and then with the events hashed so
	// far and their total.
	Progress func(done, total int)
}

// Result is what Verify proved.
type Result struct {
	Org         string
	Origin      string // the checkpoint's origin
	Size        int64  // N, the checkpoint's size
	Root        Hash   // the checkpoint's root
	Events      int    // events in the file, each proven at its seq
	Complete    bool   // the file holds every event 0 … N-1
	KeyName     string // the name of the key that signed the checkpoint
	Fingerprint string // of the verifier key that signed it
	Pinned      bool   // that key is one of Options.Keys
	// PreviousSize and PreviousRoot are set when Options.Previous was
	// proven to be extended by this log.
	PreviousSize int64
	PreviousRoot Hash
	// PrunedBefore is P when events 0 … P-1 were pruned: the compact
	// range of their leaves, with the kept events, gave the root.
	PrunedBefore int64
	// Redacted lists the events a person was erased from: each proven by
	// the leaf hash of its original bytes (its "redacted" object), not by
	// its present bytes.
	Redacted []RedactedEvent
}

// RedactedEvent names an event proven by its redacted leaf hash.
type RedactedEvent struct {
	Seq     int64
	ID      string
	At      string // when it was redacted
	Erasure string // the erasure's id
}

// Verify checks x against its signed checkpoint: the signature, the origin
// and size against the export's org and size, each event's place and exact
// bytes, and the root. On success with no trusted keys given it returns the
// Result and an *UntrustedKeyError.
func Verify(x *Export, opts Options) (*Result, error) {
	if x.Checkpoint == "" {
		return nil, &MalformedError{Offset: 0, Event: -1, Seq: -1, Detail: "the export carries no integrity block: export it from a Trail that signs checkpoints (with integrity=1 for NDJSON)"}
	}
	cp, signer, pinned, err := openCheckpoint(x.Checkpoint, x.VerifierKey, opts.Keys)
	if err != nil {
		return nil, err
	}
	res := &Result{Org: x.Org, Origin: cp.Origin, Size: cp.Size, Root: cp.Root, Events: len(x.Events),
		KeyName: signer.name, Fingerprint: ledger.Fingerprint(signer.key), Pinned: pinned}
	if !strings.HasSuffix(cp.Origin, "/orgs/"+x.Org) {
		return nil, mismatch("origin", "the checkpoint is for %q, not for org %q: it is another log's checkpoint", cp.Origin, x.Org)
	}
	if cp.Size != x.Size {
		return nil, mismatch("size", "the checkpoint has size %d but the export says size %d", cp.Size, x.Size)
	}
	var prev *ledger.Checkpoint
	if opts.Previous != "" {
		p, _, _, err := openCheckpoint(opts.Previous, signer.key, opts.Keys)
		if err != nil {
			return nil, prefixed("the previous checkpoint: ", err)
		}
		if p.Origin != cp.Origin {
			return nil, mismatch("previous", "the previous checkpoint is for %q, not %q", p.Origin, cp.Origin)
		}
		if p.Size > cp.Size {
			return nil, mismatch("previous", "the previous checkpoint has size %d, more than this export's %d: the log shrank", p.Size, cp.Size)
		}
		prev = &p
	}
	w, err := walk(x, prev)
	if err != nil {
		return nil, err
	}
	if err := checkLeaves(x, w, opts); err != nil {
		return nil, err
	}
	if w.orderErr != nil {
		return nil, w.orderErr
	}
	if x.Count >= 0 && x.Count != int64(len(x.Events)) {
		return nil, mismatch("count", "the export says it has %d events but holds %d", x.Count, len(x.Events))
	}
	if w.root != cp.Root {
		return nil, mismatch("root", "the events and the hashes of the integrity block give the root %s, but the checkpoint signed %s", ledger.EncodeHash(w.root), ledger.EncodeHash(cp.Root))
	}
	res.Complete = int64(len(x.Events)) == x.Size-x.PrunedBefore
	res.PrunedBefore = x.PrunedBefore
	res.Redacted = redactedEvents(x)
	if prev != nil {
		if !w.prevSeen && prev.Size < x.PrunedBefore {
			return nil, fmt.Errorf("cannot prove from this export that the log extends the previous checkpoint of size %d: events 0 … %d were pruned; ask the server for a consistency proof (GET /api/v1/orgs/%s/consistency?from=%d) and check it with verify.Consistency", prev.Size, x.PrunedBefore-1, x.Org, prev.Size)
		}
		if !w.prevSeen {
			return nil, errors.New("cannot prove that the log extends the previous checkpoint from this partial export: use a complete export")
		}
		if w.prevRoot != prev.Root {
			return nil, mismatch("previous", "the log's first %d events do not have the previous checkpoint's root: events were deleted or rewritten", prev.Size)
		}
		res.PreviousSize, res.PreviousRoot = prev.Size, prev.Root
	}
	if !pinned {
		return res, &UntrustedKeyError{Key: signer.key, Fingerprint: res.Fingerprint}
	}
	return res, nil
}

type keyInfo struct{ name, key string }

// openCheckpoint verifies a signed checkpoint with the trusted keys, or
// with the file's key when none are trusted.
func openCheckpoint(signed, fileKey string, trusted []string) (ledger.Checkpoint, keyInfo, bool, error) {
	keys, pinned := trusted, len(trusted) > 0
	if !pinned {
		if fileKey == "" {
			return ledger.Checkpoint{}, keyInfo{}, false, &MalformedError{Event: -1, Seq: -1, Detail: "no verifier key: none given and none in the file"}
		}
		keys = []string{fileKey}
	}
	vs, err := ledger.Verifiers(keys...)
	if err != nil {
		return ledger.Checkpoint{}, keyInfo{}, false, &MalformedError{Event: -1, Seq: -1, Detail: err.Error()}
	}
	c, n, err := ledger.OpenCheckpoint(signed, vs)
	var unknown *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unknown):
		names := []string{}
		for _, s := range unknown.Note.UnverifiedSigs {
			names = append(names, s.Name)
		}
		return c, keyInfo{}, false, mismatch("signature", "the checkpoint is not signed by a trusted key (its signatures are by %s)", strings.Join(names, ", "))
	case errors.As(err, &invalid):
		return c, keyInfo{}, false, mismatch("signature", "the checkpoint's signature by key %s does not verify: the checkpoint was altered", invalid.Name)
	case err != nil:
		return c, keyInfo{}, false, &MalformedError{Event: -1, Seq: -1, Detail: "the checkpoint is not a signed C2SP checkpoint: " + err.Error()}
	}
	sig := n.Sigs[0]
	for _, k := range keys {
		if v, err := note.NewVerifier(k); err == nil && v.Name() == sig.Name && v.KeyHash() == sig.Hash {
			return c, keyInfo{sig.Name, strings.TrimSpace(k)}, pinned, nil
		}
	}
	return c, keyInfo{name: sig.Name}, pinned, nil
}

func prefixed(p string, err error) error {
	var m *MismatchError
	if errors.As(err, &m) {
		c := *m
		c.Detail = p + c.Detail
		return &c
	}
	var mf *MalformedError
	if errors.As(err, &mf) {
		c := *mf
		c.Detail = p + c.Detail
		return &c
	}
	return err
}

// walked is what the sequential pass over the events found.
type walked struct {
	leafAt   []int // index in x.Hashes of each event's leaf hash; nil: i
	upTo     int   // events before this one are in order
	orderErr error // the first order error, at event upTo
	root     Hash
	prevSeen bool
	prevRoot Hash
}

// walk checks the events' order and rebuilds the root from the listed
// hashes (leaves and covering subtrees), noting where each event's leaf
// hash is listed.
func walk(x *Export, prev *ledger.Checkpoint) (*walked, error) {
	w := &walked{upTo: len(x.Events)}
	b, err := ledger.NewPrunedBuilder(x.PrunedBefore, x.Pruned)
	if err != nil {
		return nil, mismatch("pruned", "integrity.pruned: %v", err)
	}
	pos := 0
	var nodes []ledger.Node
	take := func() (Hash, error) {
		if pos >= len(x.Hashes) {
			return Hash{}, mismatch("root", "the integrity block lists %d hashes, too few for these events and size %d", len(x.Hashes), x.Size)
		}
		pos++
		return x.Hashes[pos-1], nil
	}
	snap := func() {
		if prev != nil && !w.prevSeen && b.Size() == prev.Size {
			w.prevSeen, w.prevRoot = true, b.Root()
		}
	}
	cover := func(from, to int64) error {
		nodes = ledger.Cover(nodes[:0], from, to)
		for _, n := range nodes {
			h, err := take()
			if err != nil {
				return err
			}
			snap()
			if err := b.AddNode(n.Level, h); err != nil {
				return err
			}
		}
		return nil
	}
	complete := x.Filter == ""
	dense := true
	next := x.PrunedBefore
	for i := range x.Events {
		e := &x.Events[i]
		if err := orderError(x, i, next, complete); err != nil {
			w.upTo, w.orderErr = i, err
			break
		}
		if e.Seq != int64(i)+x.PrunedBefore {
			dense = false
		}
		if err := cover(next, e.Seq); err != nil {
			return nil, err
		}
		if !dense && w.leafAt == nil {
			w.leafAt = make([]int, i, len(x.Events))
			for j := range w.leafAt {
				w.leafAt[j] = j
			}
		}
		if w.leafAt != nil {
			w.leafAt = append(w.leafAt, pos)
		}
		h, err := take()
		if err != nil {
			return nil, err
		}
		snap()
		b.AddLeaf(h)
		next = e.Seq + 1
	}
	if w.orderErr != nil {
		return w, nil
	}
	if complete && next != x.Size {
		w.upTo = len(x.Events)
		w.orderErr = &MismatchError{Check: "missing", Seq: next, Detail: sprintf("the export has no filter but ends before this seq (after %s): events %d … %d are missing", lastEvent(x), next, x.Size-1)}
		return w, nil
	}
	if err := cover(next, x.Size); err != nil {
		return nil, err
	}
	snap()
	if pos != len(x.Hashes) {
		return nil, mismatch("root", "the integrity block lists %d hashes; these events and size %d use %d", len(x.Hashes), x.Size, pos)
	}
	w.root = b.Root()
	return w, nil
}

func lastEvent(x *Export) string {
	if len(x.Events) == 0 {
		return "no event"
	}
	e := x.Events[len(x.Events)-1]
	return sprintf("event seq %d id %q", e.Seq, e.ID())
}

// orderError checks event i's seq: increasing, below the size, and for a
// complete (unfiltered) export exactly the next one.
func orderError(x *Export, i int, next int64, complete bool) error {
	e := x.Events[i]
	if e.Seq >= next && e.Seq < x.Size && (!complete || e.Seq == next) {
		return nil
	}
	after := "at the start"
	if i > 0 {
		p := x.Events[i-1]
		after = sprintf("after event seq %d (id %q)", p.Seq, p.ID())
	}
	switch {
	case e.Seq < x.PrunedBefore:
		return &MismatchError{Check: "order", Seq: e.Seq, ID: e.ID(), Detail: sprintf("the export says events before seq %d were pruned, but holds this one", x.PrunedBefore)}
	case e.Seq < next:
		return &MismatchError{Check: "order", Seq: e.Seq, ID: e.ID(), Detail: sprintf("out of place %s: seqs must increase (an event moved, repeated or inserted)", after)}
	case e.Seq >= x.Size:
		return &MismatchError{Check: "order", Seq: e.Seq, ID: e.ID(), Detail: sprintf("the export covers seqs 0 … %d only", x.Size-1)}
	}
	return &MismatchError{Check: "missing", Seq: next, Detail: sprintf("missing: the export has no filter, but event seq %d (id %q) comes %s", e.Seq, e.ID(), after)}
}

// checkLeaves hashes the events before w.upTo in parallel and compares each
// with its listed leaf hash; it returns the first that differs.
func checkLeaves(x *Export, w *walked, opts Options) error {
	n := w.upTo
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	const chunk = 8192
	var mu sync.Mutex
	first := n // the first bad event found
	var done int
	var wg sync.WaitGroup
	next := make(chan int, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range next {
				hi := min(lo+chunk, n)
				bad := -1
				for i := lo; i < hi; i++ {
					at := i
					if w.leafAt != nil {
						at = w.leafAt[i]
					}
					var h Hash
					if x.leaves != nil {
						h = x.leaves[i]
					} else {
						h, _ = ledger.EventLeaf(x.Events[i].Data)
					}
					if h != x.Hashes[at] {
						bad = i
						break
					}
				}
				mu.Lock()
				if bad >= 0 && bad < first {
					first = bad
				}
				done += hi - lo
				if opts.Progress != nil {
					opts.Progress(done, n)
				}
				mu.Unlock()
			}
		}()
	}
	for lo := 0; lo < n; lo += chunk {
		mu.Lock()
		stop := first < lo
		mu.Unlock()
		if stop {
			break
		}
		next <- lo
	}
	close(next)
	wg.Wait()
	if first < n {
		e := x.Events[first]
		return &MismatchError{Check: "event", Seq: e.Seq, ID: e.ID(), Detail: "its bytes do not hash to the leaf hash the log holds for this seq: the event was altered"}
	}
	return nil
}

// redactedEvents lists the events that stand in the tree by their
// redacted leaf hash.
func redactedEvents(x *Export) []RedactedEvent {
	var out []RedactedEvent
	for _, e := range x.Events {
		if _, at, erasure, ok := ledger.Redacted(e.Data); ok {
			out = append(out, RedactedEvent{Seq: e.Seq, ID: e.ID(), At: at, Erasure: erasure})
		}
	}
	return out
}
