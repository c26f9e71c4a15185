// SPDX-License-Identifier: Apache-2.0

package catalog

//go:generate go run ./gen -o ../../docs/events.md

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
)

// Category groups event types the way the audit-log page shows them.
type Category string

// The categories, in display order.
const (
	CategoryOrganization   Category = "organization"
	CategoryMembership     Category = "membership"
	CategoryContent        Category = "content"
	CategoryBilling        Category = "billing"
	CategoryResourceGroups Category = "resource_groups"
	CategoryJobs           Category = "jobs"
	CategoryAuditLog       Category = "audit_log"
)

// CategoryInfo is a category's slug and its human title.
type CategoryInfo struct {
	Slug  Category
	Title string
}

var builtinCategories = []CategoryInfo{
	{CategoryOrganization, "Organization management & security"},
	{CategoryMembership, "Membership & access control"},
	{CategoryContent, "Content & resources"},
	{CategoryBilling, "Billing & cloud"},
	{CategoryResourceGroups, "Resource groups"},
	{CategoryJobs, "Jobs"},
	{CategoryAuditLog, "Audit log"},
}

// Kind is the JSON kind a metadata value must have.
type Kind string

// The metadata kinds.
const (
	KindString     Kind = "string"      // a JSON string
	KindInt        Kind = "int"         // a JSON integer that fits in 64 bits
	KindNumber     Kind = "number"      // any JSON number
	KindBool       Kind = "bool"        // true or false
	KindStringList Kind = "string_list" // an array of strings
	KindObject     Kind = "object"      // a JSON object
	KindAny        Kind = "any"         // any JSON value
)

// TargetRule describes one target type an event type expects. A Required
// rule is met by at least one target of Type or of one of Alt; a rule that
// is not required only documents a target producers usually send. Targets
// of types no rule names are always allowed.
type TargetRule struct {
	Type     string
	Required bool
	Alt      []string // other target types that also meet the rule
}

// Types returns Type followed by Alt.
func (r TargetRule) Types() []string { return append([]string{r.Type}, r.Alt...) }

// MetaRule describes one known metadata key. Kind is enforced whenever the
// key is present with a non-null value; Required keys must be present.
type MetaRule struct {
	Key      string
	Kind     Kind
	Required bool
	Doc      string
}

// Type is one event type. Values returned by a Catalog are shared: callers
// must not modify them.
type Type struct {
	Name, Summary, Template string
	Category                Category
	Targets                 []TargetRule
	Metadata                []MetaRule
	// TrailOnly marks the events Trail records itself (reading or exporting
	// the audit log). The Hub records its own exports under the same name,
	// so the flag says who may record the event, not that producers must be
	// refused.
	TrailOnly bool
	// NamesOnly marks events about secrets and variables: their metadata
	// carries names, never values; Validate refuses RefusedKeys.
	NamesOnly bool
}

// Ref is a target or an actor as the domain sees it.
type Ref struct {
	Type, ID, Name string
}

// FieldError names one problem found by Validate. Field is a path such as
// "targets", "targets[1].type" or "metadata.old_role"; Expected says what
// was expected, such as "a target of type user" or "a string".
type FieldError struct {
	Field, Expected string
}

// Error returns "Field: expected Expected".
func (e FieldError) Error() string {
	return fmt.Sprintf("%s: expected %s", e.Field, e.Expected)
}

// Catalog is an immutable set of event types, safe for concurrent use.
type Catalog struct {
	cats     []CategoryInfo
	types    []*Type
	byName   map[string]*Type
	platform int // types added by Extend
}

// Builtin returns the built-in catalog: the Hub's 102 event types and
// Trail's own. It is built on first use and shared by every caller.
func Builtin() *Catalog { return builtin() }

var builtin = sync.OnceValue(func() *Catalog {
	c, err := newCatalog(builtinCategories, builtinTypes())
	if err != nil {
		panic("catalog: invalid built-in catalog: " + err.Error())
	}
	return c
})

func builtinTypes() []Type {
	return slices.Concat(orgTypes(), orgSettingsTypes(), membershipTypes(),
		contentTypes(), secretTypes(), billingTypes(), groupTypes(), jobTypes(),
		auditLogTypes(), streamTypes())
}

// newCatalog checks the definitions (unique names, known categories,
// well-formed templates) and indexes them.
func newCatalog(cats []CategoryInfo, defs []Type) (*Catalog, error) {
	order := map[Category]int{}
	for i, ci := range cats {
		order[ci.Slug] = i
	}
	c := &Catalog{cats: cats, byName: make(map[string]*Type, len(defs))}
	for i := range defs {
		t := &defs[i]
		if err := checkType(t, order); err != nil {
			return nil, err
		}
		if c.byName[t.Name] != nil {
			return nil, fmt.Errorf("type %s defined twice", t.Name)
		}
		c.byName[t.Name] = t
		c.types = append(c.types, t)
	}
	slices.SortFunc(c.types, func(a, b *Type) int {
		return cmp.Or(cmp.Compare(order[a.Category], order[b.Category]), cmp.Compare(a.Name, b.Name))
	})
	return c, nil
}

func checkType(t *Type, order map[Category]int) error {
	if _, ok := order[t.Category]; !ok {
		return fmt.Errorf("type %s: unknown category %q", t.Name, t.Category)
	}
	if t.Summary == "" {
		return fmt.Errorf("type %s: no summary", t.Name)
	}
	if _, err := parseTemplate(t.Template); err != nil {
		return fmt.Errorf("type %s: template: %w", t.Name, err)
	}
	for _, m := range t.Metadata {
		if !kindNames[m.Kind] || !validKey(m.Key) {
			return fmt.Errorf("type %s: bad metadata rule %q (%s)", t.Name, m.Key, m.Kind)
		}
	}
	return nil
}

var kindNames = map[Kind]bool{
	KindString: true, KindInt: true, KindNumber: true, KindBool: true,
	KindStringList: true, KindObject: true, KindAny: true,
}

// Lookup returns the type of that exact, case-sensitive name.
func (c *Catalog) Lookup(name string) (*Type, bool) {
	t, ok := c.byName[name]
	return t, ok
}

// Types returns every type, ordered by category (in the order of
// Categories), then by name. The slice is the caller's.
func (c *Catalog) Types() []*Type { return slices.Clone(c.types) }

// Categories returns every category in display order. The slice is the
// caller's.
func (c *Catalog) Categories() []CategoryInfo { return slices.Clone(c.cats) }

// Category returns the category of that slug.
func (c *Catalog) Category(slug string) (CategoryInfo, bool) {
	for _, ci := range c.cats {
		if string(ci.Slug) == slug {
			return ci, true
		}
	}
	return CategoryInfo{}, false
}

// TypesIn returns the types of one category ordered by name; it is empty
// for an unknown category. The slice is the caller's.
func (c *Catalog) TypesIn(cat Category) []*Type {
	var out []*Type
	for _, t := range c.types {
		if t.Category == cat {
			out = append(out, t)
		}
	}
	return out
}
