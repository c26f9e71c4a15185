// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/s3test"
	"github.com/trailaudit/trail/internal/stream"
	"github.com/trailaudit/trail/internal/stream/streamtest"
)

func s3Settings(gw *s3test.Server, secret string) string {
	return `{"endpoint":"` + gw.Endpoint + `","region":"us-east-1","bucket":"trail-audit","prefix":"/streams/prod/",` +
		`"access_key_id":"` + gw.KeyID + `","secret_access_key":"` + secret + `","path_style":true}`
}

// readObject returns the lines of a gzip'd NDJSON object in the posix
// backend's directory.
func readObject(t *testing.T, gw *s3test.Server, key string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(gw.Root, "trail-audit", key))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s is not gzip: %v", key, err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(plain, []byte("\n")) {
		t.Errorf("%s does not end with a newline", key)
	}
	return strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n")
}

// TestS3 delivers batches of real events with real checkpoints to
// versitygw, which checks every SigV4 signature, and reads the objects
// back from its backend directory.
func TestS3(t *testing.T) {
	gw := s3test.Start(t)
	gw.CreateBucket(t, "trail-audit")
	log := streamtest.New(t)
	log.Add("acme", 25) // 23:50 … 00:14: two days
	sink, _ := openKind(t, "s3", s3Settings(gw, gw.Secret))
	ctx := context.Background()

	b1 := log.Batch("acme", 0, 10, 10)
	b2 := log.Batch("acme", 10, 25, 25)
	idle := log.Batch("acme", 25, 25, 25)
	for _, b := range []*stream.Batch{b1, b2, b2, idle} { // b2 twice: a retry
		if err := sink.Deliver(ctx, b); err != nil {
			t.Fatalf("Deliver %s: %v", b.ID, err)
		}
	}
	want := []string{
		"streams/prod/acme/2026/03/10/0000000000000000000-0000000000000000009.ndjson.gz",
		"streams/prod/acme/2026/03/11/0000000000000000010-0000000000000000024.ndjson.gz",
		"streams/prod/acme/2026/03/11/0000000000000000025-checkpoint.ndjson.gz",
	}
	got := gw.Objects(t, "trail-audit", "streams")
	if len(got) == 3 { // the idle delivery has no event: it is named by the day it was sent
		day := strings.Split(got[2], "/")[3:6]
		want[2] = "streams/prod/acme/" + strings.Join(day, "/") + "/0000000000000000025-checkpoint.ndjson.gz"
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("objects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i, b := range []*stream.Batch{b1, b2, idle} {
		lines := readObject(t, gw, want[i])
		if len(lines) != len(b.Events)+1 {
			t.Fatalf("%s has %d lines, want %d events and the checkpoint", want[i], len(lines), len(b.Events))
		}
		for j, ev := range b.Events {
			if lines[j] != string(ev.Data) {
				t.Errorf("%s line %d:\n got %s\nwant %s (the event's stored bytes)", want[i], j+1, lines[j], ev.Data)
			}
		}
		if cp := lines[len(lines)-1]; cp != string(checkpointJSON(b.Checkpoint)) {
			t.Errorf("%s last line = %s, want the checkpoint %q", want[i], cp, b.Checkpoint)
		}
	}
}

// TestS3WrongSecret: versitygw refuses the signature, and Deliver says so.
func TestS3WrongSecret(t *testing.T) {
	gw := s3test.Start(t)
	gw.CreateBucket(t, "trail-audit")
	log := streamtest.New(t)
	log.Add("acme", 3)
	sink, _ := openKind(t, "s3", s3Settings(gw, "not-the-secret"))
	err := sink.Deliver(context.Background(), log.Batch("acme", 0, 3, 3))
	var se *stream.StatusError
	if !errors.As(err, &se) || se.Status != 403 || se.Code != "SignatureDoesNotMatch" {
		t.Fatalf("Deliver with a wrong secret = %v, want HTTP 403 SignatureDoesNotMatch", err)
	}
	if se.Retryable() {
		t.Error("a signature error is retryable, want not")
	}
	if objs := gw.Objects(t, "trail-audit", ""); len(objs) != 0 {
		t.Errorf("objects after a refused PUT: %v", objs)
	}
}

func TestS3Settings(t *testing.T) {
	ok := `"region":"eu-west-1","bucket":"logs","access_key_id":"AK","secret_access_key":"SK"`
	for _, c := range []struct{ settings, field string }{
		{`{"bucket":"logs","access_key_id":"AK","secret_access_key":"SK"}`, "region"},
		{`{` + ok + `,"endpoint":"ftp://x"}`, "endpoint"},
		{`{` + ok + `,"endpoint":"http://s3.example.com"}`, "endpoint"},
		{`{` + ok + `,"endpoint":"https://s3.example.com/base"}`, "endpoint"},
		{`{` + ok + `,"endpoint":"https://u:p@s3.example.com"}`, "endpoint"},
		{`{"region":"eu-west-1","bucket":"Logs","access_key_id":"AK","secret_access_key":"SK"}`, "bucket"},
		{`{"region":"eu-west-1","bucket":"l","access_key_id":"AK","secret_access_key":"SK"}`, "bucket"},
		{`{` + ok + `,"prefix":"a/../b"}`, "prefix"},
		{`{` + ok + `,"prefix":"a//b"}`, "prefix"},
		{`{` + ok + `,"prefix":"a b"}`, "prefix"},
		{`{` + ok + `,"prefix":"` + strings.Repeat("a", 513) + `"}`, "prefix"},
		{`{"region":"eu-west-1","bucket":"logs","secret_access_key":"SK"}`, "access_key_id"},
		{`{"region":"eu-west-1","bucket":"logs","access_key_id":"AK"}`, "secret_access_key"},
		{`{"region":"eu-west-1","bucket":"my.logs","access_key_id":"AK","secret_access_key":"SK"}`, "path_style"},
		{`{` + ok + `,"path_style":"yes"}`, "path_style"},
		{`{` + ok + `,"acl":"public"}`, "acl"},
	} {
		settingError(t, "s3", c.settings, c.field)
	}
	k, _ := stream.LookupKind("s3")
	c, err := k.Create([]byte(`{` + ok + `}`))
	if err != nil {
		t.Fatal(err)
	}
	pub := k.Public(c.Settings)
	if _, leaked := pub["secret_access_key"]; leaked || strings.Contains(string(mustJSON(pub)), "SK") {
		t.Errorf("Public = %v: the secret leaked", pub)
	}
	if pub["endpoint"] != "https://s3.eu-west-1.amazonaws.com" || pub["bucket"] != "logs" || pub["access_key_id"] != "AK" {
		t.Errorf("Public = %v, want the default AWS endpoint, the bucket and the key id", pub)
	}
}
