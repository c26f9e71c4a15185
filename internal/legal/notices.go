// SPDX-License-Identifier: Apache-2.0

package legal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// ErrNotDownloaded means a module go.mod requires is not in the module
// cache; `go mod download` fetches every one.
var ErrNotDownloaded = errors.New("not in the module cache (run go mod download)")

// Sources says where the notices come from.
type Sources struct {
	GoMod    string // the go.mod file
	ModCache string // the module cache (go env GOMODCACHE)
	GoRoot   string // the Go toolchain (go env GOROOT), for the standard library's licence
}

// Locate returns the Sources for the module rooted at root, asking the go
// command where its module cache and toolchain are.
func Locate(root string) (Sources, error) {
	cmd := exec.Command("go", "env", "GOMODCACHE", "GOROOT")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return Sources{}, fmt.Errorf("legal: go env: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] == "" || lines[1] == "" {
		return Sources{}, fmt.Errorf("legal: go env GOMODCACHE GOROOT printed %q", out)
	}
	return Sources{GoMod: filepath.Join(root, "go.mod"), ModCache: lines[0], GoRoot: lines[1]}, nil
}

// Notices is the licence material of everything the trail binary is built
// from besides Trail itself.
type Notices struct {
	Go      File     // the Go standard library's and runtime's licence
	Modules []Module // every module go.mod requires, sorted by path
}

// Module is one module go.mod requires, with the licence material found at
// the root of its directory in the module cache.
type Module struct {
	Path, Version string
	Licences      []string // SPDX identifiers of its licence files, e.g. ["MIT"]
	Files         []File   // its licence, NOTICE and PATENTS files, by name
}

// File is one licence or notice file, verbatim.
type File struct {
	Name     string
	Licences []string // SPDX identifiers of the licences it holds; none for a NOTICE or PATENTS file
	Text     string
}

// noticeFile matches the names of the files a module's notices are taken
// from; primaryFile those of its main licence file.
var (
	noticeFile  = regexp.MustCompile(`(?i)^(licen[cs]e|copying|notice|patents)([-._].*)?$`)
	primaryFile = regexp.MustCompile(`(?i)^(licen[cs]e|copying)(\.(txt|md))?$`)
)

// Read reads go.mod, then every required module's licence files from the
// module cache and the Go licence from GOROOT. It fails (naming the module)
// when a module is not downloaded (ErrNotDownloaded), has no licence file,
// or carries a licence that is not recognised or not Accepted.
func Read(src Sources) (*Notices, error) {
	data, err := os.ReadFile(src.GoMod)
	if err != nil {
		return nil, fmt.Errorf("legal: %w", err)
	}
	mf, err := modfile.ParseLax(src.GoMod, data, nil)
	if err != nil {
		return nil, fmt.Errorf("legal: %w", err)
	}
	goText, err := os.ReadFile(filepath.Join(src.GoRoot, "LICENSE"))
	if err != nil {
		return nil, fmt.Errorf("legal: the Go licence: %w", err)
	}
	n := &Notices{Go: File{Name: "LICENSE", Licences: Identify(string(goText)), Text: string(goText)}}
	for _, r := range mf.Require {
		m, err := readModule(src.ModCache, r.Mod)
		if err != nil {
			return nil, err
		}
		n.Modules = append(n.Modules, m)
	}
	slices.SortFunc(n.Modules, func(a, b Module) int { return strings.Compare(a.Path, b.Path) })
	return n, nil
}

// readModule reads the notice files at the root of mod's directory in the
// module cache.
func readModule(modcache string, mod module.Version) (Module, error) {
	m := Module{Path: mod.Path, Version: mod.Version}
	dir, err := moduleDir(modcache, mod)
	if err != nil {
		return m, err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("legal: module %s %s: %w", mod.Path, mod.Version, ErrNotDownloaded)
	}
	if err != nil {
		return m, fmt.Errorf("legal: module %s %s: %w", mod.Path, mod.Version, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !noticeFile.MatchString(e.Name()) {
			continue
		}
		text, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return m, fmt.Errorf("legal: module %s %s: %w", mod.Path, mod.Version, err)
		}
		m.Files = append(m.Files, File{Name: e.Name(), Licences: Identify(string(text)), Text: string(text)})
	}
	m.Licences, err = moduleLicences(m.Files)
	if err != nil {
		return m, fmt.Errorf("legal: module %s %s: %w", mod.Path, mod.Version, err)
	}
	return m, nil
}

func moduleDir(modcache string, mod module.Version) (string, error) {
	path, err := module.EscapePath(mod.Path)
	if err != nil {
		return "", fmt.Errorf("legal: %w", err)
	}
	version, err := module.EscapeVersion(mod.Version)
	if err != nil {
		return "", fmt.Errorf("legal: %w", err)
	}
	return filepath.Join(modcache, filepath.FromSlash(path)+"@"+version), nil
}

// moduleLicences returns the licences of a module's main licence files
// (LICENSE, COPYING, …); a module with none, such as one dual-licensed in
// LICENSE-APACHE and LICENSE-MIT, is under those of its LICENSE-* files.
func moduleLicences(files []File) ([]string, error) {
	var main []File
	for _, f := range files {
		if primaryFile.MatchString(f.Name) {
			main = append(main, f)
		}
	}
	if len(main) == 0 {
		for _, f := range files {
			if len(f.Licences) > 0 {
				main = append(main, f)
			}
		}
	}
	if len(main) == 0 {
		return nil, errors.New("no LICENSE or COPYING file with a licence Trail recognises at the module's root: find its licence by hand")
	}
	var ids []string
	for _, f := range main {
		if len(f.Licences) == 0 {
			return nil, fmt.Errorf("%s is not a licence Trail recognises (%s): read it, and teach internal/legal/identify.go if Trail may use it", f.Name, strings.Join(Accepted, ", "))
		}
		for _, id := range f.Licences {
			if !slices.Contains(Accepted, id) {
				return nil, fmt.Errorf("%s is %s, which Trail does not accept in its dependencies (%s)", f.Name, id, strings.Join(Accepted, ", "))
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// Listed returns the modules a NOTICE file lists, path → version.
func Listed(notice []byte) (map[string]string, error) {
	_, table, ok := bytes.Cut(notice, []byte("\n"+tableHead+"\n"))
	if !ok {
		return nil, fmt.Errorf("legal: NOTICE has no module table (a line %q)", tableHead)
	}
	table, _, _ = bytes.Cut(table, []byte("\n\n"))
	listed := make(map[string]string)
	for _, line := range strings.Split(string(table), "\n") {
		f := strings.Split(line, " | ")
		if len(f) != 3 {
			return nil, fmt.Errorf("legal: NOTICE module table: line %q is not \"module version licence\"", line)
		}
		listed[f[0]] = f[1]
	}
	return listed, nil
}
