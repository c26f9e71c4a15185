// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"strconv"
	"sync"
	"unicode"
	"unicode/utf8"
)

// parsedTemplates caches each type's parsed template for AppendDescription.
var parsedTemplates sync.Map // *Type → []node (nil: the template does not parse)

func (t *Type) parsed() []node {
	if v, ok := parsedTemplates.Load(t); ok {
		return v.([]node)
	}
	nodes, err := parseTemplate(t.Template)
	if err != nil {
		nodes = nil
	}
	parsedTemplates.Store(t, nodes)
	return nodes
}

// AppendDescription appends what Render returns for the same event, with
// metadata as a Meta tree, without allocating. ok is false (and dst is
// returned unchanged) for the rare values it leaves to Render: a listed
// metadata object whose keys need cleaning.
func (t *Type) AppendDescription(dst []byte, actor Ref, targets []Ref, m Meta) ([]byte, bool) {
	start := len(dst)
	d := describer{actor: actor, targets: targets, meta: m, ok: true}
	if nodes := t.parsed(); nodes != nil {
		dst, _ = d.seq(dst, nodes)
	}
	if !d.ok {
		return dst[:start], false
	}
	dst = collapseSpaces(dst, start)
	if len(dst) == start {
		dst = d.appendActorName(dst)
		dst = append(dst, " performed "...)
		if t.Name == "" {
			dst = append(dst, "an action"...)
		} else {
			dst = append(dst, t.Name...)
		}
	}
	return dst, true
}

// describer is renderer for AppendDescription.
type describer struct {
	actor   Ref
	targets []Ref
	meta    Meta
	ok      bool // false: a value needs Render
}

func (d *describer) seq(dst []byte, nodes []node) ([]byte, bool) {
	all := true
	for i := range nodes {
		var ok bool
		dst, ok = d.node(dst, &nodes[i])
		all = all && ok
	}
	return dst, all
}

func (d *describer) node(dst []byte, n *node) ([]byte, bool) {
	switch n.kind {
	case "":
		return append(dst, n.text...), true
	case "group":
		mark := len(dst)
		if out, ok := d.seq(dst, n.then); ok {
			return out, true
		}
		dst, _ = d.seq(dst[:mark], n.orElse)
		return dst, true
	}
	if out, ok := d.value(dst, n); ok {
		return out, true
	}
	if n.hasFallback {
		return append(dst, n.fallback...), false
	}
	return append(dst, renderer{}.neutral(*n)...), false
}

func (d *describer) value(dst []byte, n *node) ([]byte, bool) {
	switch n.kind {
	case "actor":
		return appendRefText(dst, d.actor)
	case "target":
		return d.firstTarget(dst, n.args)
	case "targets":
		return d.listTargets(dst, n.args)
	case "meta":
		if c := d.meta.Member(n.args[0]); c >= 0 {
			return d.valueText(dst, c)
		}
	}
	return dst, false
}

func (d *describer) appendActorName(dst []byte) []byte {
	if out, ok := appendRefText(dst, d.actor); ok {
		return out
	}
	return append(dst, "someone"...)
}

func (d *describer) firstTarget(dst []byte, types []string) ([]byte, bool) {
	if len(types) == 0 {
		for _, t := range d.targets {
			if out, ok := appendRefText(dst, t); ok {
				return out, true
			}
		}
		return dst, false
	}
	for _, typ := range types {
		for _, t := range d.targets {
			if t.Type != typ {
				continue
			}
			if out, ok := appendRefText(dst, t); ok {
				return out, true
			}
		}
	}
	return dst, false
}

// listTargets is listText(targetsOf(types)).
func (d *describer) listTargets(dst []byte, types []string) ([]byte, bool) {
	n := 0
	for _, t := range d.targets {
		if hasType(types, t.Type) && refHasText(t) {
			n++
		}
	}
	i := 0
	for _, t := range d.targets {
		if hasType(types, t.Type) && refHasText(t) {
			dst = appendListSep(dst, i, n)
			if i < maxListed {
				dst, _ = appendRefText(dst, t)
			}
			i++
		}
	}
	return appendListEnd(dst, n), n > 0
}

func hasType(types []string, typ string) bool {
	for _, t := range types {
		if t == typ {
			return true
		}
	}
	return false
}

// appendListSep appends what listText puts before item i of n.
func appendListSep(dst []byte, i, n int) []byte {
	switch {
	case i == 0 || i >= maxListed:
		return dst
	case i == n-1 && n <= maxListed:
		return append(dst, " and "...)
	}
	return append(dst, ", "...)
}

// appendListEnd appends what listText puts after the items.
func appendListEnd(dst []byte, n int) []byte {
	if n > maxListed {
		dst = append(dst, " and "...)
		dst = strconv.AppendInt(dst, int64(n-maxListed), 10)
		dst = append(dst, " more"...)
	}
	return dst
}

