// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Pruning (issue 11) removes an org's oldest events once their
// received_at is older than the org's retention, in the engine's units:
// whole blocks on the log engine (an event stays until every event of its
// block is due), rows and emptied partitions on PostgreSQL. The Merkle
// tree is kept: the hashes of the pruned leaves stay, so roots, the
// compact range of [0, P) that exports carry, and consistency proofs from
// checkpoints older than the pruning point still work.

// Pruner is implemented by the engines that can prune (the log engine and
// PostgreSQL; the SQLite engine cannot: convert it with trail
// migrate-store --to log:DIR).
type Pruner interface {
	// PrunedBefore returns P: org's events 0 … P-1 were pruned (0: none).
	PrunedBefore(ctx context.Context, org string) (int64, error)
	// Prune removes org's oldest events received before cutoff, as far as
	// the engine's unit allows, and returns the seqs removed, [From, To)
	// (From == To: none). Events are removed from the oldest on only, so
	// the kept events are always seqs P … size-1.
	Prune(ctx context.Context, org string, cutoff time.Time) (PruneResult, error)
}

// PruneResult is what one pruning of an org removed: seqs [From, To).
type PruneResult struct {
	From, To int64
}

// ErrCannotPrune is the error of a retention that the store cannot apply.
var ErrCannotPrune = &Error{Code: CodeInvalid, Message: "retention: this store (the SQLite engine) cannot prune events; keep retention \"forever\", or convert the data directory to the log engine with `trail migrate-store --from sqlite:DIR --to log:DIR` and serve with --store log:DIR"}

// CanPrune reports whether the store can prune.
func (s *Service) CanPrune() bool {
	_, ok := s.store.(Pruner)
	return ok
}

// PrunedBefore returns P for org: events 0 … P-1 were pruned.
func (s *Service) PrunedBefore(ctx context.Context, org string) (int64, error) {
	p, ok := s.store.(Pruner)
	if !ok {
		return 0, nil
	}
	return p.PrunedBefore(ctx, org)
}

// PruneReport is what a pruning run of one org did.
type PruneReport struct {
	Org       string
	Policy    Policy
	Cutoff    time.Time // events received before it were due
	Removed   PruneResult
	Skipped   string // why nothing was tried: "forever", "legal hold"
	Logged    Ack    // the org.audit_log.prune event, when events were removed
	KeptFirst int64  // P after the run
}

// Prune applies org's policy once: under a legal hold or a retention of
// forever nothing happens; else the events received before now minus the
// retention are pruned and, when any were, an org.audit_log.prune event
// is recorded by actor (Trail's system actor when zero).
func (s *Service) Prune(ctx context.Context, org string, actor Actor) (PruneReport, error) {
	rep := PruneReport{Org: org}
	pol, err := s.Policy(ctx, org)
	if err != nil {
		return rep, err
	}
	rep.Policy = pol
	d, forever, err := ParseRetention(pol.Retention)
	switch {
	case err != nil:
		return rep, err
	case pol.LegalHold:
		rep.Skipped = "legal hold"
	case forever:
		rep.Skipped = "forever"
	}
	pr, ok := s.store.(Pruner)
	if rep.Skipped == "" && !ok {
		return rep, ErrCannotPrune
	}
	if rep.Skipped != "" {
		rep.KeptFirst, err = s.PrunedBefore(ctx, org)
		return rep, err
	}
	rep.Cutoff = s.now().UTC().Add(-d).Truncate(time.Microsecond)
	if rep.Removed, err = pr.Prune(ctx, org, rep.Cutoff); err != nil {
		return rep, err
	}
	rep.KeptFirst = rep.Removed.To
	if rep.Removed.To == rep.Removed.From {
		rep.KeptFirst, err = pr.PrunedBefore(ctx, org)
		return rep, err
	}
	if actor == (Actor{}) {
		actor = Actor{Type: "system", ID: "trail", Name: "Trail retention"}
	}
	meta := map[string]any{
		"events":    json.Number(strconv.FormatInt(rep.Removed.To-rep.Removed.From, 10)),
		"from_seq":  json.Number(strconv.FormatInt(rep.Removed.From, 10)),
		"to_seq":    json.Number(strconv.FormatInt(rep.Removed.To-1, 10)),
		"retention": pol.Retention,
		"cutoff":    rep.Cutoff.Format(TimeFormat),
	}
	rep.Logged, err = s.Record(ctx, org, "org.audit_log.prune", actor, meta)
	return rep, err
}

// PruneAll applies every org's policy once (see Prune) and returns what
// was done; one org's failure does not stop the others.
func (s *Service) PruneAll(ctx context.Context, actor Actor) ([]PruneReport, error) {
	orgs, err := s.store.Orgs(ctx)
	if err != nil {
		return nil, err
	}
	var out []PruneReport
	var errs []error
	for _, org := range orgs {
		rep, err := s.Prune(ctx, org, actor)
		if err != nil {
			errs = append(errs, errors.New(org+": "+ErrorMessage(err)))
			s.log.Error("pruning failed", "org", org, "err", err)
			continue
		}
		out = append(out, rep)
	}
	return out, errors.Join(errs...)
}
