// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

const checkUsage = `[--data DIR] [--org ORG]

Re-derives every org's Merkle tree from the stored bytes of its events and
compares it with the stored tree hashes and the last signed checkpoint (its
root and signature). Works while a server runs. Exit status 1 names each org
that does not match and the first event where it differs.`

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", checkUsage, stderr)
	data, storeURL := dataFlag(fs), storeFlag(fs)
	only := fs.String("org", "", "check only this `org`")
	signing := addSigningFlags(fs)
	store, err := parseAndOpen(ctx, fs, args, data, storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	integrity, err := signing.integrity(*data, false, nil)
	if err != nil {
		fmt.Fprintf(stderr, "trail check: %v: checkpoint signatures are not checked\n", err)
		integrity = audit.IntegrityConfig{}
	}
	svc := audit.NewService(audit.Config{Store: store, Logger: newLogger(io.Discard), Integrity: integrity})
	defer svc.Close()
	orgs, err := orgsToCheck(ctx, store, *only)
	if err != nil {
		return err
	}
	bad := 0
	tty := isTerminal(stderr)
	for _, org := range orgs {
		res, err := svc.CheckOrg(ctx, org, func(done, total int64) {
			if tty && total > 200000 {
				fmt.Fprintf(stderr, "\r%s: %d of %d events", org, done, total)
			}
		})
		if err != nil {
			return fmt.Errorf("checking %s: %w", org, err)
		}
		if tty && res.Size > 200000 {
			fmt.Fprintln(stderr)
		}
		if len(res.Problems) == 0 {
			cp := "no checkpoint yet"
			if res.Checkpoint > 0 {
				cp = fmt.Sprintf("matches its signed checkpoint of size %d", res.Checkpoint)
			}
			if res.Pruned > 0 {
				cp += fmt.Sprintf("; events 0 … %d were pruned by retention (their tree hashes are taken as stored)", res.Pruned-1)
			}
			fmt.Fprintf(stdout, "ok       %s: %d events, root %s, %s\n", org, res.Size, ledger.EncodeHash(res.Root), cp)
			continue
		}
		bad++
		for _, p := range res.Problems {
			fmt.Fprintf(stdout, "MISMATCH %s: %s\n", org, p)
		}
	}
	if bad > 0 {
		return exitError{1, fmt.Sprintf("%d of %d orgs do not match their stored tree or checkpoint: investigate before trusting them (docs/integrity.md)", bad, len(orgs))}
	}
	return nil
}

// orgsToCheck is every org with a log, or only, which must have one: a
// check of an org with no events (a typo) would "pass" having checked
// nothing.
func orgsToCheck(ctx context.Context, store audit.Store, only string) ([]string, error) {
	if only == "" {
		return store.Orgs(ctx)
	}
	n, err := store.Size(ctx, only)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, exitError{1, fmt.Sprintf("org %q has no log here: no events (check the name; trail orgs lists the orgs)", only)}
	}
	return []string{only}, nil
}
