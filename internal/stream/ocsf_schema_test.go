// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ocsfSchema checks OCSF events against the schema's own data files (a
// subset of github.com/ocsf/ocsf-schema, Apache-2.0, committed under
// testdata/ocsf-schema): each class's attributes merged along its
// "extends" chain and its $include'd profiles, each object's likewise,
// the dictionary's types and enums, and the objects' constraints.
type ocsfSchema struct {
	dir     string
	version string
	dict    map[string]ocsfAttr // dictionary.json attributes
	types   map[string]ocsfType // dictionary.json types
	cats    map[string]int      // category name → uid
	objects map[string]*ocsfDef // by name, resolved
	loaded  map[string]bool     // files read (for the testdata subset)
	regexps map[string]*regexp.Regexp
}

// ocsfAttr is an attribute as the dictionary or a class or object states
// it; later levels override earlier ones field by field.
type ocsfAttr struct {
	Type        string                     `json:"type"`
	IsArray     bool                       `json:"is_array"`
	Requirement string                     `json:"requirement"`
	Enum        map[string]json.RawMessage `json:"enum"`
	Deprecated  json.RawMessage            `json:"@deprecated"`
}

type ocsfType struct {
	Type   string    `json:"type"`
	Regex  string    `json:"regex"`
	MaxLen int       `json:"max_len"`
	Range  []float64 `json:"range"`
}

// ocsfDef is a class or an object, resolved.
type ocsfDef struct {
	Name, Caption, Category string
	UID                     int
	Deprecated              bool
	Attrs                   map[string]ocsfAttr
	AtLeastOne, JustOne     []string
}

type ocsfFile struct {
	Name        string                     `json:"name"`
	Caption     string                     `json:"caption"`
	Category    string                     `json:"category"`
	UID         int                        `json:"uid"`
	Extends     string                     `json:"extends"`
	Deprecated  json.RawMessage            `json:"@deprecated"`
	Attributes  map[string]json.RawMessage `json:"attributes"`
	Constraints struct {
		AtLeastOne []string `json:"at_least_one"`
		JustOne    []string `json:"just_one"`
	} `json:"constraints"`
}

func loadOCSFSchema(t testing.TB, dir string) *ocsfSchema {
	t.Helper()
	s := &ocsfSchema{dir: dir, objects: map[string]*ocsfDef{}, loaded: map[string]bool{}, regexps: map[string]*regexp.Regexp{}}
	var dict struct {
		Attributes map[string]ocsfAttr `json:"attributes"`
		Types      struct {
			Attributes map[string]ocsfType `json:"attributes"`
		} `json:"types"`
	}
	s.readJSON(t, "dictionary.json", &dict)
	s.dict, s.types = dict.Attributes, dict.Types.Attributes
	var cats struct {
		Attributes map[string]struct{ UID int } `json:"attributes"`
	}
	s.readJSON(t, "categories.json", &cats)
	s.cats = map[string]int{}
	for name, c := range cats.Attributes {
		s.cats[name] = c.UID
	}
	var v struct{ Version string }
	s.readJSON(t, "version.json", &v)
	s.version = v.Version
	return s
}

func (s *ocsfSchema) readJSON(t testing.TB, rel string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, rel))
	if err != nil {
		t.Fatalf("OCSF schema: %v", err)
	}
	s.loaded[rel] = true
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("OCSF schema %s: %v", rel, err)
	}
}

// class resolves the event class in events/<category>/<name>.json.
func (s *ocsfSchema) class(t testing.TB, rel string) *ocsfDef {
	t.Helper()
	return s.resolve(t, rel, func(parent string) string {
		if parent == "base_event" {
			return "events/base_event.json"
		}
		return "events/" + parent + "/" + parent + ".json" // a category's generic class
	})
}

// object resolves the object in objects/<name>.json.
func (s *ocsfSchema) object(t testing.TB, name string) *ocsfDef {
	t.Helper()
	if d, ok := s.objects[name]; ok {
		return d
	}
	d := s.resolve(t, "objects/"+name+".json", func(parent string) string { return "objects/" + parent + ".json" })
	s.objects[name] = d
	return d
}

