// SPDX-License-Identifier: Apache-2.0

// Command gen writes the event type reference, docs/events.md, from the
// built-in catalog. It runs through `go generate ./internal/catalog`,
// from the package directory:
//
//	go run ./gen -o ../../docs/events.md
//
// With -builders it writes the typed builders of the public events
// package instead (`go generate ./events`, from that directory):
//
//	go run ../internal/catalog/gen -builders events_gen.go
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trailaudit/trail/internal/catalog"
)

func main() {
	out := flag.String("o", "../../docs/events.md", "the Markdown reference to write")
	builders := flag.String("builders", "", "write the Go builders of package events to this `file` instead")
	flag.Parse()
	var err error
	if *builders != "" {
		err = writeBuilders(*builders)
	} else {
		err = write(*out, catalog.Builtin().Markdown())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func writeBuilders(path string) error {
	src, err := catalog.BuiltinBuilders()
	if err != nil {
		return err
	}
	return write(path, src)
}

func write(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
