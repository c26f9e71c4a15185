// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// retentionFlags are serve's retention settings (docs/retention.md).
type retentionFlags struct {
	retention string        // the policy of orgs that set none
	every     time.Duration // --prune-interval (serve only)
}

func (r *retentionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.retention, "retention", env("TRAIL_RETENTION", audit.RetentionForever),
		"how long events of orgs without a policy of their own are kept after received_at: `forever` or a whole number with s, m, h or d, e.g. 400d (env TRAIL_RETENTION)")
}

func (r *retentionFlags) registerInterval(fs *flag.FlagSet) {
	fs.DurationVar(&r.every, "prune-interval", time.Hour, "apply every org's retention policy this often (0: never; trail prune does it on demand)")
}

func (r *retentionFlags) check() error {
	if _, _, err := audit.ParseRetention(r.retention); err != nil {
		return usagef("--retention: %s", audit.ErrorMessage(err))
	}
	if r.every < 0 {
		return usagef("--prune-interval must not be negative")
	}
	return nil
}

// checkStore refuses a finite default retention on a store that cannot
// prune (the SQLite engine), naming the fix.
func (r *retentionFlags) checkStore(svc *audit.Service) error {
	if _, forever, _ := audit.ParseRetention(r.retention); !forever && !svc.CanPrune() {
		return fmt.Errorf("--retention %s: %s", r.retention, audit.ErrorMessage(audit.ErrCannotPrune))
	}
	return nil
}

// startPruner applies every org's policy every r.every until ctx ends.
func (r *retentionFlags) startPruner(ctx context.Context, svc *audit.Service, log *slog.Logger) {
	if r.every <= 0 || !svc.CanPrune() {
		return
	}
	go func() {
		t := time.NewTicker(r.every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			reps, err := svc.PruneAll(ctx, audit.Actor{})
			for _, rep := range reps {
				if rep.Removed.To > rep.Removed.From {
					log.Info("pruned", "org", rep.Org, "from_seq", rep.Removed.From, "to_seq", rep.Removed.To-1, "retention", rep.Policy.Retention)
				}
			}
			if err != nil && ctx.Err() == nil {
				log.Error("pruning", "err", err)
			}
		}
	}()
}

const pruneUsage = `[--data DIR] [--store log:DIR|postgres://…] [--org ORG] [--retention DEFAULT]

Applies the retention policy of every org (or of --org) now, as trail serve
does every --prune-interval: events received longer ago than the org's
retention are removed (whole blocks on the log engine: an event stays until
every event of its block is due; rows on PostgreSQL). Orgs under a legal
hold, or kept forever, are left alone. Each run that removes events is
recorded in the org's log (org.audit_log.prune). Exports then start at the
first kept seq and carry the compact range of the pruned ones, so they
still verify. The SQLite engine cannot prune: convert it with
trail migrate-store --from sqlite:DIR --to log:DIR. On a log-engine
directory a running trail serve prunes itself: stop it first.`

func runPrune(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("prune", pruneUsage, stderr)
	data, storeURL := dataFlag(fs), storeFlag(fs)
	only := fs.String("org", "", "prune only this `org`")
	var r retentionFlags
	r.register(fs)
	store, err := parseAndOpen(ctx, fs, args, data, storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := r.check(); err != nil {
		return err
	}
	svc := audit.NewService(audit.Config{Store: store, Logger: newLogger(io.Discard), Retention: r.retention})
	defer svc.Close()
	if !svc.CanPrune() {
		return exitError{1, audit.ErrorMessage(audit.ErrCannotPrune)}
	}
	var reps []audit.PruneReport
	if *only != "" {
		rep, err := svc.Prune(ctx, *only, audit.Actor{})
		if err != nil {
			return fmt.Errorf("%s: %s", *only, audit.ErrorMessage(err))
		}
		reps = append(reps, rep)
	} else if reps, err = svc.PruneAll(ctx, audit.Actor{}); err != nil {
		printPruned(stdout, reps)
		return err
	}
	printPruned(stdout, reps)
	return nil
}

func printPruned(w io.Writer, reps []audit.PruneReport) {
	for _, rep := range reps {
		switch {
		case rep.Skipped != "":
			fmt.Fprintf(w, "%s: kept (%s); first kept seq %d\n", rep.Org, rep.Skipped, rep.KeptFirst)
		case rep.Removed.To > rep.Removed.From:
			fmt.Fprintf(w, "%s: pruned events %d … %d (%d, retention %s, received before %s); first kept seq %d\n",
				rep.Org, rep.Removed.From, rep.Removed.To-1, rep.Removed.To-rep.Removed.From, rep.Policy.Retention, rep.Cutoff.Format(time.RFC3339), rep.KeptFirst)
		default:
			fmt.Fprintf(w, "%s: nothing due (retention %s); first kept seq %d\n", rep.Org, rep.Policy.Retention, rep.KeptFirst)
		}
	}
}

const eraseUsage = `--org ORG --user ID --reason TEXT [--data DIR] [--store log:DIR|postgres://…]

Erases a person from an org's events and waits until it is done: every
event where the user appears (as the actor, as a target of type user, or by
any name seen for that id in descriptions and metadata) is rewritten with
"[erased]" in place of their id and names, keeping the leaf hash of its
original bytes, so exports still verify (trail verify names the redacted
events). Their viewer links and sessions are deleted. The erasure is
recorded as an org.audit_log.erasure event with its id, the reason and the
count, naming no one (so do not name the person in --reason). Events added
later are not erased. On a log-engine directory served by a running trail
serve, use its API (POST /api/v1/orgs/ORG/erasures) instead. The SQLite
engine cannot erase: convert it with trail migrate-store --to log:DIR.`

func runErase(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("erase", eraseUsage, stderr)
	data, storeURL := dataFlag(fs), storeFlag(fs)
	org := fs.String("org", "", "the `org` whose events are rewritten")
	user := fs.String("user", "", "the `id` of the person to erase")
	reason := fs.String("reason", "", "why (recorded in the log; do not name the person)")
	store, err := parseAndOpen(ctx, fs, args, data, storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	if *org == "" || *user == "" || *reason == "" {
		return usagef("give --org, --user and --reason")
	}
	if r, ok := store.(interface{ Reader() bool }); ok && r.Reader() {
		return exitError{1, "a running trail serve owns this data directory: erase through its API (POST /api/v1/orgs/" + *org + "/erasures with an admin key), or stop it first"}
	}
	svc := audit.NewService(audit.Config{Store: store, Logger: newLogger(io.Discard)})
	defer svc.Close()
	actor := audit.Actor{Type: "system", ID: "trail-cli", Name: "trail erase (CLI)"}
	rec, err := svc.StartErasure(ctx, *org, *user, *reason, actor, true)
	if err != nil {
		return exitError{1, audit.ErrorMessage(err)}
	}
	if rec.State != audit.ErasureDone {
		return exitError{1, fmt.Sprintf("erasure %s %s: %s", rec.ID, rec.State, rec.Error)}
	}
	fmt.Fprintf(stdout, "erasure %s done: %d events of %s rewritten\n", rec.ID, rec.Events, *org)
	return nil
}
