// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

const keysUsage = `create --scope ingest|read|admin [--org ORG] [--name NAME] [--expires 30d|720h]
       trail keys list [--json]
       trail keys revoke ID
       trail keys verifier [--data DIR] [--store URL]  print the checkpoint verifier key (for auditors)
       trail keys rotate-signing [--data DIR]    replace the checkpoint signing key`

const keysSubcommands = "create, list, revoke, verifier or rotate-signing"

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: trail keys %s\n", keysUsage)
		return usagef("missing subcommand: %s", keysSubcommands)
	}
	switch args[0] {
	case "create":
		return keysCreate(ctx, args[1:], stdout, stderr)
	case "list":
		return keysList(ctx, args[1:], stdout, stderr)
	case "revoke":
		return keysRevoke(ctx, args[1:], stdout, stderr)
	case "verifier":
		return keysVerifier(ctx, args[1:], stdout, stderr) // signing.go
	case "rotate-signing":
		return keysRotateSigning(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintf(stdout, "Usage: trail keys %s\n", keysUsage)
		return nil
	}
	return usagef("unknown keys subcommand %q: expected %s", args[0], keysSubcommands)
}

// expiryFlag is a duration flag that also takes days ("30d").
type expiryFlag time.Duration

func (e *expiryFlag) String() string { return time.Duration(*e).String() }

func (e *expiryFlag) Set(s string) error {
	d, err := parseExpiry(s)
	if err != nil {
		return err
	}
	*e = expiryFlag(d)
	return nil
}

// parseExpiry reads a duration as Go writes it (720h, 90m) or a number of
// days (30d).
func parseExpiry(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("expected days as a whole number such as 30d, or a duration such as 720h")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("expected days such as 30d, or a duration such as 720h")
	}
	return d, nil
}

// keysCreate prints the secret alone on stdout's first line and the key's
// id with the details on stderr, so KEY=$(trail keys create …) works.
func keysCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys create", "--scope ingest|read|admin [flags]", stderr)
	scope := fs.String("scope", "", "what the key may do: ingest, read or admin (required)")
	org := fs.String("org", "", "bind the key to this `org`; without it the key serves every org")
	name := fs.String("name", "", "a `label` for the key, shown by keys list")
	var expires expiryFlag
	fs.Var(&expires, "expires", "the key expires after this `duration`: days (30d) or hours (720h); 0 means never")
	data, storeURL := dataFlag(fs), storeFlag(fs)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *scope == "" {
		return usagef("--scope is required: ingest, read or admin")
	}
	sc, err := audit.ParseScope(*scope)
	if err != nil {
		return usagef("--scope: %s", audit.ErrorMessage(err))
	}
	if *org != "" && !audit.ValidOrg(*org) {
		return usagef("--org %q is not a valid org identifier: 1 to 96 of A-Z a-z 0-9 _ - .", *org)
	}
	if expires < 0 {
		return usagef("--expires must not be negative")
	}
	store, err := openStore(ctx, *data, *storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now()
	var exp time.Time
	if expires > 0 {
		exp = now.Add(time.Duration(expires))
	}
	k, secret, err := audit.CreateAPIKey(ctx, store, audit.NewKey{Name: *name, Scope: sc, Org: *org, Expires: exp}, now)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	fmt.Fprintf(stderr, "created %s key for %s%s: id %s; the secret above is shown once; revoke with: trail keys revoke %s\n",
		sc, orgLabel(*org), expiryLabel(exp), k.ID, k.ID)
	return nil
}

// createKey stores a new key and returns its id and secret.
func createKey(ctx context.Context, ks audit.KeyStore, scope audit.Scope, org, name string, expires time.Time) (id, secret string, err error) {
	k, secret, err := audit.CreateAPIKey(ctx, ks, audit.NewKey{Name: name, Scope: scope, Org: org, Expires: expires}, time.Now())
	return k.ID, secret, err
}

func orgLabel(org string) string {
	if org == "" {
		return "every org"
	}
	return "org " + org
}

func expiryLabel(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ", expiring " + t.UTC().Format(time.RFC3339)
}

func keysList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys list", "[--json] [--data DIR]", stderr)
	data, storeURL := dataFlag(fs), storeFlag(fs)
	asJSON := jsonFlag(fs)
	store, err := parseAndOpen(ctx, fs, args, data, storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := store.Keys(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	views := make([]audit.KeyView, len(keys))
	rows := make([][]string, len(keys))
	for i, k := range keys {
		views[i] = k.View(now)
		status := views[i].Status
		if status == "revoked" {
			status = "revoked " + stamp(k.RevokedAt)
		}
		org := k.Org
		if org == "" {
			org = "*"
		}
		rows[i] = []string{k.ID, k.Name, string(k.Scope), org, stamp(k.CreatedAt), stamp(k.ExpiresAt), stamp(k.LastUsedAt), status}
	}
	return printTable(stdout, *asJSON, struct {
		Keys []audit.KeyView `json:"keys"`
	}{views}, []string{"ID", "NAME", "SCOPE", "ORG", "CREATED", "EXPIRES", "LAST USED", "STATUS"}, rows)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func keysRevoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys revoke", "ID [--data DIR]", stderr)
	data, storeURL := dataFlag(fs), storeFlag(fs)
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("expected one key ID (see trail keys list)")
	}
	store, err := openExisting(ctx, *data, *storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	id := pos[0]
	k, already, err := audit.RevokeAPIKey(ctx, store, id, time.Now())
	switch {
	case audit.ErrorCode(err) == audit.CodeNotFound:
		return fmt.Errorf("no key with ID %q (see trail keys list)", id)
	case err != nil:
		return err
	case already:
		fmt.Fprintf(stderr, "%s was already revoked on %s; nothing changed\n", id, stamp(k.RevokedAt))
	default:
		fmt.Fprintf(stderr, "revoked %s; it stops working at once\n", id)
	}
	return nil
}

// jsonFlag registers --json for a command that prints a table.
func jsonFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "print JSON instead of a table")
}

// writeJSONOut writes v as indented JSON.
func writeJSONOut(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printTable prints rows under header as an aligned table, or, with
// asJSON, v as indented JSON instead.
func printTable(w io.Writer, asJSON bool, v any, header []string, rows [][]string) error {
	if asJSON {
		return writeJSONOut(w, v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
