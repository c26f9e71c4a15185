// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

const (
	maxRenderedValue = 80 // runes of one value in a description
	maxListed        = 5  // items of a list before "and N more"
)

// Render produces the description sentence of an event of type t, such as
// "alice changed bob's role from read to admin". Values that are missing
// render as neutral words ("someone", "a member", "a repository"), never
// as braces or "<nil>"; the result is never empty. Render does not
// validate: it accepts anything Validate would refuse. The result is plain
// text, to be escaped for its medium (HTML, CSV) by whoever displays it.
func (t *Type) Render(actor Ref, targets []Ref, metadata map[string]any) string {
	r := renderer{actor: actor, targets: targets, meta: metadata}
	var s string
	if nodes, err := parseTemplate(t.Template); err == nil {
		s, _ = r.seq(nodes)
	}
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		name := t.Name
		if name == "" {
			name = "an action"
		}
		s = r.actorName() + " performed " + name
	}
	return s
}

// renderer holds the values of one event while its template renders.
type renderer struct {
	actor   Ref
	targets []Ref
	meta    map[string]any
}

// seq renders nodes and reports whether every placeholder had a value.
func (r renderer) seq(nodes []node) (string, bool) {
	var b strings.Builder
	all := true
	for _, n := range nodes {
		s, ok := r.node(n)
		b.WriteString(s)
		all = all && ok
	}
	return b.String(), all
}

func (r renderer) node(n node) (string, bool) {
	if n.kind == "" {
		return n.text, true
	}
	if n.kind == "group" {
		if s, ok := r.seq(n.then); ok {
			return s, true
		}
		s, _ := r.seq(n.orElse)
		return s, true
	}
	if s, ok := r.value(n); ok {
		return s, true
	}
	if n.hasFallback {
		return n.fallback, false
	}
	return r.neutral(n), false
}

// value returns the text of a placeholder, false when it has none.
func (r renderer) value(n node) (string, bool) {
	switch n.kind {
	case "actor":
		return refText(r.actor)
	case "target":
		return r.firstTarget(n.args)
	case "targets":
		return listText(r.targetsOf(n.args))
	case "meta":
		return valueText(r.meta[n.args[0]])
	}
	return "", false
}

func (r renderer) neutral(n node) string {
	switch {
	case n.kind == "actor":
		return "someone"
	case n.kind == "meta":
		return "unknown"
	case len(n.args) > 0:
		return NeutralWord(n.args[0])
	}
	return "something"
}

func (r renderer) actorName() string {
	if s, ok := refText(r.actor); ok {
		return s
	}
	return "someone"
}

// firstTarget returns the first target of the first of types that has one;
// with no types, the first target of any type.
func (r renderer) firstTarget(types []string) (string, bool) {
	if len(types) == 0 {
		for _, t := range r.targets {
			if s, ok := refText(t); ok {
				return s, true
			}
		}
		return "", false
	}
	for _, typ := range types {
		if s, ok := r.firstTarget1(typ); ok {
			return s, true
		}
	}
	return "", false
}

func (r renderer) firstTarget1(typ string) (string, bool) {
	for _, t := range r.targets {
		if t.Type == typ {
			if s, ok := refText(t); ok {
				return s, true
			}
		}
	}
	return "", false
}

func (r renderer) targetsOf(types []string) []string {
	var out []string
	for _, t := range r.targets {
		if slices.Contains(types, t.Type) {
			if s, ok := refText(t); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// refText is a ref's name, else its id.
func refText(r Ref) (string, bool) {
	if s := clean(r.Name); s != "" {
		return s, true
	}
	if s := clean(r.ID); s != "" {
		return s, true
	}
	return "", false
}

// valueText renders one metadata value; false when it is missing or empty.
func valueText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		s := clean(x)
		return s, s != ""
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case []any:
		items := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := valueText(e); ok {
				items = append(items, s)
			}
		}
		return listText(items)
	case []string:
		return valueText(toAny(x))
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, clean(k))
		}
		slices.Sort(keys)
		return listText(keys)
	}
	s := clean(fmt.Sprint(v))
	return s, s != "" && s != "<nil>"
}

func toAny(l []string) []any {
	out := make([]any, len(l))
	for i, s := range l {
		out[i] = s
	}
	return out
}

// listText joins items as "a, b and c", naming at most maxListed.
func listText(items []string) (string, bool) {
	switch n := len(items); {
	case n == 0:
		return "", false
	case n == 1:
		return items[0], true
	case n > maxListed:
		return strings.Join(items[:maxListed], ", ") + fmt.Sprintf(" and %d more", n-maxListed), true
	default:
		return strings.Join(items[:n-1], ", ") + " and " + items[n-1], true
	}
}

// clean makes a value fit in one sentence: control characters become
// spaces, runs of spaces collapse, and long values are shortened.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if rs := []rune(s); len(rs) > maxRenderedValue {
		s = string(rs[:maxRenderedValue-1]) + "…"
	}
	return s
}
