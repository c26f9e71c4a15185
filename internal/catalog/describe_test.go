// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// trickyValues are strings whose cleaning is not a plain copy: spaces of
// every kind, C0 and C1 controls, DEL, U+FFFD and invalid UTF-8, non-ASCII
// letters, and values cut at maxRenderedValue.
var trickyValues = []string{
	"", " ", "plain", "  two  words  ", "tab\there", "nl\nand\r\ncr", "\v\fform",
	"del\x7fdel", "c1\u0085next\u00a0nbsp", "ctl\u009bx", "é à ü", "日本語 テキスト",
	"bad\xffutf8", "\ufffdrepl", "line\u2028sep\u2029para", "emoji 🚀 rocket",
	strings.Repeat("a", 300), strings.Repeat("é", 130) + " tail", strings.Repeat("ab ", 90),
	"\x00\x01lead", "trail\x1f", "x\u200by",
}

// metaOf builds the Meta tree of a decoded JSON object, as the ingest
// decoder does: preorder, members sorted by key.
func metaOf(v map[string]any) Meta {
	var m Meta
	var add func(key string, v any)
	add = func(key string, v any) {
		i := len(m)
		m = append(m, MetaNode{Key: key})
		switch v := v.(type) {
		case string:
			m[i].Kind, m[i].Text = MetaString, v
		case json.Number:
			m[i].Kind, m[i].Text = MetaNumber, string(v)
		case bool:
			m[i].Kind, m[i].Text = MetaBool, "false"
			if v {
				m[i].Text = "true"
			}
		case []any:
			m[i].Kind = MetaArray
			for _, e := range v {
				add("", e)
			}
		case map[string]any:
			m[i].Kind = MetaObject
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				add(k, v[k])
			}
		}
		m[i].Next = len(m)
	}
	add("", v)
	return m
}

// TestAppendDescriptionIsRender: the ingest path's describer writes what
// Render returns, for every type, with tricky values in the actor, the
// targets and every string of the metadata.
func TestAppendDescriptionIsRender(t *testing.T) {
	for _, typ := range Builtin().Types() {
		targets, metadata := sampleEvent(typ)
		for i, v := range trickyValues {
			w := trickyValues[(i+7)%len(trickyValues)]
			actor := Ref{Type: "user", ID: w, Name: v}
			if i%3 == 0 {
				actor.Name = ""
			}
			tg := slices.Clone(targets)
			for j := range tg {
				tg[j].Name = trickyValues[(i+j)%len(trickyValues)]
				if j%2 == 1 {
					tg[j].ID, tg[j].Name = v, ""
				}
			}
			md := map[string]any{}
			for k, x := range metadata {
				switch x.(type) {
				case string:
					md[k] = v
				case []any:
					md[k] = []any{v, w, ""}
				default:
					md[k] = x
				}
			}
			for _, m := range []map[string]any{md, nil} {
				want := typ.Render(actor, tg, m)
				var meta Meta
				if m != nil {
					meta = metaOf(m)
				}
				got, ok := typ.AppendDescription([]byte("x"), actor, tg, meta)
				if !ok {
					continue // left to Render
				}
				if string(got) != "x"+want {
					t.Fatalf("%s with %q: AppendDescription %q, Render %q", typ.Name, v, got[1:], want)
				}
			}
		}
	}
}

// TestCollapseSpaces: collapseSpaces is strings.Join(strings.Fields(s), " ").
func TestCollapseSpaces(t *testing.T) {
	for _, v := range trickyValues {
		for _, s := range []string{v, " " + v + "\v\t", v + "\u0085" + v, "a\u00a0\u00a0" + v + "\u3000b"} {
			got := collapseSpaces([]byte("pre"+s), 3)
			if want := "pre" + strings.Join(strings.Fields(s), " "); string(got) != want {
				t.Fatalf("collapseSpaces(%q) = %q, want %q", s, got[3:], want[3:])
			}
		}
	}
}
