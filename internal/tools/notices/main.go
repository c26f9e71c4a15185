// SPDX-License-Identifier: Apache-2.0

// Command notices writes NOTICE and THIRD_PARTY_LICENSES at the root of the
// module it runs in, from go.mod and the Go module cache. It is a `go
// generate .` step; run `go mod download` first so every module is in the
// cache. It fails, naming the module, when a dependency has no licence file
// or one Trail does not accept.
//
// Usage: go run ./internal/tools/notices
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/trailaudit/trail/internal/legal"
)

func main() {
	if err := run("."); err != nil {
		fmt.Fprintln(os.Stderr, "notices:", err)
		os.Exit(1)
	}
}

// run writes the notices of the module around dir.
func run(dir string) error {
	root, err := legal.ModuleRoot(dir)
	if err != nil {
		return err
	}
	src, err := legal.Locate(root)
	if err != nil {
		return err
	}
	n, err := legal.Read(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, legal.NoticeFile), n.Notice(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(root, legal.ThirdPartyFile), n.ThirdParty(), 0o644)
}
