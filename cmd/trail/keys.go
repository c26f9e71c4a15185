// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

const keysUsage = `create --scope ingest|read|admin [--org ORG] [--name NAME] [--expires DURATION]
       trail keys list
       trail keys revoke ID
       trail keys verifier [--data DIR] [--store URL]  print the checkpoint verifier key (for auditors)
       trail keys rotate-signing [--data DIR]    replace the checkpoint signing key`

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: trail keys %s\n", keysUsage)
		return usagef("missing subcommand: create, list or revoke")
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
	return usagef("unknown keys subcommand %q: expected create, list, revoke, verifier or rotate-signing", args[0])
}

// keysCreate prints the secret alone on stdout's first line, details on
// stderr, so KEY=$(trail keys create …) works.
func keysCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys create", "--scope ingest|read|admin [flags]", stderr)
	scope := fs.String("scope", "", "what the key may do: ingest, read or admin (required)")
	org := fs.String("org", "", "bind the key to this `org`; without it the key serves every org")
	name := fs.String("name", "", "a `label` for the key, shown by keys list")
	expires := fs.Duration("expires", 0, "the key expires after this `duration` (e.g. 720h); 0 means never")
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
	if *expires < 0 {
		return usagef("--expires must not be negative")
	}
	store, err := openStore(ctx, *data, *storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	var exp time.Time
	if *expires > 0 {
		exp = time.Now().Add(*expires)
	}
	secret, err := createKey(ctx, store, sc, *org, *name, exp)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	fmt.Fprintf(stderr, "created %s key for %s%s; the secret above is shown once\n", sc, orgLabel(*org), expiryLabel(exp))
	return nil
}

// createKey stores a new key and returns its secret.
func createKey(ctx context.Context, ks audit.KeyStore, scope audit.Scope, org, name string, expires time.Time) (string, error) {
	id, secret := audit.NewKeySecret()
	k := audit.Key{ID: id, Name: name, Scope: scope, Org: org, CreatedAt: time.Now().UTC(), ExpiresAt: expires}
	if k.Name == "" {
		k.Name = id
	}
	if err := ks.CreateKey(ctx, k, audit.HashSecret(secret)); err != nil {
		return "", err
	}
	return secret, nil
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
	fs := newFlags("keys list", "[--data DIR]", stderr)
	data, storeURL := dataFlag(fs), storeFlag(fs)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	store, err := openStore(ctx, *data, *storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := store.Keys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tORG\tCREATED\tEXPIRES\tLAST USED\tSTATUS")
	now := time.Now()
	for _, k := range keys {
		status := "active"
		switch {
		case !k.RevokedAt.IsZero():
			status = "revoked " + stamp(k.RevokedAt)
		case !k.Active(now):
			status = "expired"
		}
		org := k.Org
		if org == "" {
			org = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Scope, org,
			stamp(k.CreatedAt), stamp(k.ExpiresAt), stamp(k.LastUsedAt), status)
	}
	return tw.Flush()
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
	store, err := openStore(ctx, *data, *storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	id := pos[0]
	if err := store.RevokeKey(ctx, id, time.Now()); err != nil {
		if audit.ErrorCode(err) == audit.CodeNotFound {
			return fmt.Errorf("no key with ID %q (see trail keys list)", id)
		}
		return err
	}
	fmt.Fprintf(stderr, "revoked %s; it stops working at once\n", id)
	return nil
}
