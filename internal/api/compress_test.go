// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/audit"
)

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(t testing.TB, b []byte, opts ...zstd.EOption) []byte {
	zw, err := zstd.NewWriter(nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return zw.EncodeAll(b, nil)
}

// zstdFrame is a zstd frame of one raw block holding data, declaring a
// window of 2^log bytes, as a streaming encoder with that window writes.
func zstdFrame(log int, data []byte) []byte {
	f := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, byte(log-10) << 3}
	h := 1 | len(data)<<3 // last block, raw
	f = append(f, byte(h), byte(h>>8), byte(h>>16))
	return append(f, data...)
}

// postEncoded posts body with a Content-Encoding.
func (e *env) postEncoded(org, contentType, encoding string, body []byte) reply {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.URL+"/api/v1/orgs/"+org+"/events", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.Admin)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", encoding)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

const ndjsonEvents = `{"id":"c1","type":"org.change_role","actor":{"type":"user","id":"u1"},"targets":[{"type":"user","id":"u2"}],"metadata":{"new_role":"write"}}
{"id":"c2","type":"repo.create","actor":{"type":"user","id":"u1"},"targets":[{"type":"repo","name":"acme/x"}]}
`

func TestIngestCompressedBodies(t *testing.T) {
	e := newEnv(t)
	envelope := []byte(`{"events":[{"id":"c3","type":"repo.create","actor":{"type":"user","id":"u1"},"targets":[{"type":"repo","name":"acme/y"}]}]}`)
	for _, tt := range []struct {
		encoding, contentType string
		body                  []byte
		org                   string
	}{
		{"gzip", "application/x-ndjson", gzipped(t, []byte(ndjsonEvents)), "gz"},
		{"x-gzip", "application/json", gzipped(t, envelope), "xgz"},
		{"zstd", "application/x-ndjson", zstded(t, []byte(ndjsonEvents)), "zs"},
		{"ZSTD", "application/json", zstded(t, envelope), "zs2"},
		{"identity", "application/json", envelope, "id"},
	} {
		r := e.postEncoded(tt.org, tt.contentType, tt.encoding, tt.body)
		if r.Status != 200 {
			t.Errorf("%s: status %d: %s", tt.encoding, r.Status, r.Body)
		}
	}
	for org, want := range map[string]int64{"gz": 2, "xgz": 1, "zs": 2, "zs2": 1, "id": 1} {
		if n := e.size(org); n != want {
			t.Errorf("%s: %d events stored, want %d", org, n, want)
		}
	}
}

func TestIngestRejectsBadCompressedBodies(t *testing.T) {
	e := newEnv(t)
	limit := e.Svc.Limits().MaxBody
	overLimit := append([]byte(`{"events":[{}]}`), bytes.Repeat([]byte(" "), int(limit))...)
	for _, tt := range []struct {
		name, encoding string
		body           []byte
		status         int
		message        string
	}{
		{"unknown coding", "br", []byte("x"), 415, `unsupported Content-Encoding "br"`},
		{"not gzip", "gzip", []byte(`{"events":[]}`), 400, "not valid gzip data"},
		{"truncated gzip", "gzip", gzipped(t, []byte(ndjsonEvents))[:20], 400, "not valid gzip data"},
		{"not zstd", "zstd", []byte(`{"events":[]}`), 400, "not valid zstd data"},
		{"gzip one byte over the limit", "gzip", gzipped(t, overLimit[:limit+1]), 413, "decompressed, is larger than 8388608 bytes"},
		{"zstd one byte over the limit", "zstd", zstded(t, overLimit[:limit+1]), 413, "decompressed, is larger than 8388608 bytes"},
		{"zstd window over 8 MiB", "zstd", zstdFrame(26, []byte(ndjsonEvents)), 413, "window larger than"},
		{"zstd window of 8 MiB", "zstd", zstdFrame(23, []byte("\n")), 400, "the batch has no events"},
	} {
		r := e.postEncoded("bad", "application/x-ndjson", tt.encoding, tt.body)
		if msg := r.apiError().Message; r.Status != tt.status || !strings.Contains(msg, tt.message) {
			t.Errorf("%s: %d %q, want %d containing %q", tt.name, r.Status, msg, tt.status, tt.message)
		}
	}
	// Exactly at the limit, decompressed: accepted as far as the size goes.
	atLimit := append([]byte(ndjsonEvents), bytes.Repeat([]byte("\n"), int(limit)-len(ndjsonEvents))...)
	if r := e.postEncoded("edge", "application/x-ndjson", "gzip", gzipped(t, atLimit)); r.Status != 200 {
		t.Errorf("body of exactly the limit: %d %s", r.Status, r.Body)
	}
	if n := e.size("bad"); n != 0 {
		t.Errorf("%d events stored from rejected bodies", n)
	}
}

// TestIngestDecompressionBomb: a small body that inflates to 32 times the
// limit is refused with 413 after reading no more than the limit: the
// server's memory does not grow with what the bomb would inflate to.
func TestIngestDecompressionBomb(t *testing.T) {
	e := newEnv(t)
	limit := e.Svc.Limits().MaxBody
	inflated := make([]byte, 32*limit) // 256 MiB of zeros
	for _, tt := range []struct {
		encoding string
		body     []byte
	}{
		{"zstd", zstded(t, inflated, zstd.WithWindowSize(1<<20))},
		{"gzip", gzipped(t, inflated[:4*limit])},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r := e.postEncoded("bomb", "application/json", tt.encoding, tt.body)
		runtime.ReadMemStats(&after)
		if r.Status != 413 || r.apiError().Code != string(audit.CodeTooLarge) {
			t.Errorf("%s bomb of %d bytes: %d %s", tt.encoding, len(tt.body), r.Status, r.Body)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > uint64(6*limit) {
			t.Errorf("%s bomb: the server allocated %d MiB for a limit of %d MiB", tt.encoding, grew>>20, limit>>20)
		}
	}
}

func TestClientCompression(t *testing.T) {
	e := newEnv(t)
	for i, enc := range []client.Compression{client.Gzip, client.Zstd, client.NoCompression} {
		c := client.New(e.URL, e.Admin, client.WithCompression(enc))
		acks, err := c.Ingest(context.Background(), "acme", []client.Event{changeRole("", "bob"), repoCreate("", "r")})
		if err != nil {
			t.Fatalf("%q: %v", enc, err)
		}
		if acks[0].Seq != int64(2*i) || acks[1].Seq != int64(2*i+1) {
			t.Errorf("%q: acks %+v", enc, acks)
		}
	}
	c := client.New(e.URL, e.Admin, client.WithCompression("br"))
	if _, err := c.Ingest(context.Background(), "acme", []client.Event{changeRole("", "bob")}); err == nil || !strings.Contains(err.Error(), `unknown compression "br"`) {
		t.Errorf("unknown compression: %v", err)
	}
}
