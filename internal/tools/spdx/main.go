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
	"io"
	"os"

	"github.com/trailaudit/trail/internal/legal"
)

func main() {
	os.Exit(run(os.Args[1:], ".", os.Stdout, os.Stderr))
}

// run works on the module around dir and returns the exit status.
func run(args []string, dir string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("spdx", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "only list the Go files without the header; exit 1 if there are any")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	root, err := legal.ModuleRoot(dir)
	if err != nil {
		fmt.Fprintln(stderr, "spdx:", err)
		return 1
	}
	fix := legal.AddMissingHeaders
	if *check {
		fix = legal.MissingHeader
	}
	files, err := fix(root)
	for _, f := range files {
		fmt.Fprintln(stdout, f)
	}
	if err != nil {
		fmt.Fprintln(stderr, "spdx:", err)
		return 1
	}
	if *check && len(files) > 0 {
		fmt.Fprintf(stderr, "spdx: %d Go files lack %q; run go run ./internal/tools/spdx\n", len(files), legal.Header)
		return 1
	}
	return 0
}
