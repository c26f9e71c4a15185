// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/httpx"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/internal/postgres"
)

// signingFlags are the checkpoint signing settings every command that
// signs shares (serve, export).
type signingFlags struct {
	keyFile string
	origin  string
}

func addSigningFlags(fs *flag.FlagSet) *signingFlags {
	f := &signingFlags{}
	fs.StringVar(&f.keyFile, "signing-key", env("TRAIL_SIGNING_KEY_FILE", ""),
		"`file` holding the checkpoint signing key (a note signer key), e.g. shared by replicas (env TRAIL_SIGNING_KEY_FILE; the key itself may be in env TRAIL_SIGNING_KEY); default DATA/"+ledger.KeyFile+", created on first start")
	fs.StringVar(&f.origin, "origin", env("TRAIL_ORIGIN", ""),
		"`host` of checkpoint origins (<host>/orgs/<org>) and name of a newly created signing key (env TRAIL_ORIGIN); default the key's name")
	return f
}

// integrity loads the signing key (creating DATA/signing.key when no key is
// configured and create is set) and the trusted earlier verifier keys.
func (f *signingFlags) integrity(data string, create bool, log *slog.Logger) (audit.IntegrityConfig, error) {
	skey, source, err := f.signerKey(data, create, log)
	if err != nil {
		return audit.IntegrityConfig{}, err
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		return audit.IntegrityConfig{}, fmt.Errorf("%s: %w", source, err)
	}
	trusted, err := ledger.ReadTrusted(filepath.Join(data, ledger.TrustedFile))
	if err != nil {
		return audit.IntegrityConfig{}, err
	}
	return audit.IntegrityConfig{Signer: signer, Host: f.origin, Trusted: trusted}, nil
}

func (f *signingFlags) signerKey(data string, create bool, log *slog.Logger) (key, source string, err error) {
	if f.keyFile != "" {
		k, err := ledger.ReadKeyFile(f.keyFile)
		return k, f.keyFile, err
	}
	if k := os.Getenv("TRAIL_SIGNING_KEY"); k != "" {
		return k, "TRAIL_SIGNING_KEY", nil
	}
	path := filepath.Join(data, ledger.KeyFile)
	if !create {
		k, err := ledger.ReadKeyFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return "", path, fmt.Errorf("no signing key in %s: start trail serve once to create it, or pass --signing-key", data)
		}
		return k, path, err
	}
	k, created, err := ledger.LoadOrCreateKey(path, f.keyName())
	if created && log != nil {
		log.Info("created the checkpoint signing key; print its verifier key with `trail keys verifier` and back the key up", "path", path)
	}
	return k, path, err
}

var keyNameRE = regexp.MustCompile(`[^A-Za-z0-9._/-]`)

// keyName is the name of a new key: --origin, else the host name.
func (f *signingFlags) keyName() string {
	if f.origin != "" {
		return f.origin
	}
	h, err := os.Hostname()
	if h = keyNameRE.ReplaceAllString(h, ""); err != nil || h == "" {
		return "trail"
	}
	return h
}

// startIntegrity compares each org's stored tree with its last signed
// checkpoint (quarantining those that differ) and starts the background
// signer until ctx is done.
func startIntegrity(ctx context.Context, svc *audit.Service, log *slog.Logger) error {
	if svc.VerifierKey() == "" {
		return nil
	}
	start := time.Now()
	bad, err := svc.CheckStoredRoots(ctx)
	if err != nil {
		return fmt.Errorf("checking stored trees against their checkpoints: %w", err)
	}
	log.Info("stored trees checked against their last checkpoints", "quarantined", len(bad), "took_ms", httpx.Millis(time.Since(start)),
		"verifier_key", svc.VerifierKey())
	go svc.SignCheckpoints(ctx)
	return nil
}

// keysVerifier prints the verifier key alone on stdout's first line: with
// --store postgres://… the one the database's replicas recorded, else that
// of the signing key in --data (or --signing-key). On stderr it says which
// key signs and which earlier keys are still trusted, each by name, key
// hash and fingerprint (after a rotation both keys carry the same name).
func keysVerifier(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys verifier", "[--data DIR] [--store postgres://…]", stderr)
	data, storeURL := dataFlag(fs), storeFlag(fs)
	sf := addSigningFlags(fs)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if isPostgres(*storeURL) {
		return recordedVerifier(ctx, *data, *storeURL, stdout, stderr)
	}
	if sf.keyFile == "" && os.Getenv("TRAIL_SIGNING_KEY") == "" {
		if err := requireDataDir(*data); err != nil {
			return err
		}
	}
	cfg, err := sf.integrity(*data, false, nil)
	if err != nil {
		return err
	}
	printVerifier(cfg.Signer.VerifierKey(), cfg.Trusted, stdout, stderr)
	return nil
}

// recordedVerifier prints the verifier key a PostgreSQL store recorded.
func recordedVerifier(ctx context.Context, data, storeURL string, stdout, stderr io.Writer) error {
	store, err := openStore(ctx, data, storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	vk, ok, err := store.(*postgres.Store).RecordedVerifier(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s has no verifier key recorded yet: start trail serve --store on it once", redactURL(storeURL))
	}
	trusted, err := ledger.ReadTrusted(filepath.Join(data, ledger.TrustedFile))
	if err != nil {
		return err
	}
	printVerifier(vk, trusted, stdout, stderr)
	return nil
}

// printVerifier prints vk alone on stdout's first line, advice on stderr.
func printVerifier(vk string, trusted []string, stdout, stderr io.Writer) {
	fmt.Fprintln(stdout, vk)
	fmt.Fprintf(stderr, "signs new checkpoints: %s; give this key to auditors: trail verify --key '%s' EXPORT\n", keyLabel(vk), vk)
	for _, k := range trusted {
		fmt.Fprintf(stderr, "trusted earlier key (valid for what it signed, signs nothing new): %s: %s\n", keyLabel(k), k)
	}
}

// keyLabel names a verifier key for people: its name and key hash (the
// first two fields of the key) and its fingerprint.
func keyLabel(vkey string) string {
	f := strings.SplitN(vkey, "+", 3)
	if len(f) < 2 {
		return ledger.Fingerprint(vkey)
	}
	return f[0] + "+" + f[1] + " (fingerprint " + ledger.Fingerprint(vkey) + ")"
}

// keysRotateSigning replaces the signing key and keeps the old verifier key
// trusted.
func keysRotateSigning(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys rotate-signing", "[--data DIR]", stderr)
	data := dataFlag(fs)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if err := requireDataDir(*data); err != nil {
		return err
	}
	old, neu, err := ledger.Rotate(*data)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, neu)
	fmt.Fprintf(stderr, "rotated the signing key.\n  signs new checkpoints: %s\n  trusted, signs nothing new: %s (kept in %s for what it signed)\nRestart trail serve. Auditors verifying older exports keep the old key: trail verify --key OLD --key NEW.\n",
		keyLabel(neu), keyLabel(old), filepath.Join(*data, ledger.TrustedFile))
	return nil
}
