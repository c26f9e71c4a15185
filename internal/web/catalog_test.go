// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/catalog"
)

// helpCategories is the search help's list of categories.
var helpCategories = regexp.MustCompile(`<code>category:billing</code></th><td>A category: ([^<]*)\.</td>`)

// categoriesInHelp returns the categories the search help of org's page
// names.
func categoriesInHelp(t *testing.T, e *env, org string) []string {
	t.Helper()
	c := e.login(org, "u1", "alice")
	r, _ := e.page(c, org, "")
	if r.Status != 200 {
		t.Fatalf("page: %d %s", r.Status, r.Body)
	}
	m := helpCategories.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("the page has no category row in its search help:\n%s", r.Body)
	}
	return strings.Split(m[1], ", ")
}

func slugs(cat *catalog.Catalog) []string {
	var out []string
	for _, ci := range cat.Categories() {
		out = append(out, string(ci.Slug))
	}
	return out
}

// TestSearchHelpListsTheCatalogsCategories: the help names the categories
// of the catalog the server runs with, a platform's own included.
func TestSearchHelpListsTheCatalogsCategories(t *testing.T) {
	platform, err := catalog.Load("../catalog/testdata/platform.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cat  *catalog.Catalog
	}{{"builtin", catalog.Builtin()}, {"platform", platform}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, envOptions{catalog: tc.cat})
			got, want := categoriesInHelp(t, e, "acme"), slugs(tc.cat)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("the search help lists %q, want the catalog's %q", got, want)
			}
		})
	}
	if !strings.Contains(strings.Join(slugs(platform), ","), "spaces") {
		t.Fatalf("testdata/platform.json no longer adds the category spaces: %q", slugs(platform))
	}
}
