// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/httpx"
)

const demoOrg = "acme"

// loadDemo loads the demo org's history unless it has events already, then
// prints keys and what to try. Secrets go to stdout only, never the log.
func loadDemo(ctx context.Context, svc *audit.Service, base string, stdout io.Writer, log *slog.Logger) error {
	store := svc.Store()
	size, err := store.Size(ctx, demoOrg)
	if err != nil {
		return err
	}
	incomplete := false
	if size == 0 {
		start := time.Now()
		n := 0
		for batch := range demo.Batches(demo.Options{Org: demoOrg}) {
			if _, err := svc.Ingest(ctx, demoOrg, batch); err != nil {
				if ctx.Err() != nil {
					log.Warn("stopped while loading the demo data: the demo org is incomplete; start with an empty data directory to load all of it", "org", demoOrg, "events", n)
					return errDemoInterrupted
				}
				return fmt.Errorf("loading demo data: %w", err)
			}
			n += len(batch)
		}
		log.Info("demo org loaded", "org", demoOrg, "events", n, "took_ms", httpx.Millis(time.Since(start)))
		if a, ok := store.(interface{ Analyze(context.Context) error }); ok {
			if err := a.Analyze(ctx); err != nil {
				return err
			}
		}
	} else if incomplete, err = demoIncomplete(ctx, store); err != nil {
		return err
	} else if incomplete {
		log.Warn("demo org incomplete: its first load was interrupted; nothing added; start with an empty data directory to load all of it", "org", demoOrg, "events", size)
	} else {
		log.Info("demo org already present; nothing added", "org", demoOrg, "events", size)
	}
	revoked, err := revokeDemoKeys(ctx, store)
	if err != nil {
		return err
	}
	if revoked > 0 {
		log.Info("revoked the demo keys of the previous start", "org", demoOrg, "keys", revoked)
	}
	_, read, err := createKey(ctx, store, audit.ScopeRead, demoOrg, demoReadKey, time.Time{})
	if err != nil {
		return err
	}
	_, ingest, err := createKey(ctx, store, audit.ScopeIngest, demoOrg, demoIngestKey, time.Time{})
	if err != nil {
		return err
	}
	size, _ = store.Size(ctx, demoOrg)
	note := ""
	if incomplete {
		note = "\nThe demo org is incomplete: its first load was interrupted. Start with an empty --data\ndirectory to load all of it.\n"
	}
	fmt.Fprintf(stdout, `
Trail is running at %[1]s with the demo org %[2]q (%[3]d events).%[6]s
Keys for %[2]s (shown once, not logged):
  read:   %[4]s
  ingest: %[5]s

Try:
  curl -s -H 'Authorization: Bearer %[4]s' '%[1]s/api/v1/orgs/%[2]s/events?limit=3&q=type:org.change_role'
  curl -s -H 'Authorization: Bearer %[4]s' '%[1]s/api/v1/orgs/%[2]s/events?q=category:billing+-actor:alice'
  curl -s -OJ -H 'Authorization: Bearer %[4]s' '%[1]s/api/v1/orgs/%[2]s/export?format=json'
  curl -s -H 'Authorization: Bearer %[5]s' -H 'Content-Type: application/json' \
    -d '{"events":[{"type":"repo.create","actor":{"type":"user","id":"u1","name":"alice"},"targets":[{"type":"repo","name":"acme/new-model"}]}]}' \
    '%[1]s/api/v1/orgs/%[2]s/events'

`, base, demoOrg, size, read, ingest, note)
	return nil
}

// The names of the keys serve --demo makes.
const (
	demoReadKey   = "demo read key"
	demoIngestKey = "demo ingest key"
)

// revokeDemoKeys revokes the demo keys an earlier serve --demo made (their
// secrets were printed once and are gone), so that restarts do not pile
// up active keys. It returns how many it revoked.
func revokeDemoKeys(ctx context.Context, store audit.KeyStore) (int, error) {
	keys, err := store.Keys(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	now := time.Now()
	for _, k := range keys {
		if k.Org != demoOrg || (k.Name != demoReadKey && k.Name != demoIngestKey) || !k.RevokedAt.IsZero() {
			continue
		}
		if err := store.RevokeKey(ctx, k.ID, now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// errDemoInterrupted is loadDemo's error when the server was asked to stop
// while the demo data was loading.
var errDemoInterrupted = errors.New("stopped while loading the demo data")

// demoIncomplete reports whether the demo org holds the start of the demo
// history but not its end: a first load was interrupted. An org that
// merely shares the demo's name has none of its event ids.
func demoIncomplete(ctx context.Context, store audit.Store) (bool, error) {
	has := func(id string) (bool, error) {
		_, _, err := store.Event(ctx, demoOrg, id)
		if audit.ErrorCode(err) == audit.CodeNotFound {
			return false, nil
		}
		return err == nil, err
	}
	first, err := has(demo.EventID(0))
	if err != nil || !first {
		return false, err
	}
	last, err := has(demo.EventID(demo.DefaultEvents - 1))
	return !last, err
}
