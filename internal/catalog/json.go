// SPDX-License-Identifier: Apache-2.0

package catalog

import "encoding/json"

// The JSON shape of a catalog: the reply of GET /api/v1/catalog and the
// platform catalog file of `trail serve --catalog`.
type (
	jsonDoc struct {
		Categories []jsonCategory `json:"categories"`
	}
	jsonCategory struct {
		Slug  string     `json:"slug"`
		Title string     `json:"title"`
		Types []jsonType `json:"types"`
	}
	jsonType struct {
		Name            string       `json:"name"`
		Summary         string       `json:"summary"`
		Template        string       `json:"template"`
		Targets         []jsonTarget `json:"targets"`
		Metadata        []jsonMeta   `json:"metadata"`
		RecordedByTrail bool         `json:"recorded_by_trail"`
		NamesOnly       bool         `json:"names_only"`
	}
	jsonTarget struct {
		Type     string   `json:"type"`
		Required bool     `json:"required"`
		Alt      []string `json:"alt,omitempty"` // other types that meet the rule
	}
	jsonMeta struct {
		Key      string `json:"key"`
		Kind     string `json:"kind"`
		Required bool   `json:"required"`
		Doc      string `json:"doc,omitempty"`
	}
)

// JSON encodes the catalog, every type by category in display order, in
// the shape GET /api/v1/catalog serves and --catalog reads, with a final
// newline.
func (c *Catalog) JSON() []byte {
	doc := jsonDoc{Categories: []jsonCategory{}}
	index := map[Category]int{}
	for _, ci := range c.cats {
		index[ci.Slug] = len(doc.Categories)
		doc.Categories = append(doc.Categories, jsonCategory{Slug: string(ci.Slug), Title: ci.Title, Types: []jsonType{}})
	}
	for _, t := range c.types {
		i := index[t.Category]
		doc.Categories[i].Types = append(doc.Categories[i].Types, jsonTypeOf(t))
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("catalog: encoding: " + err.Error())
	}
	return append(b, '\n')
}

func jsonTypeOf(t *Type) jsonType {
	jt := jsonType{
		Name: t.Name, Summary: t.Summary, Template: t.Template,
		Targets: []jsonTarget{}, Metadata: []jsonMeta{},
		RecordedByTrail: t.TrailOnly, NamesOnly: t.NamesOnly,
	}
	for _, tr := range t.Targets {
		jt.Targets = append(jt.Targets, jsonTarget{Type: tr.Type, Required: tr.Required, Alt: tr.Alt})
	}
	for _, m := range t.Metadata {
		jt.Metadata = append(jt.Metadata, jsonMeta{Key: m.Key, Kind: string(m.Kind), Required: m.Required, Doc: m.Doc})
	}
	return jt
}
