// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/s3test"
	"github.com/trailaudit/trail/internal/stream"
	"github.com/trailaudit/trail/internal/stream/streamtest"
)

// TestVerifyStreamDir: the s3 kind writes a real org's events and
// checkpoints into versitygw; `trail verify DIR` checks the objects as
// they lie in its backend directory (what an S3 download holds): complete
// with overlapping redeliveries, then with an object missing, an event
// altered, and without a key.
func TestVerifyStreamDir(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	gw := s3test.Start(t)
	gw.CreateBucket(t, "audit")
	log := streamtest.New(t)
	log.Add("acme", 40)
	kind, _ := stream.LookupKind("s3")
	c, err := kind.Create([]byte(`{"endpoint":"` + gw.Endpoint + `","region":"us-east-1","bucket":"audit","prefix":"trail",` +
		`"access_key_id":"` + gw.KeyID + `","secret_access_key":"` + gw.Secret + `","path_style":true}`))
	if err != nil {
		t.Fatal(err)
	}
	sink, err := kind.Open(c.Settings, stream.Env{HTTP: &http.Client{Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	for _, b := range []*stream.Batch{
		log.Batch("acme", 0, 10, 10),
		log.Batch("acme", 10, 25, 20), // a checkpoint older than the batch's end
		log.Batch("acme", 5, 30, 30),  // overlaps: a redelivery after a restart
		log.Batch("acme", 30, 40, -1), // events newer than every checkpoint
	} {
		if err := sink.Deliver(context.Background(), b); err != nil {
			t.Fatalf("Deliver %s: %v", b.ID, err)
		}
	}
	dir := filepath.Join(gw.Root, "audit")
	bin := trailBinary(t)
	res := mustRun(t, bin, nil, "verify", dir, "--key", log.VerifierKey)
	for _, want := range []string{"objects:    4 (3 distinct checkpoints; 20 identical copies", "events:     30 of 30: complete",
		"newer:      10 events after the newest checkpoint", "verified"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("trail verify DIR printed\n%s\nwant %q", res.stdout, want)
		}
	}

	// Without a key: a usage error that says where the key comes from.
	if res := runTrail(t, bin, nil, "verify", dir); res.code != 2 || !strings.Contains(res.stderr, "trail keys verifier") {
		t.Errorf("verify DIR without --key: exit %d, %s; want 2 and where to get the key", res.code, res.stderr)
	}

	// A lost object: the gap is named, the prefix before it still proven.
	objs := gw.Objects(t, "audit", "trail")
	lost := t.TempDir()
	copyTree(t, dir, lost)
	os.Remove(filepath.Join(lost, objs[1])) // 10 … 24
	os.Remove(filepath.Join(lost, objs[2])) // 5 … 29
	res = runTrail(t, bin, nil, "verify", lost, "--key", log.VerifierKey)
	if res.code != 1 || !strings.Contains(res.stdout, "missing:    20 events: 10 … 29") ||
		!strings.Contains(res.stdout, "proven:     events 0 … 9 match the checkpoint of size 10") ||
		!strings.Contains(res.stderr, "event seq 10") {
		t.Errorf("verify with objects lost: exit %d\n%s%s\nwant 1, the missing seqs 10 … 29 and the proven prefix", res.code, res.stdout, res.stderr)
	}

	// An altered event.
	altered := t.TempDir()
	copyTree(t, dir, altered)
	rewriteObject(t, filepath.Join(altered, objs[0]), func(s string) string {
		return strings.Replace(s, "alice created repo 2 ", "mallory created repo 2 ", 1)
	})
	res = runTrail(t, bin, nil, "verify", altered, "--key", log.VerifierKey)
	if res.code != 1 || !strings.Contains(res.stderr, "does not verify") {
		t.Errorf("verify with an altered event: exit %d\n%s%s\nwant 1 and does not verify", res.code, res.stdout, res.stderr)
	}

	// Two copies of one seq that differ: named with both objects.
	rewriteObject(t, filepath.Join(altered, objs[0]), func(s string) string {
		return strings.Replace(s, "alice created repo 7 ", "mallory created repo 7 ", 1)
	})
	res = runTrail(t, bin, nil, "verify", altered, "--key", log.VerifierKey)
	if res.code != 1 || !strings.Contains(res.stderr, "hold different bytes") {
		t.Errorf("verify with two different copies of a seq: exit %d\n%s%s\nwant 1 naming both objects", res.code, res.stdout, res.stderr)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rewriteObject gunzips an object, edits it and gzips it back.
func rewriteObject(t *testing.T, path string, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	edited := edit(string(plain))
	if edited == string(plain) {
		t.Fatal("the edit changed nothing")
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write([]byte(edited))
	zw.Close()
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
