// SPDX-License-Identifier: Apache-2.0

// Command trail is the Trail audit-log service: one binary with the server
// and the operator's subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `trail — audit logs for multi-tenant platforms

Usage:
  trail serve   [--addr ADDR] [--data DIR] [--geoip FILE|off] [--tls-cert F --tls-key F] [--demo]  run the server
  trail keys    create|list|revoke [flags]                            manage API keys (list --json)
  trail link    --org ORG --user ID [--name NAME] [--public-url URL]  a viewer link to the audit-log page
  trail export  --org ORG [--format json|ndjson|csv] [--q QUERY] [--out FILE]
  trail verify  FILE|DIR [--key VERIFIER_KEY]… [--previous OLDER]    check an export, or stream objects, offline
  trail check   [--data DIR] [--org ORG]                             re-derive every org's tree, compare
  trail orgs    [--json] [--data DIR]                                every org with a log, its size
  trail backup  [--data DIR] [--store log:DIR|sqlite:DIR] DEST        a consistent copy, while serving
  trail keys    verifier [--store URL] | rotate-signing [--data DIR]  checkpoint signing key
  trail bench   [flags]                                               measure ingest, query, export
  trail catalog json|docs|gen [--catalog FILE] [--package NAME]       the event catalog, its reference, Go builders
  trail migrate --store postgres://…                                  apply PostgreSQL schema migrations
  trail migrate-store [--data DIR]                                    convert a SQLite data directory in place
  trail migrate-store --from sqlite:DIR --to postgres://…|log:DIR      copy a SQLite store into PostgreSQL or the log engine
  trail version [--licenses]                                          version, commit, Go, licences

Only serve, keys create and the migration commands create a data directory; the others exit 2
on a directory with no Trail data. Commands that print a table take --json.
Every command that touches the store takes --data (env TRAIL_DATA, default ./trail-data)
and --store (env TRAIL_STORE): without --store the events live in the log engine in --data
(docs/storage.md; a SQLite data directory of an earlier version there is converted on first
start, trail.db left untouched); with --store log:DIR in the log engine in DIR; with
--store sqlite:DIR in the SQLite engine of earlier versions (kept for now); with --store
postgres://… in PostgreSQL, shared by every replica, and --data keeps only this machine's
files (the signing key). Commands work while a server runs on the same store (on the log
engine, export goes through that server's API; the others read the directory or its catalog).
Run "trail COMMAND -h" for its flags.
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"serve":  runServe,
		"keys":   runKeys,
		"link":   runLink,
		"export": runExport,
		"bench":  runBench,
		"verify": runVerify, // verify.go
		"check":  runCheck,  // check.go
		"orgs":   runOrgs,   // orgs.go
		"backup": runBackup, // backup.go

		"version":       runVersion, // version.go
		"migrate":       runMigrate,
		"migrate-store": runMigrateStore,
		"catalog":       runCatalog, // catalog.go
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := cmds[name]
	if !ok {
		fmt.Fprintf(stderr, "trail: unknown command %q\n\n%s", name, usage)
		return 2
	}
	err := cmd(ctx, args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "trail %s: %v\n", name, err)
		return 2
	case errors.As(err, new(exitError)):
		var e exitError
		errors.As(err, &e)
		fmt.Fprintf(stderr, "trail %s: %v\n", name, err)
		return e.status
	default:
		fmt.Fprintf(stderr, "trail %s: %v\n", name, err)
		return 1
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// newFlags returns a flag set that prints its usage to stderr and returns
// flag.ErrHelp for -h.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("trail "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: trail %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, flags and positional arguments in any order, and
// returns the positional ones; more than max of them is a usage error.
func parse(fs *flag.FlagSet, args []string, max int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) > max {
		return nil, usagef("unexpected argument %q", pos[max])
	}
	return pos, nil
}

// env returns the environment variable's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// dataFlag registers --data with its env default.
func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", env("TRAIL_DATA", "./trail-data"), "data `directory`: the embedded store (the log engine; a SQLite directory of an earlier version is converted on first start), or with --store postgres://… only this machine's files such as the signing key (env TRAIL_DATA)")
}

// newLogger logs JSON unless w is a terminal.
func newLogger(w io.Writer) *slog.Logger {
	if isTerminal(w) {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
