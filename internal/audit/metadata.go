// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"cmp"
	"slices"

	"github.com/trailaudit/trail/internal/catalog"
)

// metaParser reads a metadata object into a catalog.Meta for the fast
// path. The tree's strings point into the raw JSON or into scratch: they
// live until the next parse.
type metaParser struct {
	nodes   catalog.Meta
	scratch []byte
	members []member
	tmp     catalog.Meta
	lone    bool // a lone surrogate escape was seen
}

// member is one member of an object being read: its key and nodes.
type member struct {
	key        string
	start, end int
}

// parse reads the object raw, which skipValue accepted (its strings are
// read with knownString).
// ok is false for anything the fast path leaves to the reference.
func (p *metaParser) parse(raw []byte) (catalog.Meta, bool) {
	p.nodes, p.scratch, p.members, p.lone = p.nodes[:0], p.scratch[:0], p.members[:0], false
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	end, ok := p.value(raw, 0, 0, "")
	if !ok || skipWS(raw, end) != len(raw) || p.lone {
		return nil, false
	}
	return p.nodes, true
}

// str returns the value of the string token tok.
func (p *metaParser) str(tok []byte, escaped bool) string {
	if !escaped {
		return view(tok[1 : len(tok)-1])
	}
	start := len(p.scratch)
	var lone bool
	p.scratch, lone = unescape(p.scratch, tok)
	p.lone = p.lone || lone
	return view(p.scratch[start:])
}

func (p *metaParser) add(kind catalog.MetaKind, key, text string) int {
	p.nodes = append(p.nodes, catalog.MetaNode{Kind: kind, Key: key, Text: text})
	return len(p.nodes) - 1
}

// value reads the value at b[i] as a node with key.
func (p *metaParser) value(b []byte, i, depth int, key string) (int, bool) {
	if i >= len(b) || depth > maxFastDepth {
		return 0, false
	}
	var end int
	var ok bool
	switch c := b[i]; {
	case c == '"':
		end, escaped := knownString(b, i)
		n := p.add(catalog.MetaString, key, p.str(b[i:end], escaped))
		p.nodes[n].Next = n + 1
		return end, true
	case c == '{':
		return p.object(b, i, depth, key)
	case c == '[':
		return p.array(b, i, depth, key)
	case c == 't':
		end, ok = scanLiteral(b, i, "true")
		p.leaf(catalog.MetaBool, key, "true")
	case c == 'f':
		end, ok = scanLiteral(b, i, "false")
		p.leaf(catalog.MetaBool, key, "false")
	case c == 'n':
		end, ok = scanLiteral(b, i, "null")
		p.leaf(catalog.MetaNull, key, "")
	default:
		if end, ok = scanNumber(b, i); ok {
			p.leaf(catalog.MetaNumber, key, view(b[i:end]))
		}
	}
	return end, ok
}

func (p *metaParser) leaf(kind catalog.MetaKind, key, text string) {
	n := p.add(kind, key, text)
	p.nodes[n].Next = n + 1
}

func (p *metaParser) array(b []byte, i, depth int, key string) (int, bool) {
	n := p.add(catalog.MetaArray, key, "")
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		p.nodes[n].Next = len(p.nodes)
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = p.value(b, i, depth+1, ""); !ok {
			return 0, false
		}
		if i = skipWS(b, i); i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case ']':
			p.nodes[n].Next = len(p.nodes)
			return i + 1, true
		default:
			return 0, false
		}
	}
}

func (p *metaParser) object(b []byte, i, depth int, key string) (int, bool) {
	n := p.add(catalog.MetaObject, key, "")
	base := len(p.members)
	i = skipWS(b, i+1)
	closed := i < len(b) && b[i] == '}'
	if closed {
		i++
	}
	for !closed {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		end, escaped := knownString(b, i)
		k := p.str(b[i:end], escaped)
		if i = skipWS(b, end); i >= len(b) || b[i] != ':' {
			return 0, false
		}
		start := len(p.nodes)
		var ok bool
		if i, ok = p.value(b, skipWS(b, i+1), depth+1, k); !ok {
			return 0, false
		}
		p.members = append(p.members, member{k, start, len(p.nodes)})
		if i = skipWS(b, i); i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			i++
			closed = true
		default:
			return 0, false
		}
	}
	p.sortMembers(n, p.members[base:])
	p.members = p.members[:base]
	p.nodes[n].Next = len(p.nodes)
	return i, true
}

// sortMembers puts the members of object n in key order, keeping only the
// last of equal keys (as decoding into a map does).
func (p *metaParser) sortMembers(n int, ms []member) {
	sorted := true
	for j := 1; j < len(ms); j++ {
		if ms[j-1].key >= ms[j].key {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	slices.SortStableFunc(ms, func(a, b member) int { return cmp.Compare(a.key, b.key) })
	p.tmp = p.tmp[:0]
	for j, m := range ms {
		if j+1 < len(ms) && ms[j+1].key == m.key {
			continue // a later value of the same key wins
		}
		delta := len(p.tmp) + n + 1 - m.start
		for _, node := range p.nodes[m.start:m.end] {
			node.Next += delta
			p.tmp = append(p.tmp, node)
		}
	}
	p.nodes = append(p.nodes[:n+1], p.tmp...)
}

// appendMeta appends the canonical JSON of node i of m (appendValue's
// encoding of the same value decoded into maps).
func appendMeta(dst []byte, m catalog.Meta, i int) []byte {
	n := m[i]
	switch n.Kind {
	case catalog.MetaNull:
		return append(dst, "null"...)
	case catalog.MetaBool, catalog.MetaNumber:
		return append(dst, n.Text...)
	case catalog.MetaString:
		return appendString(dst, n.Text)
	}
	open, closer := byte('['), byte(']')
	if n.Kind == catalog.MetaObject {
		open, closer = '{', '}'
	}
	dst = append(dst, open)
	for c := i + 1; c < n.Next; c = m[c].Next {
		if c > i+1 {
			dst = append(dst, ',')
		}
		if n.Kind == catalog.MetaObject {
			dst = appendString(dst, m[c].Key)
			dst = append(dst, ':')
		}
		dst = appendMeta(dst, m, c)
	}
	return append(dst, closer)
}

// appendMetaText appends the metadata's part of SearchText: every key and
// string, keys sorted.
func appendMetaText(dst []byte, m catalog.Meta, i int) []byte {
	n := m[i]
	switch n.Kind {
	case catalog.MetaString:
		return appendWord(dst, n.Text)
	case catalog.MetaArray, catalog.MetaObject:
		for c := i + 1; c < n.Next; c = m[c].Next {
			if n.Kind == catalog.MetaObject {
				dst = appendWord(dst, m[c].Key)
			}
			dst = appendMetaText(dst, m, c)
		}
	}
	return dst
}

// appendWord is SearchText's add.
func appendWord(dst []byte, s string) []byte {
	if s == "" {
		return dst
	}
	return append(append(dst, s...), ' ')
}
