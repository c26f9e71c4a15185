// SPDX-License-Identifier: Apache-2.0

// Package s3test runs a real S3 server for tests: versitygw
// (github.com/versity/versitygw) with its posix backend, on 127.0.0.1 at
// an OS-picked port, checking SigV4 signatures. The binary is the one
// .ci/run installs (go install github.com/versity/versitygw/cmd/versitygw@Version);
// tests skip with that command when it is missing.
package s3test

import (
	"bytes"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/sigv4"
)

// Version is the versitygw release the tests run (.ci/run installs it).
const Version = "v1.8.0"

// Region is the server's region.
const Region = "us-east-1"

// Server is a running versitygw.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT
	KeyID    string
	Secret   string
	Root     string // the posix backend's directory: ROOT/BUCKET/KEY are the objects
}

// binary finds versitygw: $TRAIL_TEST_VERSITYGW, then $PATH, then
// $GOBIN or $GOPATH/bin (where go install puts it).
func binary() string {
	if p := os.Getenv("TRAIL_TEST_VERSITYGW"); p != "" {
		return p
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	dirs := []string{os.Getenv("GOBIN")}
	for _, gp := range filepath.SplitList(build.Default.GOPATH) {
		dirs = append(dirs, filepath.Join(gp, "bin"))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, "versitygw"); d != "" && isExec(p) {
			return p
		}
	}
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Start runs versitygw for the test and stops it at cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binary()
	if bin == "" {
		t.Skip("versitygw is not installed: go install github.com/versity/versitygw/cmd/versitygw@" + Version + " (.ci/run does)")
	}
	dir := t.TempDir()
	s := &Server{KeyID: "trailtestkey", Secret: "trail-test-secret-0123456789", Root: filepath.Join(dir, "root")}
	meta := filepath.Join(dir, "meta")
	for _, d := range []string{s.Root, meta} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	s.Endpoint = "http://" + addr
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--access", s.KeyID, "--secret", s.Secret, "--region", Region,
		"--port", addr, "--quiet", "posix", "--sidecar", meta, s.Root)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting versitygw: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case <-done:
			t.Fatalf("versitygw exited: %s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen on %s within 30s: %s", addr, logs.String())
		}
	}
}

func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Do sends a signed request (path-style: /BUCKET/KEY) and returns the
// status and body.
func (s *Server) Do(t testing.TB, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint+sigv4.Escape(path, false), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sigv4.Signer{KeyID: s.KeyID, Secret: s.Secret, Region: Region, Service: "s3"}.Sign(req, sigv4.PayloadHash(body), time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return resp.StatusCode, out.Bytes()
}

// CreateBucket creates a bucket.
func (s *Server) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	if st, body := s.Do(t, "PUT", "/"+bucket, nil); st != 200 {
		t.Fatalf("CreateBucket %s: %d %s", bucket, st, body)
	}
}

// Objects lists the files under ROOT/BUCKET/PREFIX, as keys, sorted.
func (s *Server) Objects(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	base := filepath.Join(s.Root, bucket)
	err := filepath.Walk(filepath.Join(base, prefix), func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			rel, _ := filepath.Rel(base, p)
			keys = append(keys, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", prefix, err)
	}
	return keys
}

// String names the server in test output.
func (s *Server) String() string {
	return fmt.Sprintf("versitygw %s at %s", Version, strings.TrimPrefix(s.Endpoint, "http://"))
}
