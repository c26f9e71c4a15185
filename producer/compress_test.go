// SPDX-License-Identifier: Apache-2.0

package producer_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/trailtest"
	"github.com/trailaudit/trail/producer"
)

// encodingProxy forwards every request to Trail unchanged and records,
// for each ingest request, its Content-Encoding and whether the body
// really decodes with it into a batch of events.
type encodingProxy struct {
	mu        sync.Mutex
	encodings []string
	problems  []string
	proxy     *httputil.ReverseProxy
}

func (e *encodingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events") {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		enc := r.Header.Get("Content-Encoding")
		if err == nil {
			err = decodesToBatch(enc, body)
		}
		e.mu.Lock()
		e.encodings = append(e.encodings, enc)
		if err != nil {
			e.problems = append(e.problems, fmt.Sprintf("request %d (Content-Encoding %q): %v", len(e.encodings), enc, err))
		}
		e.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	e.proxy.ServeHTTP(w, r)
}

// decodesToBatch checks that body, decoded as enc says, is a JSON batch.
func decodesToBatch(enc string, body []byte) error {
	var r io.Reader = bytes.NewReader(body)
	switch enc {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("not gzip: %w", err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(r)
		if err != nil {
			return fmt.Errorf("not zstd: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return fmt.Errorf("unexpected coding")
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	if !bytes.HasPrefix(plain, []byte(`{"events":[`)) {
		return fmt.Errorf("decoded body is not a batch: %.60q", plain)
	}
	return nil
}

// TestCompression: by default the producer's requests arrive at a real
// Trail gzip-compressed; Config.Compression picks zstd or none; in every
// case the events are stored exactly as sent.
func TestCompression(t *testing.T) {
	tr := startTrail(t, "", "")
	target, _ := url.Parse(tr.Base)
	for _, tc := range []struct {
		name   string
		config client.Compression
		want   string
	}{
		{"default", "", "gzip"},
		{"gzip", client.Gzip, "gzip"},
		{"zstd", client.Zstd, "zstd"},
		{"none", producer.Uncompressed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := &encodingProxy{proxy: httputil.NewSingleHostReverseProxy(target)}
			front := httptest.NewServer(ep)
			defer front.Close()
			cfg := testConfig(front.URL, tr.key, t.TempDir())
			cfg.Org = "compress-" + tc.name
			cfg.Compression = tc.config
			cfg.MaxBatch = 20 // several requests
			p := open(t, cfg)
			ctx := ctxT(t)
			var sent []client.Event
			for i := 0; i < 50; i++ {
				ev := repoEvent(tc.name + "-" + strconv.Itoa(i))
				ev.Targets[0].Name = "acme/модель-" + strconv.Itoa(i) // non-ASCII survives the coding
				ev.Metadata = map[string]any{"repo_type": "model", "private": i%2 == 0}
				sent = append(sent, ev)
				if err := p.Send(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Flush(ctx); err != nil {
				t.Fatal(err)
			}

			ep.mu.Lock()
			defer ep.mu.Unlock()
			if len(ep.problems) > 0 {
				t.Fatal(strings.Join(ep.problems, "\n"))
			}
			if len(ep.encodings) < 3 {
				t.Fatalf("%d ingest requests, want at least 3 (50 events, batches of 20)", len(ep.encodings))
			}
			for i, enc := range ep.encodings {
				if enc != tc.want {
					t.Errorf("request %d: Content-Encoding %q, want %q", i+1, enc, tc.want)
				}
			}
			storedIntact(t, trailtest.All(t, tr.Base, tr.key, cfg.Org), sent)
		})
	}
}

// storedIntact checks that stored holds exactly sent, in order, with
// their actors, targets and metadata.
func storedIntact(t *testing.T, stored []trailtest.Stored, sent []client.Event) {
	t.Helper()
	if len(stored) != len(sent) {
		t.Fatalf("Trail has %d events, want %d", len(stored), len(sent))
	}
	for i, s := range stored {
		e := sent[i]
		if s.ID != e.ID || s.Type != e.Type || s.Actor != e.Actor {
			t.Fatalf("event %d: stored %s %s %+v, sent %s %s %+v", i, s.ID, s.Type, s.Actor, e.ID, e.Type, e.Actor)
		}
		if len(s.Targets) != 1 || s.Targets[0] != e.Targets[0] {
			t.Fatalf("event %s: stored targets %+v, sent %+v", e.ID, s.Targets, e.Targets)
		}
		if got, want := fmt.Sprint(s.Metadata), fmt.Sprint(e.Metadata); got != want {
			t.Fatalf("event %s: stored metadata %s, sent %s", e.ID, got, want)
		}
	}
}

// TestCompressionRefusesUnknown: Open names a Compression it does not know.
func TestCompressionRefusesUnknown(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1", "k", t.TempDir())
	cfg.Compression = "brotli"
	_, err := producer.Open(cfg)
	if err == nil || !strings.Contains(err.Error(), `Config.Compression "brotli"`) {
		t.Fatalf("Open with brotli: %v, want an error naming Config.Compression", err)
	}
}
