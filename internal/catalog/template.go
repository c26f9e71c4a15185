// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"errors"
	"fmt"
	"strings"
)

// node is one piece of a parsed template: literal text, a placeholder or
// an optional group.
type node struct {
	text string // literal text, when kind is ""

	kind        string   // "actor", "target", "targets", "meta" or "group"
	args        []string // target types, or the metadata key
	fallback    string
	hasFallback bool

	then, orElse []node // a group's branches
	hasElse      bool
}

// parseTemplate parses the template syntax described in the package doc.
func parseTemplate(s string) ([]node, error) {
	nodes, rest, err := parseSeq(s, false)
	if err != nil {
		return nil, err
	}
	if rest != "" {
		return nil, fmt.Errorf("unexpected %q", rest[:1])
	}
	return nodes, nil
}

// parseSeq parses text and placeholders up to the end of s or, inside a
// group, up to a top-level '|' or ']', and returns the unparsed rest.
func parseSeq(s string, inGroup bool) ([]node, string, error) {
	var nodes []node
	for s != "" {
		i := strings.IndexAny(s, "{}[]|")
		if i < 0 {
			return append(nodes, node{text: s}), "", nil
		}
		if i > 0 {
			nodes = append(nodes, node{text: s[:i]})
		}
		c := s[i]
		s = s[i:]
		switch {
		case c == '{':
			n, rest, err := parsePlaceholder(s)
			if err != nil {
				return nil, "", err
			}
			nodes, s = append(nodes, n), rest
		case c == '[' && !inGroup:
			n, rest, err := parseGroup(s)
			if err != nil {
				return nil, "", err
			}
			nodes, s = append(nodes, n), rest
		case c == '|' && !inGroup:
			nodes, s = append(nodes, node{text: "|"}), s[1:]
		case inGroup && (c == '|' || c == ']'):
			return nodes, s, nil
		default:
			return nil, "", fmt.Errorf("unexpected %q", c)
		}
	}
	return nodes, "", nil
}

// parseGroup parses "[then]" or "[then|else]" at the start of s.
func parseGroup(s string) (node, string, error) {
	then, rest, err := parseSeq(s[1:], true)
	if err != nil {
		return node{}, "", err
	}
	g := node{kind: "group", then: then}
	if strings.HasPrefix(rest, "|") {
		g.hasElse = true
		if g.orElse, rest, err = parseSeq(rest[1:], true); err != nil {
			return node{}, "", err
		}
	}
	if !strings.HasPrefix(rest, "]") {
		return node{}, "", errors.New("unclosed '['")
	}
	return g, rest[1:], nil
}

// parsePlaceholder parses "{name}", "{name:args}" or "{name:args|fallback}"
// at the start of s.
func parsePlaceholder(s string) (node, string, error) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return node{}, "", errors.New("unclosed '{'")
	}
	body, rest := s[1:end], s[end+1:]
	if strings.ContainsAny(body, "{[]") {
		return node{}, "", fmt.Errorf("bad placeholder %q", body)
	}
	var n node
	body, n.fallback, n.hasFallback = strings.Cut(body, "|")
	name, arg, hasArg := strings.Cut(body, ":")
	n.kind = name
	switch {
	case name == "actor" && !hasArg, name == "target" && !hasArg:
	case (name == "target" || name == "targets") && hasArg:
		n.args = strings.Split(arg, ",")
	case name == "meta" && hasArg:
		n.args = []string{arg}
	default:
		return node{}, "", fmt.Errorf("unknown placeholder {%s}", body)
	}
	for _, a := range n.args {
		if !validKey(a) {
			return node{}, "", fmt.Errorf("bad name %q in {%s}", a, body)
		}
	}
	return n, rest, nil
}
