// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestExtend(t *testing.T) {
	data, err := os.ReadFile("testdata/platform.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Builtin().Extend(data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(c.Types()), len(Builtin().Types())+3; got != want {
		t.Fatalf("%d types, want %d", got, want)
	}
	pause, ok := c.Lookup("space.pause")
	if !ok || pause.Category != "spaces" {
		t.Fatalf("space.pause: %+v, %v", pause, ok)
	}
	if ci, ok := c.Category("spaces"); !ok || ci.Title != "Spaces runtime" {
		t.Fatalf("category spaces: %+v", ci)
	}
	cats := c.Categories()
	if cats[len(cats)-1].Slug != "spaces" || len(cats) != len(Builtin().Categories())+1 {
		t.Fatalf("new category not shown after the built-in ones: %v", cats)
	}
	if a, ok := c.Lookup("repo.archive"); !ok || a.Category != CategoryContent {
		t.Fatalf("repo.archive not added to content: %+v", a)
	}
	// The merged catalog validates and renders the platform's types.
	errs := pause.Validate([]Ref{{Type: "space", Name: "acme/demo"}}, map[string]any{"reason": 3})
	if len(errs) != 2 {
		t.Fatalf("Validate: %v, want the missing hardware and the bad reason", errs)
	}
	if got := pause.Render(Ref{Name: "alice"}, []Ref{{Type: "space", Name: "acme/demo"}}, map[string]any{"reason": "idle"}); got != "alice paused acme/demo (idle)" {
		t.Fatalf("Render: %q", got)
	}
	// Its JSON is a catalog file again: the built-in types collide.
	if _, err := Builtin().Extend(c.JSON()); err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Fatalf("re-extending with the merged catalog: %v", err)
	}
	if md := c.Markdown(); !bytes.Contains(md, []byte("space.pause")) || !bytes.Contains(md, []byte("3 of the platform's catalog file")) {
		t.Fatalf("the reference does not list space.pause as the platform's:\n%.600s", md)
	}
}

// TestExtendRefuses: every bad file is refused with the type and field.
func TestExtendRefuses(t *testing.T) {
	cat := func(slug, title, types string) string {
		return `{"categories":[{"slug":"` + slug + `","title":"` + title + `","types":[` + types + `]}]}`
	}
	typ := func(name, extra string) string {
		return `{"name":"` + name + `","summary":"S","template":"{actor} did it","targets":[],"metadata":[]` + extra + `}`
	}
	tests := []struct{ name, file, want string }{
		{"not JSON", `{`, "not a catalog"},
		{"unknown field", `{"categories":[],"version":2}`, `unknown field "version"`},
		{"collision", cat("content", "", typ("repo.create", "")), `type "repo.create": name: already defined`},
		{"twice", cat("x", "X", typ("a.b", "")+","+typ("a.b", "")), `type "a.b": name: already defined`},
		{"bad name", cat("x", "X", typ("nodot", "")), `type "nodot": name: want scope.action`},
		{"no summary", cat("x", "X", `{"name":"a.b","template":"t"}`), `type "a.b": summary`},
		{"bad template", cat("x", "X", `{"name":"a.b","summary":"S","template":"{actor"}`), `type "a.b": template`},
		{"bad kind", cat("x", "X", `{"name":"a.b","summary":"S","template":"t","metadata":[{"key":"k","kind":"strng"}]}`), `type "a.b": metadata[0].kind: "strng" is not a kind`},
		{"bad key", cat("x", "X", `{"name":"a.b","summary":"S","template":"t","metadata":[{"key":"a b","kind":"string"}]}`), `type "a.b": metadata[0].key`},
		{"key twice", cat("x", "X", `{"name":"a.b","summary":"S","template":"t","metadata":[{"key":"k","kind":"string"},{"key":"k","kind":"int"}]}`), `metadata[1].key: "k" is listed twice`},
		{"bad target", cat("x", "X", `{"name":"a.b","summary":"S","template":"t","targets":[{"type":"Repo"}]}`), `type "a.b": targets[0].type`},
		{"recorded by trail", cat("x", "X", typ("a.b", `,"recorded_by_trail":true`)), `type "a.b": recorded_by_trail`},
		{"new category without title", cat("x", "", typ("a.b", "")), `category "x": title`},
		{"other title", cat("billing", "Money", typ("a.b", "")), `category "billing": title`},
		{"bad slug", cat("X Y", "T", ""), `slug: "X Y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Builtin().Extend([]byte(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestBuildersFresh: the events package is what the generator makes now.
func TestBuildersFresh(t *testing.T) {
	src, err := BuiltinBuilders()
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("../../events/events_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, have) {
		t.Fatal("events/events_gen.go is stale: run go generate ./events")
	}
}

// TestBuildersCollide: two types whose Go names clash are an error, not
// code that does not compile.
func TestBuildersCollide(t *testing.T) {
	for _, pair := range [][2]string{{"space.pause", "space.Pause"}, {"type.space_pause", "space.pause"}} {
		file := `{"categories":[{"slug":"x","title":"X","types":[` +
			`{"name":"` + pair[0] + `","summary":"S","template":"t"},{"name":"` + pair[1] + `","summary":"S","template":"t"}]}]}`
		c, err := Builtin().Extend([]byte(file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GoBuilders("p", "test", nil); err == nil || !strings.Contains(err.Error(), "both make the Go name") {
			t.Errorf("%v: %v", pair, err)
		}
	}
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"repo.removeDisable": "RepoRemoveDisable", "org.audit_log.export": "OrgAuditLogExport",
		"resource_group": "ResourceGroup", "1x": "X1x",
	} {
		if got := goName(in, true); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := goName("resource_group", false); got != "resourceGroup" {
		t.Errorf("unexported: %q", got)
	}
}

// FuzzExtend: any file is refused with an error or gives a catalog that
// renders, encodes and generates builders without panicking.
func FuzzExtend(f *testing.F) {
	seed, _ := os.ReadFile("testdata/platform.json")
	f.Add(seed)
	f.Add([]byte(`{"categories":[{"slug":"x","title":"X","types":[{"name":"a.b","summary":"S","template":"{actor} [x {meta:k}]"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Builtin().Extend(data)
		if err != nil {
			return
		}
		for _, typ := range c.Types() {
			typ.Render(Ref{Name: "a"}, nil, nil)
		}
		c.JSON()
		c.Markdown()
		if _, err := c.GoBuilders("p", "fuzz", nil); err != nil && !strings.Contains(err.Error(), "both make the Go name") {
			t.Fatalf("GoBuilders: %v", err)
		}
	})
}
