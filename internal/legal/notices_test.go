// SPDX-License-Identifier: Apache-2.0

package legal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// repoRoot returns the root of the Trail module.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestNoticeListsEveryModule is the guard that needs no module cache: every
// module go.mod requires has an entry in NOTICE at the version go.mod pins,
// and NOTICE lists nothing else.
func TestNoticeListsEveryModule(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	notice, err := os.ReadFile(filepath.Join(root, NoticeFile))
	if err != nil {
		t.Fatal(err)
	}
	listed, err := Listed(notice)
	if err != nil {
		t.Fatal(err)
	}
	const fix = "run `go mod download && go generate .` at the module root"
	for _, r := range mf.Require {
		got, ok := listed[r.Mod.Path]
		switch {
		case !ok:
			t.Errorf("go.mod requires %s %s but NOTICE has no entry for it; %s", r.Mod.Path, r.Mod.Version, fix)
		case got != r.Mod.Version:
			t.Errorf("NOTICE lists %s %s, go.mod requires %s; %s", r.Mod.Path, got, r.Mod.Version, fix)
		}
		delete(listed, r.Mod.Path)
	}
	for path, version := range listed {
		t.Errorf("NOTICE lists %s %s, which go.mod no longer requires; %s", path, version, fix)
	}
}

// TestNoticesUpToDate regenerates NOTICE and THIRD_PARTY_LICENSES from
// go.mod and the module cache and compares them with the committed files.
// CI runs `go mod download` first, so there it never skips.
func TestNoticesUpToDate(t *testing.T) {
	root := repoRoot(t)
	src, err := Locate(root)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Read(src)
	if errors.Is(err, ErrNotDownloaded) {
		t.Skipf("cannot regenerate the notices: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{NoticeFile: n.Notice(), ThirdPartyFile: n.ThirdParty()} {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s is out of date with go.mod and the module cache: run `go generate .` at the module root", name)
		}
	}
	if !strings.Contains(string(n.Notice()), "IP Geolocation by DB-IP (https://db-ip.com)") ||
		!strings.Contains(string(n.Notice()), "CC BY 4.0") {
		t.Error("NOTICE lacks the DB-IP attribution (IP Geolocation by DB-IP, https://db-ip.com, CC BY 4.0)")
	}
	if !slices.Equal(n.Go.Licences, []string{"BSD-3-Clause"}) {
		t.Errorf("the Go licence is identified as %q, want BSD-3-Clause", n.Go.Licences)
	}
}

