// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/api"
	"github.com/trailaudit/trail/internal/audit"
)

// TestFsyncFailureOverHTTP serves the real API over the log engine and
// makes an fdatasync fail (of the log on ingest, or of a block while
// sealing): from then on ingest answers 503 without Retry-After (the
// failure lasts until a restart) and a JSON store_failed error saying
// events are refused until Trail restarts, even once the device works
// again; /readyz answers the same; reads keep working.
func TestFsyncFailureOverHTTP(t *testing.T) {
	for _, c := range []struct {
		name, file string // which file's fdatasync fails
		seal       bool   // the failure happens while sealing
	}{
		{"log", "wal", false},
		{"block", "blocks", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, base, key := serveLogStore(t)
			post := func() (int, http.Header, string) {
				body := `{"events":[{"type":"repo.create","actor":{"type":"user","id":"u1","name":"alice"},"targets":[{"type":"repo","id":"r1","name":"acme/llama"}]}]}`
				return httpDo(t, "POST", base+"/api/v1/orgs/acme/events", key, body)
			}
			if st, _, body := post(); st != 200 {
				t.Fatalf("ingest before the failure: %d %s", st, body)
			}
			if st, _, body := httpDo(t, "GET", base+"/readyz", "", ""); st != 200 {
				t.Fatalf("/readyz before the failure: %d %s", st, body)
			}
			defer func(f func(*os.File) error) { fdatasync = f }(fdatasync)
			fdatasync = func(f *os.File) error {
				if strings.Contains(f.Name(), c.file) {
					return syscall.EIO
				}
				return syscall.Fdatasync(int(f.Fd()))
			}
			if c.seal {
				if err := s.Seal(context.Background()); err == nil {
					t.Fatal("Seal with a failing block fdatasync: nil error")
				}
			} else {
				st, h, body := post()
				wantRefusal(t, "ingest whose log sync fails", st, h, body)
			}
			fdatasync = func(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
			st, h, body := post()
			wantRefusal(t, "ingest after the failure, the device working again", st, h, body)
			st, h, body = httpDo(t, "GET", base+"/readyz", "", "")
			wantRefusal(t, "/readyz after the failure", st, h, body)
			if st, _, body := httpDo(t, "GET", base+"/api/v1/orgs/acme/events", key, ""); st != 200 || !strings.Contains(body, "acme/llama") {
				t.Errorf("reading after the failure: %d %s", st, body)
			}
		})
	}
}

// wantRefusal checks a 503 without Retry-After and the JSON store_failed
// error saying events are refused until a restart.
func wantRefusal(t *testing.T, what string, status int, h http.Header, body string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if status != 503 || h.Values("Retry-After") != nil || json.Unmarshal([]byte(body), &e) != nil ||
		e.Error.Code != "store_failed" || !strings.Contains(e.Error.Message, "accepts no events until Trail restarts") {
		t.Errorf("%s: %d, Retry-After %q, %s; want 503, no Retry-After and a store_failed error saying events are refused until Trail restarts",
			what, status, h.Get("Retry-After"), body)
	}
}

// serveLogStore runs the real service and API over a log engine in a
// temporary directory on 127.0.0.1, with an admin key.
func serveLogStore(t *testing.T) (*Store, string, string) {
	t.Helper()
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := audit.NewService(audit.Config{Store: s, Logger: log})
	a := api.New(api.Config{Service: svc, Logger: log})
	srv := httptest.NewServer(a)
	t.Cleanup(func() {
		srv.Close()
		a.Close()
		svc.Close()
		s.Close()
	})
	id, secret := audit.NewKeySecret()
	k := audit.Key{ID: id, Name: "test", Scope: audit.ScopeAdmin, CreatedAt: time.Now()}
	if err := s.CreateKey(context.Background(), k, audit.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}
	return s, srv.URL, secret
}

func httpDo(t *testing.T, method, url, key, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