// resolve reads a definition and merges it over its parents and includes.
func (s *ocsfSchema) resolve(t testing.TB, rel string, parentPath func(string) string) *ocsfDef {
	t.Helper()
	var f ocsfFile
	s.readJSON(t, rel, &f)
	d := &ocsfDef{Attrs: map[string]ocsfAttr{}}
	if f.Extends != "" {
		p := s.resolve(t, parentPath(f.Extends), parentPath)
		d.Category, d.AtLeastOne, d.JustOne = p.Category, p.AtLeastOne, p.JustOne
		maps.Copy(d.Attrs, p.Attrs)
	}
	d.Name, d.Caption, d.UID, d.Deprecated = f.Name, f.Caption, f.UID, f.Deprecated != nil
	if f.Category != "" {
		d.Category = f.Category
	}
	if f.Constraints.AtLeastOne != nil || f.Constraints.JustOne != nil {
		d.AtLeastOne, d.JustOne = f.Constraints.AtLeastOne, f.Constraints.JustOne
	}
	if inc, ok := f.Attributes["$include"]; ok {
		var paths []string
		if err := json.Unmarshal(inc, &paths); err != nil {
			t.Fatalf("%s: $include: %v", rel, err)
		}
		for _, p := range paths {
			var pf ocsfFile
			s.readJSON(t, p, &pf)
			for name, raw := range pf.Attributes {
				a := s.mergeAttr(t, d.Attrs[name], raw)
				a.Requirement = "optional" // a profile's attributes apply only when it is named
				d.Attrs[name] = a
			}
		}
	}
	for name, raw := range f.Attributes {
		if name != "$include" {
			d.Attrs[name] = s.mergeAttr(t, d.Attrs[name], raw)
		}
	}
	return d
}

// mergeAttr overrides base with the fields raw sets; enums merge.
func (s *ocsfSchema) mergeAttr(t testing.TB, base ocsfAttr, raw json.RawMessage) ocsfAttr {
	t.Helper()
	var over ocsfAttr
	if err := json.Unmarshal(raw, &over); err != nil {
		t.Fatalf("attribute %s: %v", raw, err)
	}
	var set map[string]json.RawMessage
	_ = json.Unmarshal(raw, &set)
	out := base
	if over.Type != "" {
		out.Type = over.Type
	}
	if _, ok := set["is_array"]; ok {
		out.IsArray = over.IsArray
	}
	if over.Requirement != "" {
		out.Requirement = over.Requirement
	}
	if over.Deprecated != nil {
		out.Deprecated = over.Deprecated
	}
	if over.Enum != nil {
		out.Enum = maps.Clone(out.Enum)
		if out.Enum == nil {
			out.Enum = map[string]json.RawMessage{}
		}
		maps.Copy(out.Enum, over.Enum)
	}
	return out
}

// attr is the full definition of attribute name in def: the dictionary's,
// overridden by the class's or object's.
func (s *ocsfSchema) attr(def *ocsfDef, name string) (ocsfAttr, bool) {
	local, ok := def.Attrs[name]
	if !ok {
		return ocsfAttr{}, false
	}
	a := s.dict[name]
	if local.Type != "" {
		a.Type = local.Type
	}
	if local.IsArray {
		a.IsArray = true
	}
	a.Requirement = local.Requirement
	a.Deprecated = local.Deprecated
	if local.Enum != nil {
		a.Enum = maps.Clone(a.Enum)
		if a.Enum == nil {
			a.Enum = map[string]json.RawMessage{}
		}
		maps.Copy(a.Enum, local.Enum)
	}
	return a, true
}

