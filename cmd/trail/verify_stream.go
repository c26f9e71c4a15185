// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/verify"
)

// maxStreamObject bounds one object's uncompressed size (a gzip bomb, or
// not a stream object at all).
const maxStreamObject = 1 << 30

// verifyStreamDir checks a directory of stream objects (*.ndjson and
// *.ndjson.gz, as the s3 kind writes them or an S3 download holds them).
func verifyStreamDir(dir string, opts verify.Options, stdout io.Writer) error {
	if len(opts.Keys) == 0 {
		return usagef("verifying stream objects needs the org's verifier key: --key (from `trail keys verifier`), --trust or TRAIL_VERIFIER_KEYS; the objects do not carry it")
	}
	objs, err := readStreamObjects(dir)
	if err != nil {
		return exitError{1, err.Error()}
	}
	if len(objs) == 0 {
		return exitError{1, "no stream objects (*.ndjson, *.ndjson.gz) under " + dir}
	}
	res, err := verify.VerifyStream(objs, opts)
	fmt.Fprintf(stdout, "objects:    %d (%d distinct %s", res.Objects, res.Checkpoints, plural(res.Checkpoints, "checkpoint"))
	if res.Duplicates > 0 {
		fmt.Fprintf(stdout, "; %d identical copies of events from redeliveries counted once", res.Duplicates)
	}
	fmt.Fprintln(stdout, ")")
	if len(res.Missing) > 0 {
		fmt.Fprintf(stdout, "missing:    %d events: ", res.MissingCount())
		for i, s := range res.Missing {
			if i == 20 {
				fmt.Fprintf(stdout, ", and %d more ranges", len(res.Missing)-20)
				break
			}
			if i > 0 {
				fmt.Fprint(stdout, ", ")
			}
			fmt.Fprint(stdout, s)
		}
		fmt.Fprintln(stdout)
		if res.Prefix != nil {
			fmt.Fprintf(stdout, "proven:     events 0 … %d match the checkpoint of size %d signed by %s %s (root %s)\n", res.Prefix.Size-1, res.Prefix.Size, res.Prefix.KeyName, res.Prefix.Fingerprint, ledger.EncodeHash(res.Prefix.Root))
		}
		fmt.Fprintln(stdout, "            (a destination with a filter leaves events out by design: its objects cannot prove completeness)")
	}
	if res.Beyond > 0 {
		fmt.Fprintf(stdout, "newer:      %d events after the newest checkpoint: present, proven by a later checkpoint only\n", res.Beyond)
	}
	if err != nil {
		return exitError{1, err.Error()}
	}
	report(stdout, res.Result, &verify.Export{}, opts.Keys)
	return nil
}

// readStreamObjects reads every *.ndjson and *.ndjson.gz file under dir,
// in name order, decompressing the gzip'd ones.
func readStreamObjects(dir string) ([]*verify.StreamObject, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && (strings.HasSuffix(p, ".ndjson") || strings.HasSuffix(p, ".ndjson.gz")) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	objs := make([]*verify.StreamObject, 0, len(paths))
	for _, p := range paths {
		data, err := readStreamFile(p)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(dir, p)
		o, err := verify.ParseStreamObject(filepath.ToSlash(rel), data)
		if err != nil {
			return nil, fmt.Errorf("does not verify: %w", err)
		}
		objs = append(objs, o)
	}
	return objs, nil
}

func readStreamFile(p string) ([]byte, error) {
	data, err := os.ReadFile(p)
	if err != nil || !strings.HasSuffix(p, ".gz") {
		return data, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: not gzip: %w", p, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxStreamObject+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", p, err)
	case len(out) > maxStreamObject:
		return nil, fmt.Errorf("%s: more than %d bytes uncompressed: not a stream object", p, maxStreamObject)
	}
	return out, nil
}

// isDir reports whether path names a directory.
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
