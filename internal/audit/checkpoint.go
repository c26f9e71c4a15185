// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/trailaudit/trail/internal/ledger"
)

// CodeQuarantined refuses writes to an org whose stored tree does not
// match its last signed checkpoint: its log is read-only until an operator
// has investigated (see docs/integrity.md).
const CodeQuarantined Code = "quarantined"

// DefaultCheckpointEvery is how often, at most, the background signer
// signs a new checkpoint of an org that grew.
const DefaultCheckpointEvery = 5 * time.Second

// IntegrityConfig configures checkpoint signing; see Config.Integrity.
type IntegrityConfig struct {
	// Signer signs checkpoints. Nil: Trail signs nothing, exports carry no
	// integrity block and the integrity routes answer 503.
	Signer *ledger.Signer
	// Host is the checkpoint origin's host: origins are "<Host>/orgs/<org>".
	// Default: the signer key's name.
	Host string
	// Trusted are earlier verifier keys (before rotations) still valid for
	// what they signed.
	Trusted []string
	// Every is the background signer's period; default
	// DefaultCheckpointEvery.
	Every time.Duration
}

// integrity is the Service's checkpoint state.
type integrity struct {
	cfg        IntegrityConfig
	verifiers  note.Verifiers
	mu         sync.Mutex
	dirty      map[string]bool   // orgs that committed since their last checkpoint
	quarantine map[string]string // org → reason
}

func newIntegrity(cfg IntegrityConfig, log *slog.Logger) *integrity {
	in := &integrity{cfg: cfg, dirty: map[string]bool{}, quarantine: map[string]string{}}
	if in.cfg.Every <= 0 {
		in.cfg.Every = DefaultCheckpointEvery
	}
	var keys []string
	for _, k := range cfg.Trusted {
		if _, err := ledger.Verifiers(k); err != nil {
			log.Warn("ignoring a trusted verifier key", "err", err)
			continue
		}
		keys = append(keys, k)
	}
	if cfg.Signer != nil {
		if in.cfg.Host == "" {
			in.cfg.Host = cfg.Signer.Name()
		}
		keys = append(keys, cfg.Signer.VerifierKey())
	}
	in.verifiers, _ = ledger.Verifiers(keys...)
	return in
}

func (in *integrity) committed(batches []*Batch) {
	in.mu.Lock()
	for _, b := range batches {
		if b.Err == nil {
			in.dirty[b.Org] = true
		}
	}
	in.mu.Unlock()
}

func (in *integrity) quarantined(org string) error {
	in.mu.Lock()
	reason, ok := in.quarantine[org]
	in.mu.Unlock()
	if !ok {
		return nil
	}
	return Errorf(CodeQuarantined, "the log of org %s is quarantined (read-only): %s; an operator must investigate (trail check)", org, reason)
}

var errNoSigner = Errorf(CodeUnavailable, "this Trail signs no checkpoints (no signing key)")

// VerifierKey returns the note verifier key of the current signing key,
// or "" when Trail signs nothing.
func (s *Service) VerifierKey() string {
	if s.integ.cfg.Signer == nil {
		return ""
	}
	return s.integ.cfg.Signer.VerifierKey()
}

// TrustedKeys returns the earlier verifier keys still valid for what they
// signed.
func (s *Service) TrustedKeys() []string { return s.integ.cfg.Trusted }

// Origin returns the checkpoint origin of org's log.
func (s *Service) Origin(org string) string { return ledger.Origin(s.integ.cfg.Host, org) }

// Quarantined returns the error that refuses writes to org, or nil.
func (s *Service) Quarantined(org string) error { return s.integ.quarantined(org) }

