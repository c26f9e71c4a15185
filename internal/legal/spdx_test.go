// SPDX-License-Identifier: Apache-2.0

package legal

import (
	"bytes"
	"go/build"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestGoFilesHaveSPDXHeader is the guard: every Go file in Trail starts
// with the SPDX line.
func TestGoFilesHaveSPDXHeader(t *testing.T) {
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	missing, err := MissingHeader(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("%d Go files do not start with %q (run `go run ./internal/tools/spdx` at the module root):\n%s",
			len(missing), Header, strings.Join(missing, "\n"))
	}
}

func TestAddHeader(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"bare package", "package x\n", Header + "\n\npackage x\n"},
		{"doc comment", "// Package x does y.\npackage x\n", Header + "\n\n// Package x does y.\npackage x\n"},
		{"build constraint", "//go:build linux\n\npackage x\n", Header + "\n\n//go:build linux\n\npackage x\n"},
		{"has it", Header + "\n\npackage x\n", Header + "\n\npackage x\n"},
		{"has it, CRLF", Header + "\r\n\r\npackage x\r\n", Header + "\r\n\r\npackage x\r\n"},
		{"not on the first line", "// Package x.\n" + Header + "\npackage x\n", Header + "\n\n// Package x.\n" + Header + "\npackage x\n"},
		{"empty", "", Header + "\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AddHeader([]byte(tt.src)))
			if got != tt.want {
				t.Errorf("AddHeader(%q) = %q, want %q", tt.src, got, tt.want)
			}
			if !HasHeader([]byte(got)) {
				t.Errorf("HasHeader(%q) = false after AddHeader", got)
			}
		})
	}
}

// TestAddHeaderKeepsMeaning: the header joins neither the package doc
// comment nor hides a build constraint.
func TestAddHeaderKeepsMeaning(t *testing.T) {
	src := []byte("// Package x does y.\npackage x\n")
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", AddHeader(src), parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Doc.Text(); got != "Package x does y.\n" {
		t.Errorf("package doc after AddHeader = %q, want %q", got, "Package x does y.\n")
	}

	ignored := AddHeader([]byte("//go:build ignore\n\npackage x\n"))
	ctx := build.Default
	ctx.OpenFile = func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(ignored)), nil }
	match, err := ctx.MatchFile(".", "x.go")
	if err != nil {
		t.Fatal(err)
	}
	if match {
		t.Errorf("a file with //go:build ignore is built after AddHeader:\n%s", ignored)
	}
}

func TestAddMissingHeaders(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":               "module example.com/x\n",
		"a.go":                 "package x\n",
		"b.go":                 Header + "\n\npackage x\n",
		"sub/c.go":             "// Package sub.\npackage sub\n",
		"sub/notes.txt":        "not Go\n",
		"testdata/d.go":        "package fixture\n",
		".hidden/e.go":         "package e\n",
		"_scratch/f.go":        "package f\n",
		"vendor/g/g.go":        "package g\n",
		"sub/deeper/h_test.go": "package deeper\n",
	}
	for name, text := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"a.go", "sub/c.go", "sub/deeper/h_test.go"}
	missing, err := MissingHeader(root)
	if err != nil || !slices.Equal(missing, want) {
		t.Fatalf("MissingHeader = %q, %v; want %q", missing, err, want)
	}
	changed, err := AddMissingHeaders(root)
	if err != nil || !slices.Equal(changed, want) {
		t.Fatalf("AddMissingHeaders = %q, %v; want %q", changed, err, want)
	}
	for _, name := range want {
		path := filepath.Join(root, filepath.FromSlash(name))
		got, _ := os.ReadFile(path)
		if string(got) != Header+"\n\n"+files[name] {
			t.Errorf("%s = %q, want the header then %q", name, got, files[name])
		}
		if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600 kept", name, info.Mode().Perm(), err)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(root, "testdata/d.go")); string(got) != files["testdata/d.go"] {
		t.Errorf("testdata/d.go changed to %q; testdata is skipped", got)
	}
	if again, err := AddMissingHeaders(root); err != nil || len(again) != 0 {
		t.Errorf("second AddMissingHeaders = %q, %v; want nothing changed", again, err)
	}
}

func TestModuleRoot(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ModuleRoot(deep)
	if err != nil || got != root {
		t.Errorf("ModuleRoot(%s) = %q, %v; want %q", deep, got, err, root)
	}
}
