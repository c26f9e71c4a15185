// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/trailaudit/trail/internal/catalog"
)

// catalogHelp is the help of --catalog (env TRAIL_CATALOG).
const catalogHelp = "a platform catalog `file` (the JSON shape of GET /api/v1/catalog) adding its own categories and event types to the built-in ones (env TRAIL_CATALOG)"

// loadCatalog returns the built-in catalog, extended with the file at path
// when path is not empty.
func loadCatalog(path string, log *slog.Logger) (*catalog.Catalog, error) {
	if path == "" {
		return catalog.Builtin(), nil
	}
	c, err := catalog.Load(path)
	if err != nil {
		return nil, err
	}
	if log != nil {
		log.Info("platform catalog loaded", "file", path, "types", len(c.Types())-len(catalog.Builtin().Types()))
	}
	return c, nil
}

const catalogUsage = `Usage:
  trail catalog json [--catalog FILE]                      print the catalog as GET /api/v1/catalog serves it
  trail catalog docs [--catalog FILE]                      print the event type reference (Markdown)
  trail catalog gen  --catalog FILE --package NAME [--out FILE]
                                                           Go builders for the file's own types

Without --catalog (env TRAIL_CATALOG) the built-in catalog; with it, the built-in catalog
extended with the file, as trail serve --catalog FILE uses it.
`

// runCatalog is `trail catalog json|docs|gen`.
func runCatalog(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, catalogUsage)
		if len(args) == 0 {
			return usagef("missing subcommand: json, docs or gen")
		}
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	fs := newFlags("catalog "+sub, "[flags]", stderr)
	file := fs.String("catalog", env("TRAIL_CATALOG", ""), catalogHelp)
	pkg := fs.String("package", "", "the Go `package` name of the generated code (gen)")
	out := fs.String("out", "", "write to this `file` instead of standard output (gen)")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	c, err := loadCatalog(*file, nil)
	if err != nil {
		return err
	}
	var data []byte
	switch sub {
	case "json":
		data = c.JSON()
	case "docs":
		data = c.Markdown()
	case "gen":
		if data, err = genBuilders(c, *file, *pkg); err != nil {
			return err
		}
	default:
		return usagef("unknown subcommand %q: want json, docs or gen", sub)
	}
	if *out != "" {
		return os.WriteFile(*out, data, 0o644)
	}
	_, err = stdout.Write(data)
	return err
}

// genBuilders generates the builders of the file's own types; the
// built-in ones are in package github.com/trailaudit/trail/events.
func genBuilders(c *catalog.Catalog, file, pkg string) ([]byte, error) {
	if file == "" || pkg == "" {
		return nil, usagef("gen needs --catalog FILE and --package NAME (the built-in types are in package github.com/trailaudit/trail/events)")
	}
	builtin := catalog.Builtin()
	own := func(t *catalog.Type) bool { _, ok := builtin.Lookup(t.Name); return !ok }
	return c.GoBuilders(pkg, "trail catalog gen", own)
}