// QuarantinedOrgs returns the quarantined orgs and why, sorted by org.
func (s *Service) QuarantinedOrgs() [][2]string {
	s.integ.mu.Lock()
	defer s.integ.mu.Unlock()
	var out [][2]string
	for org, why := range s.integ.quarantine {
		out = append(out, [2]string{org, why})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// Quarantine makes org's log read-only for this process.
func (s *Service) Quarantine(org, reason string) {
	s.integ.mu.Lock()
	s.integ.quarantine[org] = reason
	s.integ.mu.Unlock()
	s.log.Error("org quarantined: its stored tree does not match its last signed checkpoint; writes are refused",
		"org", org, "reason", reason)
}

// CheckpointAt returns a checkpoint of org's log at exactly size n (at
// most the committed size), signing one when the kept checkpoint is not
// of that size. A new checkpoint is kept only if it is the largest.
func (s *Service) CheckpointAt(ctx context.Context, org string, n int64) (SignedCheckpoint, error) {
	signer := s.integ.cfg.Signer
	if signer == nil {
		return SignedCheckpoint{}, errNoSigner
	}
	if err := s.integ.quarantined(org); err != nil {
		return SignedCheckpoint{}, err
	}
	if kept, err := s.store.LatestCheckpoint(ctx, org); err == nil && kept.Size == n {
		return kept, nil
	} else if err != nil && ErrorCode(err) != CodeNotFound {
		return SignedCheckpoint{}, err
	}
	root, err := ledger.TreeHash(n, HashReader(ctx, s.store, org))
	if err != nil {
		return SignedCheckpoint{}, fmt.Errorf("audit: computing the root of %s at %d: %w", org, n, err)
	}
	text, err := signer.Sign(ledger.Checkpoint{Origin: s.Origin(org), Size: n, Root: root})
	if err != nil {
		return SignedCheckpoint{}, err
	}
	cp := SignedCheckpoint{Size: n, Root: root, Note: text, SignedAt: s.now().UTC().Truncate(time.Microsecond)}
	if n > 0 {
		if _, err := s.store.SaveCheckpoint(ctx, org, cp); err != nil {
			return SignedCheckpoint{}, err
		}
	}
	return cp, nil
}

// LatestCheckpoint returns org's latest signed checkpoint. When none is
// kept, or the kept one is behind the committed size and older than
// IntegrityConfig.Every, it signs one now (so reads sign at most once per
// period and org).
func (s *Service) LatestCheckpoint(ctx context.Context, org string) (SignedCheckpoint, error) {
	if s.integ.cfg.Signer == nil {
		return SignedCheckpoint{}, errNoSigner
	}
	kept, err := s.store.LatestCheckpoint(ctx, org)
	if err != nil && ErrorCode(err) != CodeNotFound {
		return SignedCheckpoint{}, err
	}
	size, err := s.store.Size(ctx, org)
	if err != nil {
		return SignedCheckpoint{}, err
	}
	if kept.Note != "" && (kept.Size == size || s.now().Sub(kept.SignedAt) < s.integ.cfg.Every) {
		return kept, nil
	}
	if qerr := s.integ.quarantined(org); qerr != nil {
		if kept.Note != "" {
			return kept, nil // the last good checkpoint
		}
		return SignedCheckpoint{}, qerr
	}
	return s.CheckpointAt(ctx, org, size)
}

// SignCheckpoints signs, every IntegrityConfig.Every, a checkpoint of each
// org that committed events since its last one, until ctx is done. Only
// committed state is signed: the size comes from the store. Orgs this
// service wrote to are known at once; every sweepTicks periods a sweep
// also finds orgs that other processes on the same store grew (trail
// export beside the server, other replicas, migrations).
func (s *Service) SignCheckpoints(ctx context.Context) {
	if s.integ.cfg.Signer == nil {
		return
	}
	t := time.NewTicker(s.integ.cfg.Every)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.integ.mu.Lock()
		dirty := s.integ.dirty
		s.integ.dirty = map[string]bool{}
		s.integ.mu.Unlock()
		if tick%sweepTicks == 0 {
			s.addGrownOrgs(ctx, dirty) // sweep.go
		}
		for org := range dirty {
			if s.integ.quarantined(org) != nil {
				continue
			}
			size, err := s.store.Size(ctx, org)
			if err == nil {
				_, err = s.CheckpointAt(ctx, org, size)
			}
			if err != nil && ctx.Err() == nil {
				s.log.Warn("signing checkpoint failed", "org", org, "err", err)
				s.integ.mu.Lock()
				s.integ.dirty[org] = true
				s.integ.mu.Unlock()
			}
		}
	}
}

// Inclusion is an event's inclusion proof in a signed checkpoint.
type Inclusion struct {
	Seq        int64
	Data       []byte // the event's exact stored bytes
	LeafHash   ledger.Hash
	Checkpoint SignedCheckpoint
	Proof      []ledger.Hash
}

// Prove returns the inclusion proof of org's event id in the latest
// checkpoint, signing a checkpoint now if the event is newer than it.
func (s *Service) Prove(ctx context.Context, org, id string) (Inclusion, error) {
	seq, data, err := s.store.Event(ctx, org, id)
	if err != nil {
		return Inclusion{}, err
	}
	cp, err := s.LatestCheckpoint(ctx, org)
	if err != nil {
		return Inclusion{}, err
	}
	if cp.Size <= seq {
		size, err := s.store.Size(ctx, org)
		if err != nil {
			return Inclusion{}, err
		}
		if cp, err = s.CheckpointAt(ctx, org, size); err != nil {
			return Inclusion{}, err
		}
	}
	proof, err := ledger.ProveInclusion(seq, cp.Size, HashReader(ctx, s.store, org))
	if err != nil {
		return Inclusion{}, err
	}
	leaf, _ := ledger.EventLeaf(data) // a redacted event stands by its original leaf
	return Inclusion{Seq: seq, Data: data, LeafHash: leaf, Checkpoint: cp, Proof: proof}, nil
}

// Consistency returns the consistency proof that org's tree of size to
// extends the tree of size from. to < 0 means the latest checkpoint's size.
func (s *Service) Consistency(ctx context.Context, org string, from, to int64) (int64, []ledger.Hash, error) {
	if to < 0 {
		cp, err := s.LatestCheckpoint(ctx, org)
		if err != nil {
			return 0, nil, err
		}
		to = cp.Size
	}
	size, err := s.store.Size(ctx, org)
	if err != nil {
		return 0, nil, err
	}
	if from < 0 || from > to || to > size {
		return 0, nil, Errorf(CodeInvalid, "need 0 <= from <= to <= %d (the log's size); got from=%d to=%d", size, from, to)
	}
	p, err := ledger.ProveConsistency(from, to, HashReader(ctx, s.store, org))
	return to, p, err
}

// CheckStoredRoots compares each org's stored tree with its last signed
// checkpoint and quarantines every org that does not match (a log shorter
// than the checkpoint, another root, a signature that does not verify).
// It returns the orgs it quarantined.
func (s *Service) CheckStoredRoots(ctx context.Context) ([]string, error) {
	orgs, err := s.store.Orgs(ctx)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, org := range orgs {
		reason, err := s.checkStoredRoot(ctx, org)
		if err != nil {
			return bad, err
		}
		if reason != "" {
			s.Quarantine(org, reason)
			bad = append(bad, org)
		}
	}
	return bad, nil
}

func (s *Service) checkStoredRoot(ctx context.Context, org string) (string, error) {
	cp, err := s.store.LatestCheckpoint(ctx, org)
	if ErrorCode(err) == CodeNotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	size, err := s.store.Size(ctx, org)
	if err != nil {
		return "", err
	}
	if size < cp.Size {
		return fmt.Sprintf("the log has %d events but its last checkpoint has %d", size, cp.Size), nil
	}
	root, err := ledger.TreeHash(cp.Size, HashReader(ctx, s.store, org))
	if err != nil {
		return fmt.Sprintf("the stored tree cannot give the root at %d: %v", cp.Size, err), nil
	}
	if root != cp.Root {
		return fmt.Sprintf("the stored root at size %d is %s but the checkpoint signed %s", cp.Size, ledger.EncodeHash(root), ledger.EncodeHash(cp.Root)), nil
	}
	return checkNote(cp, s.integ.verifiers, s.Origin(org), s.log), nil
}

// checkNote checks that a kept checkpoint's note says what the row says and
// is signed by a known key. A note signed by an unknown key is only logged:
// the operator may have replaced the key without keeping the old one.
func checkNote(cp SignedCheckpoint, vs note.Verifiers, origin string, log *slog.Logger) string {
	c, _, err := ledger.OpenCheckpoint(cp.Note, vs)
	if _, unknown := err.(*note.UnverifiedNoteError); unknown {
		log.Warn("the last checkpoint is signed by a key this server does not know; add the old verifier key to the trusted keys", "origin", origin)
		text, _, _ := ledger.SplitNote(cp.Note)
		c, err = ledger.ParseCheckpoint(text)
	}
	if err != nil {
		return "the last checkpoint's note does not verify: " + err.Error()
	}
	if c.Size != cp.Size || c.Root != cp.Root {
		return "the last checkpoint's note does not match its stored size and root"
	}
	return ""
}
