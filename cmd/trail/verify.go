// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/verify"
)

// Exit statuses of trail verify beyond 0 (verified), 1 (does not verify,
// or cannot be read) and 2 (command line).
const exitNotPinned = 3 // everything matched, but no trusted key was given

// exitError ends the command with a given status after printing its text.
type exitError struct {
	status int
	msg    string
}

func (e exitError) Error() string { return e.msg }

const verifyUsage = `FILE|DIR [--key VERIFIER_KEY]… [--trust FILE] [--previous OLDER_EXPORT_OR_CHECKPOINT]

Checks a Trail export (JSON, or NDJSON with its integrity line) offline: the
checkpoint's signature against the keys you trust, each event's exact bytes
and place, and the root; with --previous, that the log extends an older
export's (or checkpoint's) log: nothing deleted, nothing rewritten.

With a DIR, checks the objects an s3 stream destination wrote (*.ndjson.gz
and *.ndjson under DIR, e.g. an S3 download): every seq present once
(identical redelivered copies count once), the root recomputed from the
events against the newest checkpoint in the objects and its signature (a
--key is required: objects carry no key), every older checkpoint consistent;
missing seqs are listed.

Exit status: 0 verified; 1 does not verify (the first event or check that
fails is named) or the file is malformed; 2 command line; 3 everything
matched but no trusted key was given (--key, --trust or TRAIL_VERIFIER_KEYS):
the file is consistent, not proven authentic.`

type keyList []string

