package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
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
	if size == 0 {
		start := time.Now()
		n := 0
		for batch := range demo.Batches(demo.Options{Org: demoOrg}) {
			if _, err := svc.Ingest(ctx, demoOrg, batch); err != nil {
				return fmt.Errorf("loading demo data: %w", err)
			}
			n += len(batch)
		}
		log.Info("demo org loaded", "org", demoOrg, "events", n, "took", time.Since(start).Round(time.Millisecond))
		if a, ok := store.(interface{ Analyze(context.Context) error }); ok {
			if err := a.Analyze(ctx); err != nil {
				return err
			}
		}
	} else {
		log.Info("demo org already present; nothing added", "org", demoOrg, "events", size)
	}
	read, err := createKey(ctx, store, audit.ScopeRead, demoOrg, "demo read key", time.Time{})
	if err != nil {
		return err
	}
	ingest, err := createKey(ctx, store, audit.ScopeIngest, demoOrg, "demo ingest key", time.Time{})
	if err != nil {
		return err
	}
	size, _ = store.Size(ctx, demoOrg)
	fmt.Fprintf(stdout, `
Trail is running at %[1]s with the demo org %[2]q (%[3]d events).
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

`, base, demoOrg, size, read, ingest)
	return nil
}
