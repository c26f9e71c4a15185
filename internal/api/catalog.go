// SPDX-License-Identifier: Apache-2.0

package api

import (
	"encoding/json"
	"net/http"

	"github.com/trailaudit/trail/internal/catalog"
)

// The JSON shape of GET /api/v1/catalog.
type (
	catalogDoc struct {
		Categories []catalogCategory `json:"categories"`
	}
	catalogCategory struct {
		Slug  string        `json:"slug"`
		Title string        `json:"title"`
		Types []catalogType `json:"types"`
	}
	catalogType struct {
		Name            string          `json:"name"`
		Summary         string          `json:"summary"`
		Template        string          `json:"template"`
		Targets         []catalogTarget `json:"targets"`
		Metadata        []catalogMeta   `json:"metadata"`
		RecordedByTrail bool            `json:"recorded_by_trail"`
		NamesOnly       bool            `json:"names_only"`
	}
	catalogTarget struct {
		Type     string   `json:"type"`
		Required bool     `json:"required"`
		Alt      []string `json:"alt,omitempty"` // other types that meet the rule
	}
	catalogMeta struct {
		Key      string `json:"key"`
		Kind     string `json:"kind"`
		Required bool   `json:"required"`
		Doc      string `json:"doc,omitempty"`
	}
)

// encodeCatalog encodes the catalog once; it never changes.
func encodeCatalog(c *catalog.Catalog) []byte {
	doc := catalogDoc{Categories: []catalogCategory{}}
	index := map[catalog.Category]int{}
	for _, ci := range c.Categories() {
		index[ci.Slug] = len(doc.Categories)
		doc.Categories = append(doc.Categories, catalogCategory{Slug: string(ci.Slug), Title: ci.Title, Types: []catalogType{}})
	}
	for _, t := range c.Types() {
		i, ok := index[t.Category]
		if !ok {
			continue
		}
		doc.Categories[i].Types = append(doc.Categories[i].Types, catalogTypeOf(t))
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("api: encoding catalog: " + err.Error())
	}
	return append(b, '\n')
}

func catalogTypeOf(t *catalog.Type) catalogType {
	ct := catalogType{
		Name: t.Name, Summary: t.Summary, Template: t.Template,
		Targets: []catalogTarget{}, Metadata: []catalogMeta{},
		RecordedByTrail: t.TrailOnly, NamesOnly: t.NamesOnly,
	}
	for _, tr := range t.Targets {
		ct.Targets = append(ct.Targets, catalogTarget{Type: tr.Type, Required: tr.Required, Alt: tr.Alt})
	}
	for _, m := range t.Metadata {
		ct.Metadata = append(ct.Metadata, catalogMeta{Key: m.Key, Kind: string(m.Kind), Required: m.Required, Doc: m.Doc})
	}
	return ct
}

// catalogHandler serves GET /api/v1/catalog: every event type by
// category, with its template and field rules. No key is needed.
func (a *API) catalogHandler(w http.ResponseWriter, r *http.Request, _ caller) error {
	if err := checkParams(r); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(a.catalog)
	return nil
}
