// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Load reads a platform catalog file and returns the built-in catalog
// extended with it (see Extend).
func Load(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog file: %w", err)
	}
	c, err := Builtin().Extend(data)
	if err != nil {
		return nil, fmt.Errorf("catalog file %s: %w", path, err)
	}
	return c, nil
}

// Extend returns a catalog holding c's types and those of data, a
// platform's catalog in the JSON shape of GET /api/v1/catalog. A category
// of data may be new (it needs a title; it is shown after c's) or one of
// c's (it adds types to it; its title, if any, must be the same). Every
// type of data is checked; the error names the first bad type and field.
// A type whose name c already has is refused: a platform adds types, it
// does not redefine Trail's.
func (c *Catalog) Extend(data []byte) (*Catalog, error) {
	var doc jsonDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a catalog in the shape of GET /api/v1/catalog: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a catalog: more than one JSON value")
	}
	cats := slices.Clone(c.cats)
	defs := make([]Type, 0, len(c.types))
	for _, t := range c.types {
		defs = append(defs, *t)
	}
	for i, jc := range doc.Categories {
		ci, err := c.checkCategory(jc, cats)
		if err != nil {
			return nil, fmt.Errorf("categories[%d]: %w", i, err)
		}
		if !slices.Contains(cats, ci) {
			cats = append(cats, ci)
		}
		for j, jt := range jc.Types {
			t, err := typeOf(jt, ci.Slug)
			if err == nil && slices.ContainsFunc(defs, func(d Type) bool { return d.Name == t.Name }) {
				err = fmt.Errorf("type %q: name: already defined (built-in types cannot be redefined; choose another name)", t.Name)
			}
			if err != nil {
				return nil, fmt.Errorf("category %q, types[%d]: %w", ci.Slug, j, err)
			}
			defs = append(defs, t)
		}
	}
	merged, err := newCatalog(cats, defs)
	if err != nil {
		return nil, err
	}
	merged.platform = c.platform + len(defs) - len(c.types)
	return merged, nil
}

var (
	slugRE       = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	typeNameRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)+$`)
	targetTypeRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)
)

// checkCategory checks a category of a platform file against cats.
func (c *Catalog) checkCategory(jc jsonCategory, cats []CategoryInfo) (CategoryInfo, error) {
	if !slugRE.MatchString(jc.Slug) {
		return CategoryInfo{}, fmt.Errorf("slug: %q is not a slug ([a-z][a-z0-9_-]{0,63})", jc.Slug)
	}
	for _, ci := range cats {
		if string(ci.Slug) == jc.Slug {
			if jc.Title != "" && jc.Title != ci.Title {
				return CategoryInfo{}, fmt.Errorf("category %q: title: %q differs from the existing title %q (leave it empty to add types to it)", jc.Slug, jc.Title, ci.Title)
			}
			return ci, nil
		}
	}
	if strings.TrimSpace(jc.Title) == "" {
		return CategoryInfo{}, fmt.Errorf("category %q: title: a new category needs a title", jc.Slug)
	}
	return CategoryInfo{Slug: Category(jc.Slug), Title: jc.Title}, nil
}

// typeOf converts and checks one type of a platform file.
func typeOf(jt jsonType, cat Category) (Type, error) {
	t := Type{Name: jt.Name, Summary: jt.Summary, Template: jt.Template, Category: cat, NamesOnly: jt.NamesOnly}
	fail := func(field, format string, args ...any) (Type, error) {
		return Type{}, fmt.Errorf("type %q: %s: %s", jt.Name, field, fmt.Sprintf(format, args...))
	}
	switch {
	case len(jt.Name) > 128 || !typeNameRE.MatchString(jt.Name):
		return fail("name", "want scope.action ([A-Za-z][A-Za-z0-9_-]* then .-separated parts, at most 128 bytes)")
	case strings.TrimSpace(jt.Summary) == "":
		return fail("summary", "a one-line summary is required")
	case jt.RecordedByTrail:
		return fail("recorded_by_trail", "only Trail's own types are recorded by Trail; set false")
	}
	if _, err := parseTemplate(jt.Template); err != nil {
		return fail("template", "%v", err)
	}
	for i, tr := range jt.Targets {
		for _, typ := range append([]string{tr.Type}, tr.Alt...) {
			if !targetTypeRE.MatchString(typ) {
				return fail(fmt.Sprintf("targets[%d].type", i), "%q is not a target type ([a-z][a-z0-9_.-]{0,63})", typ)
			}
		}
		t.Targets = append(t.Targets, TargetRule{Type: tr.Type, Required: tr.Required, Alt: tr.Alt})
	}
	for i, m := range jt.Metadata {
		switch {
		case slices.ContainsFunc(t.Metadata, func(r MetaRule) bool { return r.Key == m.Key }):
			return fail(fmt.Sprintf("metadata[%d].key", i), "%q is listed twice", m.Key)
		case !validKey(m.Key):
			return fail(fmt.Sprintf("metadata[%d].key", i), "%q is not a metadata key (1 to %d of A-Z a-z 0-9 _ . -)", m.Key, MaxKeyLen)
		case !kindNames[Kind(m.Kind)]:
			return fail(fmt.Sprintf("metadata[%d].kind", i), "%q is not a kind (string, int, number, bool, string_list, object, any)", m.Kind)
		}
		t.Metadata = append(t.Metadata, MetaRule{Key: m.Key, Kind: Kind(m.Kind), Required: m.Required, Doc: m.Doc})
	}
	return t, nil
}
