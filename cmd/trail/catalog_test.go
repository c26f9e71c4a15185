// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trailaudit/trail/client"
)

// platformCatalog is the platform catalog file the catalog package tests.
const platformCatalog = "../../internal/catalog/testdata/platform.json"

// TestServeCatalog: with --catalog, the platform's types are served by
// GET /api/v1/catalog, validated and rendered at ingest, and searchable by
// type and by the new category.
func TestServeCatalog(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	key := createKeyCLI(t, bin, data, "--scope", "admin")
	s := serveOn(t, bin, data, "--catalog", platformCatalog)
	c := apiClient(s.Base, key)
	ctx := testCtx(t)

	cat, err := c.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := cat.Categories[len(cat.Categories)-1]
	if last.Slug != "spaces" || len(last.Types) != 2 || last.Types[0].Name != "space.pause" {
		t.Fatalf("GET /api/v1/catalog ends with %+v, want the platform's category", last)
	}

	pause := client.Event{
		ID: "p1", Type: "space.pause",
		Actor:    client.Actor{Type: "user", ID: "u1", Name: "alice"},
		Targets:  []client.Target{{Type: "space", ID: "s1", Name: "acme/demo"}},
		Metadata: map[string]any{"reason": "idle", "hardware": "a10g"},
	}
	if _, err := c.Ingest(ctx, "acme", []client.Event{pause}); err != nil {
		t.Fatal(err)
	}
	bad := pause
	bad.ID, bad.Metadata = "p2", map[string]any{"reason": "idle"}
	_, err = c.Ingest(ctx, "acme", []client.Event{bad})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 422 || len(apiErr.Details) != 1 || apiErr.Details[0].Field != "metadata.hardware" {
		t.Fatalf("an event missing required platform metadata: %v", err)
	}
	for _, q := range []string{"category:spaces", "type:space.pause"} {
		page, err := c.List(ctx, "acme", client.ListOptions{Query: q})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if len(page.Events) != 1 {
			t.Fatalf("%s: %d events, want 1", q, len(page.Events))
		}
		ev := decodeEvent(t, page.Events[0])
		if ev.Description != "alice paused acme/demo (idle)" {
			t.Fatalf("description %q", ev.Description)
		}
	}

	// The admins' page shows the event and offers the new category.
	res := mustRun(t, bin, nil, "link", "--org", "acme", "--user", "u_ada", "--data", data, "--public-url", s.Base+"/")
	status, html := spendLink(t, strings.SplitN(res.stdout, "\n", 2)[0])
	if status != 200 || !strings.Contains(html, "alice paused acme/demo (idle)") || !strings.Contains(html, "Spaces runtime") {
		t.Fatalf("audit-log page (%d) lacks the platform event or its category", status)
	}
}

// TestServeCatalogRefused: a bad catalog file stops trail serve before it
// listens, with a message naming the type and the field.
func TestServeCatalogRefused(t *testing.T) {
	bin := trailBinary(t)
	dir := t.TempDir()
	files := map[string]string{
		"kind.json":      `{"categories":[{"slug":"spaces","title":"Spaces","types":[{"name":"space.pause","summary":"S","template":"t","metadata":[{"key":"reason","kind":"text"}]}]}]}`,
		"collision.json": `{"categories":[{"slug":"content","title":"","types":[{"name":"repo.create","summary":"S","template":"t"}]}]}`,
	}
	want := map[string]string{
		"kind.json":      `type "space.pause": metadata[0].kind: "text" is not a kind`,
		"collision.json": `type "repo.create": name: already defined`,
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(body), 0o600)
		res := runTrail(t, bin, nil, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--catalog", path)
		if res.code == 0 || !strings.Contains(res.stderr, want[name]) || strings.Contains(res.stderr, `"listening"`) {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant a refusal containing %q", name, res.code, res.stderr, want[name])
		}
	}
}

// TestCatalogCommands: trail catalog json/docs read TRAIL_CATALOG, and
// gen writes builders that compile.
func TestCatalogCommands(t *testing.T) {
	bin := trailBinary(t)
	abs, _ := filepath.Abs(platformCatalog)
	env := []string{"TRAIL_CATALOG=" + abs}
	if out := mustRun(t, bin, env, "catalog", "json").stdout; !strings.Contains(out, `"name":"space.pause"`) || !strings.Contains(out, `"name":"repo.create"`) {
		t.Fatalf("catalog json lacks the merged types:\n%.300s", out)
	}
	if out := mustRun(t, bin, env, "catalog", "docs").stdout; !strings.Contains(out, "space.resume") {
		t.Fatal("catalog docs lacks space.resume")
	}
	if res := runTrail(t, bin, nil, "catalog", "gen", "--package", "platform"); res.code != 2 || !strings.Contains(res.stderr, "--catalog FILE") {
		t.Fatalf("gen without --catalog: exit %d, %s", res.code, res.stderr)
	}

	mod := t.TempDir()
	src := filepath.Join(mod, "platform", "events_gen.go")
	os.MkdirAll(filepath.Dir(src), 0o755)
	mustRun(t, bin, nil, "catalog", "gen", "--catalog", abs, "--package", "platform", "--out", src)
	gen, _ := os.ReadFile(src)
	for _, want := range []string{"func SpacePause(actor client.Actor, space client.Target, hardware string) client.Event", "func RepoArchive(", "const TypeSpaceResume = \"space.resume\""} {
		if !strings.Contains(string(gen), want) {
			t.Fatalf("generated code lacks %q:\n%s", want, gen)
		}
	}
	if strings.Contains(string(gen), "func RepoCreate(") {
		t.Fatal("gen generated a built-in type")
	}
	root, _ := filepath.Abs("../..")
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/app\n\ngo 1.26\n\nrequire github.com/trailaudit/trail v0.0.0\n\nreplace github.com/trailaudit/trail => "+root+"\n"), 0o644)
	// Trail's own go.sum vouches for its dependencies: the check needs no
	// checksum database (no network in tests).
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(mod, "go.sum"), sums, 0o644)
	build := exec.Command("go", "vet", "./platform")
	build.Dir = mod
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("generated code does not build: %v\n%s", err, out)
	}
}
