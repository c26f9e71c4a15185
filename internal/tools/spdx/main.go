// SPDX-License-Identifier: Apache-2.0

// Command spdx puts "// SPDX-License-Identifier: Apache-2.0" at the top of
// every Go file of the module it runs in that lacks it, and names the files
// it changed. With -check it changes nothing, names the files without the
// header and exits 1 if there are any. It is a `go generate .` step.
//
// Usage: go run ./internal/tools/spdx [-check]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/trailaudit/trail/internal/legal"
)

func main() {
	check := flag.Bool("check", false, "only list the Go files without the header; exit 1 if there are any")
	flag.Parse()
	root, err := legal.ModuleRoot(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "spdx:", err)
		os.Exit(1)
	}
	fix := legal.AddMissingHeaders
	if *check {
		fix = legal.MissingHeader
	}
	files, err := fix(root)
	for _, f := range files {
		fmt.Println(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "spdx:", err)
		os.Exit(1)
	}
	if *check && len(files) > 0 {
		fmt.Fprintf(os.Stderr, "spdx: %d Go files lack %q; run go run ./internal/tools/spdx\n", len(files), legal.Header)
		os.Exit(1)
	}
}
