// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/legal"
)

// TestRun generates the notices of a small module that requires one of
// Trail's own dependencies, from the real module cache.
func TestRun(t *testing.T) {
	root := t.TempDir()
	gomod := "module example.com/app\n\ngo 1.26\n\nrequire golang.org/x/mod v0.42.0\n"
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(root)
	if errors.Is(err, legal.ErrNotDownloaded) {
		t.Skipf("golang.org/x/mod v0.42.0 is not in the module cache (CI runs go mod download): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	notice, err := os.ReadFile(filepath.Join(root, legal.NoticeFile))
	if err != nil {
		t.Fatal(err)
	}
	if listed, err := legal.Listed(notice); err != nil || len(listed) != 1 || listed["golang.org/x/mod"] != "v0.42.0" {
		t.Errorf("NOTICE lists %v (%v); want golang.org/x/mod v0.42.0 alone", listed, err)
	}
	third, err := os.ReadFile(filepath.Join(root, legal.ThirdPartyFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"golang.org/x/mod v0.42.0 (BSD-3-Clause)", "----- PATENTS -----", "The Go standard library and runtime (BSD-3-Clause)"} {
		if !strings.Contains(string(third), want) {
			t.Errorf("THIRD_PARTY_LICENSES lacks %q", want)
		}
	}
}
