// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &stdout, &stderr); code != 0 {
		t.Fatalf("trail version exited %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("trail version printed %d lines, want 5:\n%s", len(lines), stdout.String())
	}
	want := []string{
		"trail dev",
		"commit:   unknown (built without version control information)", // test binaries carry no vcs.* settings
		"go:       " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		"licence:  Apache-2.0; Trail's NOTICE and the licences of everything built into this binary: trail version --licenses",
		"source:   https://github.com/trailaudit/trail (LICENSE, NOTICE, THIRD_PARTY_LICENSES)",
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], want[i])
		}
	}
}

// TestVersionLicenses: the binary carries Trail's licence, NOTICE and the
// third-party licences as they are in the source tree.
func TestVersionLicenses(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"version", "--licenses"}, &stdout, &stderr); code != 0 {
		t.Fatalf("trail version --licenses exited %d: %s", code, stderr.String())
	}
	var want []string
	for _, name := range []string{"LICENSE", "NOTICE", "THIRD_PARTY_LICENSES"} {
		b, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, string(b))
	}
	if got := stdout.String(); got != strings.Join(want, "\n") {
		t.Errorf("trail version --licenses printed %d bytes, want LICENSE, NOTICE and THIRD_PARTY_LICENSES (%d bytes)", len(got), len(strings.Join(want, "\n")))
	}
	for _, s := range []string{"Apache License", "IP Geolocation by DB-IP", "modernc.org/sqlite", "github.com/jackc/pgx/v5"} {
		if !strings.Contains(stdout.String(), s) {
			t.Errorf("trail version --licenses lacks %q", s)
		}
	}
}

// TestVersionOfABuild builds trail the way a release is built (version set
// by the linker, commit recorded by go build) and checks what it prints.
func TestVersionOfABuild(t *testing.T) {
	out, err := exec.Command("git", "rev-parse", "HEAD", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("needs git and a Git checkout to stamp the commit: git rev-parse: %v", err)
	}
	head, top, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if fi, err := os.Stat(filepath.Join(top, ".git")); err != nil || !fi.IsDir() {
		t.Skipf("go build records the commit only in a checkout whose .git is a directory; %s is a git worktree", top)
	}
	bin := filepath.Join(t.TempDir(), "trail")
	build := exec.Command("go", "build", "-buildvcs=true", "-ldflags", "-X main.version=v9.8.7", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("trail version: %v\n%s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	if lines[0] != "trail v9.8.7" {
		t.Errorf("first line = %q, want %q", lines[0], "trail v9.8.7")
	}
	wantCommit := "commit:   " + head + " ("
	if len(lines) < 2 || !strings.HasPrefix(lines[1], wantCommit) {
		t.Errorf("second line = %q, want it to start with %q", lines[1], wantCommit)
	}
}
