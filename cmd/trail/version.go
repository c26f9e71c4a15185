// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/trailaudit/trail"
)

// buildVersion is what `trail version` says about one binary.
type buildVersion struct {
	Version  string // the release, e.g. v0.1.0, or "dev"
	Commit   string // the VCS revision, "" when the build did not record one
	Time     string // the commit's time, RFC 3339
	Modified bool   // built from a working tree with uncommitted changes
	Go       string // the toolchain, e.g. go1.26.0
}

// readBuildVersion reads what the linker and the go command stamped into the
// binary: main.version (set with -ldflags "-X main.version=v0.1.0") or else
// the module version (go install …@v0.1.0), and the vcs.* settings that go
// build records in a Git checkout (-buildvcs, on by default).
func readBuildVersion() buildVersion {
	v := buildVersion{Version: version, Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if v.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// runVersion prints the version, the commit, the Go toolchain and where the
// licences are; with --licenses, the licences themselves.
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "[--licenses]", stderr)
	licenses := fs.Bool("licenses", false, "print Trail's licence (Apache-2.0), its NOTICE and every third-party licence the binary carries")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	if *licenses {
		_, err := io.WriteString(stdout, trail.License+"\n"+trail.Notice+"\n"+trail.ThirdPartyLicenses)
		return err
	}
	_, err := io.WriteString(stdout, readBuildVersion().String())
	return err
}

// String is the text `trail version` prints: "trail VERSION" on the first
// line, then one "name: value" line each for the commit, Go and licences.
func (v buildVersion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "trail %s\n", v.Version)
	commit := "unknown (built without version control information)"
	if v.Commit != "" {
		var notes []string
		if v.Time != "" {
			notes = append(notes, v.Time)
		}
		if v.Modified {
			notes = append(notes, "with uncommitted changes")
		}
		commit = v.Commit
		if len(notes) > 0 {
			commit += " (" + strings.Join(notes, ", ") + ")"
		}
	}
	fmt.Fprintf(&b, "commit:   %s\n", commit)
	fmt.Fprintf(&b, "go:       %s %s/%s\n", v.Go, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "licence:  Apache-2.0; Trail's NOTICE and the licences of everything built into this binary: trail version --licenses\n")
	fmt.Fprintf(&b, "source:   https://github.com/trailaudit/trail (LICENSE, NOTICE, THIRD_PARTY_LICENSES)\n")
	return b.String()
}
