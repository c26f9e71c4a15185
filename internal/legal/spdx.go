// SPDX-License-Identifier: Apache-2.0

// Package legal keeps Trail's licence material true: the SPDX header at the
// top of every Go file, and the notices for every module go.mod requires,
// generated from go.mod and the Go module cache. The commands in
// internal/tools/spdx and internal/tools/notices run it (both are `go
// generate .` steps); its tests fail when a Go file lacks the header or a
// dependency lacks its notice.
package legal

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Header is the first line of every Go file in Trail.
const Header = "// SPDX-License-Identifier: Apache-2.0"

// HasHeader reports whether src's first line is exactly Header (a trailing
// carriage return allowed).
func HasHeader(src []byte) bool {
	line, _, _ := bytes.Cut(src, []byte("\n"))
	return string(bytes.TrimSuffix(line, []byte("\r"))) == Header
}

// AddHeader returns src with Header and a blank line in front of it, or src
// itself when it has the header. The blank line keeps the header out of a
// package doc comment, and a //go:build line may follow comments and blank
// lines, so every Go file stays valid.
func AddHeader(src []byte) []byte {
	if HasHeader(src) {
		return src
	}
	out := make([]byte, 0, len(Header)+2+len(src))
	out = append(out, Header+"\n\n"...)
	return append(out, src...)
}

// GoFiles returns the .go files under root, as slash-separated paths
// relative to root, sorted. Like the go command it skips directories named
// testdata or vendor and those whose name starts with "." or "_".
func GoFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".go") && d.Type().IsRegular() {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("legal: listing Go files under %s: %w", root, err)
	}
	slices.Sort(files)
	return files, nil
}

func skipDir(name string) bool {
	return name == "testdata" || name == "vendor" ||
		strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// MissingHeader returns the Go files under root (as GoFiles names them)
// whose first line is not Header.
func MissingHeader(root string) ([]string, error) {
	return eachGoFile(root, nil)
}

// AddMissingHeaders puts Header at the top of every Go file under root that
// lacks it, keeping each file's permissions, and returns the files changed.
func AddMissingHeaders(root string) ([]string, error) {
	return eachGoFile(root, func(path string, src []byte) error {
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		return os.WriteFile(path, AddHeader(src), info.Mode().Perm())
	})
}

// eachGoFile returns the Go files under root without the header, after
// calling fix (when not nil) for each of them.
func eachGoFile(root string, fix func(path string, src []byte) error) ([]string, error) {
	files, err := GoFiles(root)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, name := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		src, err := os.ReadFile(path)
		if err != nil {
			return missing, fmt.Errorf("legal: %w", err)
		}
		if HasHeader(src) {
			continue
		}
		if fix != nil {
			if err := fix(path, src); err != nil {
				return missing, fmt.Errorf("legal: adding the header to %s: %w", name, err)
			}
		}
		missing = append(missing, name)
	}
	return missing, nil
}

// ModuleRoot returns the nearest directory at or above dir holding a
// go.mod file.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("legal: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("legal: no go.mod at or above the current directory")
		}
		dir = parent
	}
}
