// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/legal"
)

func TestRun(t *testing.T) {
	root := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":   "module example.com/x\n",
		"a.go":     "package x\n",
		"sub/b.go": legal.Header + "\n\npackage sub\n",
	} {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sub := filepath.Join(root, "sub") // it finds the module root above
	steps := []struct {
		args   []string
		code   int
		stdout string
	}{
		{[]string{"-check"}, 1, "a.go\n"},
		{nil, 0, "a.go\n"},
		{[]string{"-check"}, 0, ""},
		{nil, 0, ""},
		{[]string{"-bogus"}, 2, ""},
	}
	for _, s := range steps {
		var stdout, stderr bytes.Buffer
		code := run(s.args, sub, &stdout, &stderr)
		if code != s.code || stdout.String() != s.stdout {
			t.Errorf("spdx %s = exit %d, stdout %q (stderr %q); want exit %d, stdout %q",
				strings.Join(s.args, " "), code, stdout.String(), stderr.String(), s.code, s.stdout)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(root, "a.go")); !legal.HasHeader(got) {
		t.Errorf("a.go = %q after spdx, want the header first", got)
	}
}
