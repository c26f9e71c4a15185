// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"slices"
	"strconv"
	"unicode/utf8"
)

// MetaKind is the JSON kind of a MetaNode.
type MetaKind uint8

// The kinds of MetaNode.
const (
	MetaNull MetaKind = iota
	MetaBool
	MetaNumber
	MetaString
	MetaArray
	MetaObject
)

// MetaNode is one JSON value of an event's metadata in a Meta tree.
type MetaNode struct {
	Kind MetaKind
	Key  string // the member's key, for a member of an object
	Text string // a string's value, a number's text as sent, "true" or "false"
	Next int    // the index of the node after this value and all its children
}

// Meta is a metadata object as the ingest decoder holds it: a flat tree in
// preorder instead of maps and interfaces. Meta[0] is the object; the
// children of node i are the nodes from i+1 up to Meta[i].Next, each
// followed by its own children. The members of every object are sorted by
// key, without duplicates (the last one sent wins, as with maps). The
// empty Meta is no metadata.
type Meta []MetaNode

// children calls fn for each child of node i.
func (m Meta) children(i int, fn func(c int) bool) {
	for c := i + 1; c < m[i].Next; c = m[c].Next {
		if !fn(c) {
			return
		}
	}
}

// Member returns the index of the top-level member key, or -1.
func (m Meta) Member(key string) int {
	if len(m) == 0 {
		return -1
	}
	found := -1
	m.children(0, func(c int) bool {
		if m[c].Key == key {
			found = c
			return false
		}
		return m[c].Key < key
	})
	return found
}

// ValidMeta reports whether Validate would find no problem in targets and
// metadata m, for targets that already passed the ingest parser's checks
// (a well-formed type, an id or a name, each at most MaxRefLen bytes, at
// most MaxTargets). It is the allocation-free check of the ingest path.
func (t *Type) ValidMeta(targets []Ref, m Meta) bool {
	for _, rule := range t.Targets {
		if rule.Required && !meetsRule(targets, rule) {
			return false
		}
	}
	keys := 0
	ok := true
	if len(m) > 0 {
		m.children(0, func(c int) bool {
			keys++
			ok = t.validEntry(m, c)
			return ok
		})
	}
	if !ok || keys > MaxMetadataKeys {
		return false
	}
	for _, rule := range t.Metadata {
		if rule.Required {
			if c := m.Member(rule.Key); c < 0 || m[c].Kind == MetaNull {
				return false
			}
		}
	}
	return true
}

// meetsRule is hasTarget(targets, rule.Types()) without building the list.
func meetsRule(targets []Ref, rule TargetRule) bool {
	for _, r := range targets {
		if r.Type == rule.Type || slices.Contains(rule.Alt, r.Type) {
			return true
		}
	}
	return false
}

// validEntry is checkEntry for the member at c.
func (t *Type) validEntry(m Meta, c int) bool {
	key := m[c].Key
	if !validKey(key) || t.NamesOnly && refusedKey(key) {
		return false
	}
	if encodedMetaLen(m, c) > MaxValueBytes {
		return false
	}
	rule, ok := t.metaRule(key)
	return !ok || m[c].Kind == MetaNull || metaHasKind(m, c, rule.Kind)
}

// metaHasKind is hasKind for node c.
func metaHasKind(m Meta, c int, k Kind) bool {
	n := m[c]
	switch k {
	case KindString:
		return n.Kind == MetaString
	case KindInt:
		if n.Kind != MetaNumber {
			return false
		}
		_, err := strconv.ParseInt(n.Text, 10, 64)
		return err == nil
	case KindNumber:
		if n.Kind != MetaNumber {
			return false
		}
		if _, err := strconv.ParseFloat(n.Text, 64); err == nil {
			return true
		}
		_, err := strconv.ParseInt(n.Text, 10, 64)
		return err == nil
	case KindBool:
		return n.Kind == MetaBool
	case KindStringList:
		if n.Kind != MetaArray {
			return false
		}
		all := true
		m.children(c, func(e int) bool {
			all = m[e].Kind == MetaString
			return all
		})
		return all
	case KindObject:
		return n.Kind == MetaObject
	}
	return true
}

// encodedMetaLen is encodedLen for node c: the length of its encoding by
// encoding/json without HTML escaping.
func encodedMetaLen(m Meta, c int) int {
	n := m[c]
	switch n.Kind {
	case MetaNull:
		return 4
	case MetaBool, MetaNumber:
		return len(n.Text)
	case MetaString:
		return goStringLen(n.Text)
	}
	size := 2 // the brackets
	first := true
	m.children(c, func(e int) bool {
		if !first {
			size++
		}
		first = false
		if n.Kind == MetaObject {
			size += goStringLen(m[e].Key) + 1
		}
		size += encodedMetaLen(m, e)
		return true
	})
	return size
}

// goStringLen is the length of s encoded as a JSON string by encoding/json
// without HTML escaping. s is valid UTF-8.
func goStringLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b == '"' || b == '\\' || b == '\b' || b == '\f' || b == '\n' || b == '\r' || b == '\t':
				n += 2
			case b < 0x20:
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028', r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// cleanKeysSorted reports whether the keys of object c are clean (clean(k)
// == k), so that the description lists them in the tree's order.
func cleanKeysSorted(m Meta, c int) bool {
	ok := true
	m.children(c, func(e int) bool {
		ok = isClean(m[e].Key)
		return ok
	})
	return ok
}

// isClean reports whether clean(s) == s, cheaply for the common case.
func isClean(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || len(s) > maxRenderedValue {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c < 0x20 || c == 0x7f || (c == ' ' && s[i+1] == ' ') {
			return false
		}
	}
	return true
}