// valueText is valueText for node c.
func (d *describer) valueText(dst []byte, c int) ([]byte, bool) {
	m := d.meta
	switch n := m[c]; n.Kind {
	case MetaString:
		return appendClean(dst, n.Text)
	case MetaNumber, MetaBool:
		return append(dst, n.Text...), true
	case MetaArray:
		count := 0
		m.children(c, func(e int) bool {
			if hasText(m, e) {
				count++
			}
			return true
		})
		i := 0
		m.children(c, func(e int) bool {
			if hasText(m, e) {
				dst = appendListSep(dst, i, count)
				if i < maxListed {
					dst, _ = d.valueText(dst, e)
				}
				i++
			}
			return true
		})
		return appendListEnd(dst, count), count > 0
	case MetaObject:
		if !cleanKeysSorted(m, c) {
			d.ok = false
			return dst, false
		}
		count := 0
		m.children(c, func(int) bool { count++; return true })
		i := 0
		m.children(c, func(e int) bool {
			dst = appendListSep(dst, i, count)
			if i < maxListed {
				dst = append(dst, m[e].Key...)
			}
			i++
			return true
		})
		return appendListEnd(dst, count), count > 0
	}
	return dst, false
}

// hasText reports whether valueText of node e is ok.
func hasText(m Meta, e int) bool {
	switch m[e].Kind {
	case MetaString:
		return cleanNonEmpty(m[e].Text)
	case MetaNumber, MetaBool:
		return true
	case MetaArray:
		any := false
		m.children(e, func(c int) bool {
			any = hasText(m, c)
			return !any
		})
		return any
	case MetaObject:
		return m[e].Next > e+1
	}
	return false
}

func refHasText(r Ref) bool { return cleanNonEmpty(r.Name) || cleanNonEmpty(r.ID) }

// appendRefText is refText.
func appendRefText(dst []byte, r Ref) ([]byte, bool) {
	if cleanNonEmpty(r.Name) {
		return appendClean(dst, r.Name)
	}
	if cleanNonEmpty(r.ID) {
		return appendClean(dst, r.ID)
	}
	return dst, false
}

// cleanNonEmpty reports whether clean(s) != "".
func cleanNonEmpty(s string) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if !blankASCII(c) {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !blank(r) {
			return true
		}
		i += size
	}
	return false
}

// blank reports whether clean turns r into (or keeps it as) a space.
func blank(r rune) bool {
	return unicode.IsControl(r) || r == utf8.RuneError || unicode.IsSpace(r)
}

// blankASCII is blank for an ASCII byte: the C0 controls, space and DEL.
func blankASCII(c byte) bool { return c <= ' ' || c == 0x7f }

// appendClean appends clean(s); false when that is empty. Runs of ASCII
// bytes that are not blank are copied as they are.
func appendClean(dst []byte, s string) ([]byte, bool) {
	start := len(dst)
	runes, pending := 0, false
	for i := 0; i < len(s); {
		c := s[i]
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if c < utf8.RuneSelf && blankASCII(c) || c >= utf8.RuneSelf && blank(r) {
			pending = runes > 0
			i += size
			continue
		}
		if pending {
			dst = append(dst, ' ')
			runes++
			pending = false
		}
		if c >= utf8.RuneSelf {
			dst = utf8.AppendRune(dst, r)
			runes++
			i += size
			continue
		}
		j := i + 1
		for j < len(s) && s[j] < utf8.RuneSelf && !blankASCII(s[j]) {
			j++
		}
		dst = append(dst, s[i:j]...)
		runes += j - i
		i = j
	}
	if runes > maxRenderedValue {
		cut := start
		for range maxRenderedValue - 1 {
			_, size := utf8.DecodeRune(dst[cut:])
			cut += size
		}
		dst = append(dst[:cut], "…"...)
	}
	return dst, len(dst) > start
}

// asciiSpace marks the ASCII bytes unicode.IsSpace holds to be spaces.
var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// collapseSpaces does strings.Join(strings.Fields(s), " ") in place on
// dst[start:].
func collapseSpaces(dst []byte, start int) []byte {
	w := start
	pending := false
	for r := start; r < len(dst); {
		c, size := rune(dst[r]), 1
		if c >= utf8.RuneSelf {
			c, size = utf8.DecodeRune(dst[r:])
			if unicode.IsSpace(c) {
				pending = w > start
				r += size
				continue
			}
		} else if asciiSpace[c] {
			pending = w > start
			r++
			continue
		}
		if pending {
			dst[w] = ' '
			w++
			pending = false
		}
		if w == r && size == 1 {
			w, r = w+1, r+1
			continue
		}
		w += copy(dst[w:], dst[r:r+size])
		r += size
	}
	return dst[:w]
}