// check returns every way obj breaks def (path-prefixed).
func (s *ocsfSchema) check(t testing.TB, def *ocsfDef, obj map[string]any, path string) []string {
	var errs []string
	for _, name := range slices.Sorted(maps.Keys(obj)) {
		a, ok := s.attr(def, name)
		if !ok {
			errs = append(errs, fmt.Sprintf("%s%s: not an attribute of %s", path, name, def.Name))
			continue
		}
		if a.Deprecated != nil {
			errs = append(errs, fmt.Sprintf("%s%s: deprecated in %s", path, name, def.Name))
		}
		errs = append(errs, s.checkValue(t, a, obj[name], path+name)...)
	}
	for _, name := range slices.Sorted(maps.Keys(def.Attrs)) {
		if def.Attrs[name].Requirement == "required" && obj[name] == nil {
			errs = append(errs, fmt.Sprintf("%s%s: required by %s, missing", path, name, def.Name))
		}
	}
	if len(def.AtLeastOne) > 0 && !slices.ContainsFunc(def.AtLeastOne, func(k string) bool { return obj[k] != nil }) {
		errs = append(errs, fmt.Sprintf("%s: %s needs at least one of %v", strings.TrimSuffix(path, "."), def.Name, def.AtLeastOne))
	}
	if len(def.JustOne) > 0 {
		n := 0
		for _, k := range def.JustOne {
			if obj[k] != nil {
				n++
			}
		}
		if n != 1 {
			errs = append(errs, fmt.Sprintf("%s: %s needs exactly one of %v", strings.TrimSuffix(path, "."), def.Name, def.JustOne))
		}
	}
	return errs
}

// checkValue checks one value against its attribute's type and enum.
func (s *ocsfSchema) checkValue(t testing.TB, a ocsfAttr, v any, path string) []string {
	if a.IsArray {
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an array of %s", path, v, a.Type)}
		}
		var errs []string
		elem := a
		elem.IsArray = false
		for i, e := range arr {
			errs = append(errs, s.checkValue(t, elem, e, fmt.Sprintf("%s[%d]", path, i))...)
		}
		return errs
	}
	if a.Enum != nil {
		n, ok := v.(json.Number)
		if _, known := a.Enum[string(n)]; !ok || !known {
			return []string{fmt.Sprintf("%s: %v is not one of the enum %v", path, v, slices.Sorted(maps.Keys(a.Enum)))}
		}
	}
	if _, scalar := s.types[a.Type]; scalar {
		if err := s.checkScalar(a.Type, v); err != "" {
			return []string{fmt.Sprintf("%s: %s", path, err)}
		}
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: %T, want a %s object", path, v, a.Type)}
	}
	if a.Type == "object" { // free-form (unmapped)
		return nil
	}
	return s.check(t, s.object(t, a.Type), obj, path+".")
}

// checkScalar checks v against a dictionary type, following its base type.
func (s *ocsfSchema) checkScalar(typ string, v any) string {
	ty := s.types[typ]
	switch typ {
	case "string_t":
		if _, ok := v.(string); !ok {
			return fmt.Sprintf("%T, want a string", v)
		}
		return ""
	case "integer_t", "long_t":
		n, ok := v.(json.Number)
		i, err := strconv.ParseInt(string(n), 10, 64)
		if !ok || err != nil || (typ == "integer_t" && (i < math.MinInt32 || i > math.MaxInt32)) {
			return fmt.Sprintf("%v, want a %s", v, typ)
		}
		return ""
	case "float_t":
		n, ok := v.(json.Number)
		if _, err := n.Float64(); !ok || err != nil {
			return fmt.Sprintf("%v, want a number", v)
		}
		return ""
	case "boolean_t":
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("%v, want a boolean", v)
		}
		return ""
	case "json_t":
		return ""
	}
	if err := s.checkScalar(ty.Type, v); err != "" {
		return err + " (" + typ + ")"
	}
	if str, ok := v.(string); ok {
		if ty.MaxLen > 0 && len(str) > ty.MaxLen {
			return fmt.Sprintf("%q is longer than %d (%s)", str, ty.MaxLen, typ)
		}
		if ty.Regex != "" {
			re, ok := s.regexps[typ]
			if !ok {
				re, _ = regexp.Compile(ty.Regex) // nil when Go's syntax differs
				s.regexps[typ] = re
			}
			if re != nil && !re.MatchString(str) {
				return fmt.Sprintf("%q does not match %s", str, typ)
			}
		}
	}
	if len(ty.Range) == 2 {
		f, _ := v.(json.Number).Float64()
		if f < ty.Range[0] || f > ty.Range[1] {
			return fmt.Sprintf("%v is outside %v (%s)", v, ty.Range, typ)
		}
	}
	return ""
}
