// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/query"
)

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export", "--org ORG [flags]", stderr)
	org := fs.String("org", "", "the `org` whose log to export (required)")
	format := fs.String("format", "json", "json, ndjson or csv")
	q := fs.String("q", "", "export only events matching this search `string` (as in the API's q)")
	out := fs.String("out", "", "write to this `file` instead of stdout")
	data, storeURL := dataFlag(fs), storeFlag(fs)
	integrityLine := fs.Bool("integrity", false, "end an NDJSON export with the integrity line that `trail verify` checks (JSON exports always carry it)")
	signing := addSigningFlags(fs) // signing.go
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	switch {
	case *org == "":
		return usagef("--org is required")
	case !audit.ValidOrg(*org):
		return usagef("--org %q is not a valid org identifier: 1 to 96 of A-Z a-z 0-9 _ - .", *org)
	}
	if _, err := audit.ParseFormat(*format); err != nil {
		return usagef("--format: %s", audit.ErrorMessage(err))
	}
	store, err := openExisting(ctx, *data, *storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	if ls, ok := store.(*logstore.Store); ok && ls.Reader() {
		_, dir := storeLabel(*data, *storeURL)
		return exportThroughServer(ctx, ls, dir, serverExport{
			org: *org, format: *format, q: *q, integrity: *integrityLine, out: *out}, stdout, stderr)
	}
	integrity, err := signing.integrity(*data, true, nil)
	if err != nil {
		return err
	}
	svc := audit.NewService(audit.Config{Store: store, Logger: newLogger(io.Discard), Integrity: integrity})
	defer svc.Close()
	filter, err := parseQuery(svc, *q)
	if err != nil {
		return usagef("--q: %v", err)
	}
	// Open the output first: an export that cannot be written must not
	// be recorded as done.
	w, closeOut, err := output(*out, stdout)
	if err != nil {
		return err
	}
	x, err := svc.StartExport(ctx, *org, audit.ExportRequest{
		Format: *format, Filter: filter, Query: *q, Integrity: *integrityLine,
		Actor: audit.Actor{Type: "system", ID: "trail-cli", Name: "trail export"},
	})
	if err != nil {
		closeOut(false)
		return err
	}
	// Progress rewrites one line with \r on a terminal only: in a log file
	// or a CI output it would be a run of overwritten fragments.
	var progress func(int64)
	if isTerminal(stderr) {
		progress = func(n int64) { fmt.Fprintf(stderr, "\rexported %d of at most %d events", n, x.Size) }
	}
	n, err := x.WriteTo(ctx, w, progress)
	if progress != nil {
		fmt.Fprintln(stderr)
	}
	if cerr := closeOut(err == nil); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export failed after %d events%s: %w", n, removed(*out), err)
	}
	fmt.Fprintf(stderr, "exported %d events of %s (log size %d) as %s%s\n", n, *org, x.Size, *format, dest(*out))
	return nil
}

// parseQuery parses a search string against the service's catalog.
func parseQuery(svc *audit.Service, q string) (audit.Filter, error) {
	cat := svc.Catalog()
	return query.Parse(q, query.Options{
		KnownType:     func(n string) bool { _, ok := cat.Lookup(n); return ok },
		KnownCategory: func(s string) bool { _, ok := cat.Category(s); return ok },
	})
}

// output opens the export's destination. Its close function, told
// whether the export completed, syncs a complete file and removes an
// incomplete one, so that a truncated CSV or NDJSON file never passes for
// a whole export.
func output(path string, stdout io.Writer) (io.Writer, func(complete bool) error, error) {
	if path == "" || path == "-" {
		return stdout, func(bool) error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return f, func(complete bool) error {
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if !complete || err != nil {
			os.Remove(path)
		}
		return err
	}, nil
}

func removed(path string) string {
	if path == "" || path == "-" {
		return ""
	}
	return " (the incomplete " + path + " was removed)"
}

func dest(path string) string {
	if path == "" || path == "-" {
		return ""
	}
	return " to " + path
}