// fakeModule writes one module's files into a module cache directory.
func fakeModule(t *testing.T, modcache, dir string, files map[string]string) {
	t.Helper()
	d := filepath.Join(modcache, filepath.FromSlash(dir))
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeSources returns Sources over a go.mod requiring mods and an empty
// module cache and GOROOT in a temporary directory.
func fakeSources(t *testing.T, mods ...string) Sources {
	t.Helper()
	dir := t.TempDir()
	gomod := "module example.com/app\n\ngo 1.26\n\nrequire (\n\t" + strings.Join(mods, "\n\t") + "\n)\n"
	src := Sources{GoMod: filepath.Join(dir, "go.mod"), ModCache: filepath.Join(dir, "mod"), GoRoot: filepath.Join(dir, "goroot")}
	if err := os.WriteFile(src.GoMod, []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	fakeModule(t, src.GoRoot, ".", map[string]string{"LICENSE": bsd3})
	return src
}

func TestRead(t *testing.T) {
	src := fakeSources(t, "example.com/Upper/dual v1.0.0", "example.com/plain v0.1.0 // indirect")
	fakeModule(t, src.ModCache, "example.com/!upper/dual@v1.0.0", map[string]string{
		"LICENSE-APACHE": apache(t), "LICENSE-MIT": mit, "NOTICE": "Dual\nCopyright X\n", "main.go": "package dual\n",
	})
	fakeModule(t, src.ModCache, "example.com/plain@v0.1.0", map[string]string{
		"COPYING": isc, "PATENTS": "grant\n", "LICENSE-THIRD-PARTY.md": "# other code\n",
	})
	n, err := Read(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Modules) != 2 {
		t.Fatalf("Read gave %d modules, want 2", len(n.Modules))
	}
	dual, plain := n.Modules[0], n.Modules[1]
	if dual.Path != "example.com/Upper/dual" || !slices.Equal(dual.Licences, []string{"Apache-2.0", "MIT"}) || len(dual.Files) != 3 {
		t.Errorf("dual module = %s %v with %d files; want Apache-2.0 and MIT from LICENSE-APACHE, LICENSE-MIT, with NOTICE (3 files)", dual.Path, dual.Licences, len(dual.Files))
	}
	if !slices.Equal(plain.Licences, []string{"ISC"}) || len(plain.Files) != 3 {
		t.Errorf("plain module = %v with %d files; want ISC from COPYING, with PATENTS and LICENSE-THIRD-PARTY.md", plain.Licences, len(plain.Files))
	}
	listed, err := Listed(n.Notice())
	if err != nil || len(listed) != 2 || listed["example.com/plain"] != "v0.1.0" {
		t.Errorf("Listed(Notice()) = %v, %v; want both modules", listed, err)
	}
	third := string(n.ThirdParty())
	for _, want := range []string{"example.com/Upper/dual v1.0.0 (Apache-2.0, MIT)", "----- NOTICE -----\n\nDual\nCopyright X\n", "----- COPYING, ISC -----", "# other code"} {
		if !strings.Contains(third, want) {
			t.Errorf("THIRD_PARTY_LICENSES lacks %q", want)
		}
	}
}

func TestReadRefuses(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // nil: not downloaded
		want  string
	}{
		{"not downloaded", nil, "not in the module cache"},
		{"no licence file", map[string]string{"README.md": "MIT, honest\n"}, "no LICENSE or COPYING file"},
		{"GPL", map[string]string{"LICENSE": "GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n"}, "LICENSE is GPL, which Trail does not accept"},
		{"MPL beside MIT", map[string]string{"COPYING": mit + "\n" + mpl}, "COPYING is MPL-2.0, which Trail does not accept"},
		{"unrecognised", map[string]string{"LICENSE": "Do what you like, mostly.\n"}, "LICENSE is not a licence Trail recognises"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fakeSources(t, "example.com/dep v1.2.3")
			if tt.files != nil {
				fakeModule(t, src.ModCache, "example.com/dep@v1.2.3", tt.files)
			}
			_, err := Read(src)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "example.com/dep v1.2.3") {
				t.Errorf("Read = %v; want an error naming example.com/dep v1.2.3 and saying %q", err, tt.want)
			}
			if (tt.files == nil) != errors.Is(err, ErrNotDownloaded) {
				t.Errorf("errors.Is(%v, ErrNotDownloaded) = %v", err, !(tt.files == nil))
			}
		})
	}
}

func TestListedWithoutTable(t *testing.T) {
	if _, err := Listed([]byte("Trail\nCopyright\n")); err == nil {
		t.Error("Listed accepted a NOTICE without its module table")
	}
}

func TestIdentify(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{apache(t), []string{"Apache-2.0"}},
		{mit, []string{"MIT"}},
		{isc, []string{"ISC"}},
		{bsd3, []string{"BSD-3-Clause"}},
		{bsd2, []string{"BSD-2-Clause"}},
		{bsd3 + "\n------\n" + apache(t) + "\n------\n" + mit, []string{"Apache-2.0", "MIT", "BSD-3-Clause"}},
		{"GNU LESSER GENERAL PUBLIC LICENSE\n   Version 3, 29 June 2007\n… the GNU General Public License version 3 …", []string{"LGPL"}},
		{"GNU GENERAL PUBLIC LICENSE\n   Version 3, 29 June 2007", []string{"GPL"}},
		{"GNU AFFERO GENERAL PUBLIC LICENSE\n   Version 3, 19 November 2007", []string{"AGPL"}},
		{mpl, []string{"MPL-2.0"}},
		{"Licensed under the Apache License, Version 2.0 (the \"License\");", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := Identify(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("Identify(%.60q…) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// apache returns Trail's own LICENSE, the Apache-2.0 text.
func apache(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const mit = `MIT License

Copyright (c) 2026 Someone

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
`

// mpl is the start of MPL-2.0, whose list of secondary licences names the
// GNU ones.
const mpl = `Mozilla Public License, version 2.0

1. Definitions

1.4. "Covered Software"
1.12. "Secondary License"
      means either the GNU General Public License, Version 2.0, the GNU Lesser
      General Public License, Version 2.1, the GNU Affero General Public
      License, Version 3.0, or any later versions of those licenses.
`

const isc = `ISC License

Copyright (c) 2026 Someone

Permission to use, copy, modify, and/or distribute this software for any
purpose with or without fee is hereby granted, provided that the above
copyright notice and this permission notice appear in all copies.
`

const bsd2 = `Copyright (c) 2026 Someone. All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.
2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.
`

const bsd3 = bsd2 + `3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.
`