func (k *keyList) String() string     { return strings.Join(*k, ",") }
func (k *keyList) Set(v string) error { *k = append(*k, v); return nil }

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", verifyUsage, stderr)
	var keys keyList
	fs.Var(&keys, "key", "a trusted note verifier `key` (repeat for several, e.g. before and after a rotation); env TRAIL_VERIFIER_KEYS, separated by spaces or commas")
	trust := fs.String("trust", env("TRAIL_TRUST_FILE", ""), "a `file` of trusted verifier keys, one a line (env TRAIL_TRUST_FILE)")
	previous := fs.String("previous", "", "an older export or signed checkpoint `file` of the same org: prove this log extends it")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("give the export FILE to verify (- for stdin)")
	}
	trusted, err := trustedKeys(keys, *trust)
	if err != nil {
		return usagef("%v", err)
	}
	opts := verify.Options{Keys: trusted}
	if isDir(pos[0]) {
		if *previous != "" {
			return usagef("--previous applies to an export FILE, not to a directory of stream objects")
		}
		return verifyStreamDir(pos[0], opts, stdout)
	}
	if *previous != "" {
		if opts.Previous, err = previousCheckpoint(*previous); err != nil {
			return err
		}
	}
	data, release, err := readInput(pos[0], stdout)
	if err != nil {
		return err
	}
	defer release()
	progress := !*quiet && len(data) > 64<<20
	start := time.Now()
	if progress {
		fmt.Fprintf(stderr, "reading %s (%d MB)…\n", pos[0], len(data)>>20)
	}
	if err := sniffInput(pos[0], data); err != nil {
		return err
	}
	x, err := verify.ParseExport(data)
	if err != nil {
		return exitError{1, "does not verify: " + err.Error()}
	}
	if progress {
		fmt.Fprintf(stderr, "read and hashed %d events in %v; checking…\n", len(x.Events), time.Since(start).Round(time.Millisecond))
	}
	res, err := verify.Verify(x, opts)
	var untrusted *verify.UntrustedKeyError
	switch {
	case errors.As(err, &untrusted):
		report(stdout, res, x, trusted)
		return exitError{exitNotPinned, fmt.Sprintf("the checkpoint is signed by key %s (fingerprint %s), which was NOT PINNED: pass it with --key if you trust it (from `trail keys verifier` on the server, obtained out of band); the file is consistent but not proven authentic", untrusted.Key, untrusted.Fingerprint)}
	case err != nil:
		return exitError{1, err.Error()}
	}
	report(stdout, res, x, trusted)
	if progress {
		fmt.Fprintf(stderr, "verified in %v\n", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// report prints what was proven: which key signed, and which keys were
// trusted (after a rotation they share a name; fingerprints tell them apart).
func report(w io.Writer, res *verify.Result, x *verify.Export, trusted []string) {
	fmt.Fprintf(w, "org:        %s (origin %s)\n", res.Org, res.Origin)
	fmt.Fprintf(w, "size:       %d\n", res.Size)
	fmt.Fprintf(w, "root:       %s\n", ledger.EncodeHash(res.Root))
	if res.Complete {
		fmt.Fprintf(w, "events:     %d of %d: complete, every event unaltered and in its place\n", res.Events, res.Size)
	} else {
		fmt.Fprintf(w, "events:     %d of %d (filter %q): each unaltered and in its place; the others are left out, not proven absent\n", res.Events, res.Size, x.Filter)
	}
	pinned := "pinned"
	if !res.Pinned {
		pinned = "NOT PINNED"
	}
	fmt.Fprintf(w, "signed by:  %s %s (%s)\n", res.KeyName, res.Fingerprint, pinned)
	for _, k := range trusted {
		fmt.Fprintf(w, "trusted:    %s\n", keyLabel(k))
	}
	if res.PreviousRoot != (verify.Hash{}) { // set only when --previous was proven
		fmt.Fprintf(w, "extends:    the checkpoint of size %d (root %s): nothing deleted or rewritten\n", res.PreviousSize, ledger.EncodeHash(res.PreviousRoot))
	}
	if res.Pinned {
		fmt.Fprintln(w, "verified")
	}
}

// sniffInput refuses, with what to do instead, inputs that are no JSON or
// NDJSON export: a compressed file, or a CSV export (which carries no
// integrity material).
func sniffInput(name string, data []byte) error {
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return exitError{1, name + " is gzip-compressed: decompress it first (gunzip -k " + name + ") and verify the JSON or NDJSON export inside"}
	case bytes.HasPrefix(data, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return exitError{1, name + " is zstd-compressed: decompress it first (zstd -d " + name + ") and verify the JSON or NDJSON export inside"}
	case bytes.HasPrefix(bytes.TrimLeft(data, "\ufeff \t\r\n"), []byte("seq,")):
		return exitError{1, name + " is a CSV export: only JSON and NDJSON exports carry integrity material; export again with --format json (or --format ndjson --integrity) to verify"}
	}
	return nil
}

// trustedKeys gathers --key, TRAIL_VERIFIER_KEYS and the trust file.
func trustedKeys(keys []string, trustFile string) ([]string, error) {
	out := append([]string(nil), keys...)
	out = append(out, strings.FieldsFunc(os.Getenv("TRAIL_VERIFIER_KEYS"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })...)
	if trustFile != "" {
		b, err := os.ReadFile(trustFile)
		if err != nil {
			return nil, err
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				out = append(out, l)
			}
		}
	}
	if _, err := ledger.Verifiers(out...); err != nil {
		return nil, err
	}
	return out, nil
}

// previousCheckpoint reads the signed checkpoint of an older export, or a
// checkpoint note file.
func previousCheckpoint(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		x, err := verify.ParseExport(b)
		if err != nil {
			return "", exitError{1, "--previous " + path + ": " + err.Error()}
		}
		if x.Checkpoint == "" {
			return "", exitError{1, "--previous " + path + ": the export carries no checkpoint"}
		}
		return x.Checkpoint, nil
	}
	return string(b), nil
}

// readInput maps a file into memory (or reads stdin) without copying it.
func readInput(path string, _ io.Writer) ([]byte, func(), error) {
	if path == "-" {
		b, err := io.ReadAll(os.Stdin)
		return b, func() {}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.Size() == 0 || !fi.Mode().IsRegular() {
		b, err := io.ReadAll(f)
		return b, func() {}, err
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		b, err := io.ReadAll(f)
		return b, func() {}, err
	}
	return b, func() { syscall.Munmap(b) }, nil
}
