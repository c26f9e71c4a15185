// SPDX-License-Identifier: Apache-2.0

// Command gen writes the event type reference, docs/events.md, from the
// built-in catalog. It runs through `go generate ./internal/catalog`,
// from the package directory:
//
//	go run ./gen -o ../../docs/events.md
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trailaudit/trail/internal/catalog"
)

func main() {
	out := flag.String("o", "../../docs/events.md", "the file to write")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, catalog.Builtin().Markdown(), 0o644)
}
