// SPDX-License-Identifier: Apache-2.0

package audit

// The fast path's field decoders: each reads one field of an event as the
// reference (validate.go) does, and returns false for anything it refuses
// or leaves to the reference.

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/trailaudit/trail/internal/catalog"
)

func isNull(v []byte) bool { return v == nil || string(v) == "null" }

// text decodes an optional string value: "" when absent or null; false
// when it is not a string, is longer than maxLen bytes, has a control
// character or a lone surrogate. The result lives until the next call.
func (d *batchDecoder) text(v []byte, maxLen int, multiline bool) ([]byte, bool) {
	if isNull(v) {
		return nil, true
	}
	if v[0] != '"' {
		return nil, false
	}
	// v is a string token the scanner read: a backslash in it starts an
	// escape, and it holds no raw C0 control character.
	s := v[1 : len(v)-1]
	escaped := bytes.IndexByte(s, '\\') >= 0
	if escaped {
		var lone bool
		d.scratch, lone = unescape(d.scratch[:0], v)
		if lone {
			return nil, false
		}
		s = d.scratch
	}
	if len(s) > maxLen {
		return nil, false
	}
	if escaped {
		return s, !hasControl(view(s), multiline)
	}
	return s, !hasRawControl(s)
}

// hasRawControl is hasControl for text with no C0 control character: it
// looks for DEL and the C1 controls (U+0080 to U+009F, C2 80 to C2 9F).
func hasRawControl(s []byte) bool {
	if bytes.IndexByte(s, 0x7f) >= 0 {
		return true
	}
	for i := bytes.IndexByte(s, 0xc2); i >= 0 && i+1 < len(s); {
		if s[i+1] >= 0x80 && s[i+1] <= 0x9f {
			return true
		}
		j := bytes.IndexByte(s[i+1:], 0xc2)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// id decodes the producer's id: "" when absent or null.
func (d *batchDecoder) id(v []byte) (string, bool) {
	if isNull(v) {
		return "", true
	}
	s, ok := d.text(v, 64, false)
	if !ok || !validID(s) {
		return "", false
	}
	return d.strs.string(s), true
}

// validID is ValidEventID.
func validID(s []byte) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (d *batchDecoder) typ(v []byte) (*catalog.Type, bool) {
	s, ok := d.text(v, 128, false)
	if !ok || len(s) == 0 {
		return nil, false
	}
	return d.s.catalog.Lookup(view(s))
}

// ref decodes an actor or a target object.
func (d *batchDecoder) ref(v []byte) (typ, id, name string, ok bool) {
	if isNull(v) || v[0] != '{' {
		return "", "", "", false
	}
	var parts [3][]byte
	i := skipWS(v, 1)
	for i < len(v) && v[i] != '}' {
		end, escaped := knownString(v, i)
		if escaped {
			return "", "", "", false
		}
		k := -1
		switch string(v[i+1 : end-1]) {
		case "type":
			k = 0
		case "id":
			k = 1
		case "name":
			k = 2
		}
		i = skipWS(v, skipWS(v, end)+1) // past ':'
		vend := knownValue(v, i)
		if k < 0 || parts[k] != nil {
			return "", "", "", false
		}
		parts[k] = v[i:vend]
		if i = skipWS(v, vend); v[i] == ',' {
			i = skipWS(v, i+1)
		}
	}
	t, ok := d.text(parts[0], maxTypeLen, false)
	if !ok || !validRefType(t) {
		return "", "", "", false
	}
	typ = d.strs.string(t)
	for j, dst := range []*string{&id, &name} {
		s, ok := d.text(parts[j+1], maxNameLen, false)
		if !ok {
			return "", "", "", false
		}
		*dst = d.strs.string(s)
	}
	return typ, id, name, id != "" || name != ""
}

// validRefType is refType's pattern: ^[a-z][a-z0-9_.-]{0,63}$.
func validRefType(s []byte) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s[1:] {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

func (d *batchDecoder) targetList(v []byte) ([]Target, bool) {
	if isNull(v) {
		return nil, true
	}
	if v[0] != '[' {
		return nil, false
	}
	start := len(d.targets)
	if cap(d.targets)-start < maxTargets {
		d.targets, start = make([]Target, 0, targetSlab), 0
	}
	i := skipWS(v, 1)
	for i < len(v) && v[i] != ']' {
		end := knownValue(v, i)
		if len(d.targets)-start == maxTargets {
			return nil, false
		}
		var t Target
		var ok bool
		if t.Type, t.ID, t.Name, ok = d.ref(v[i:end]); !ok {
			return nil, false
		}
		d.targets = append(d.targets, t)
		if i = skipWS(v, end); v[i] == ',' {
			i = skipWS(v, i+1)
		}
	}
	return d.targets[start:len(d.targets):len(d.targets)], true
}

// refList returns ev's targets as catalog refs (scratch).
func (d *batchDecoder) refList(ev *Event) []catalog.Ref {
	d.refs = d.refs[:0]
	for _, t := range ev.Targets {
		d.refs = append(d.refs, catalog.Ref(t))
	}
	return d.refs
}

// client decodes {ip, user_agent}; ua is nil when there is none. The
// address stays in scratch, never in an arena.
func (d *batchDecoder) client(v []byte) (addr netip.Addr, ua string, ok bool) {
	if isNull(v) {
		return addr, "", true
	}
	if v[0] != '{' {
		return addr, "", false
	}
	var ip, agent []byte
	i := skipWS(v, 1)
	for i < len(v) && v[i] != '}' {
		end, escaped := knownString(v, i)
		if escaped {
			return addr, "", false
		}
		key := string(v[i+1 : end-1])
		i = skipWS(v, skipWS(v, end)+1)
		vend := knownValue(v, i)
		switch {
		case key == "ip" && ip == nil:
			ip = v[i:vend]
		case key == "user_agent" && agent == nil:
			agent = v[i:vend]
		case key == "ip_prefix_len": // Trail's own: ignored
		default:
			return addr, "", false
		}
		if i = skipWS(v, vend); v[i] == ',' {
			i = skipWS(v, i+1)
		}
	}
	if !isNull(ip) {
		s, ok := d.text(ip, 64, false)
		if !ok {
			return addr, "", false
		}
		if len(s) > 0 {
			if addr, ok = parseAddr(s); !ok {
				return addr, "", false
			}
		}
	}
	s, ok := d.text(agent, maxUserAgentLen, false)
	return addr, d.strs.string(s), ok
}

func parseAddr(s []byte) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(view(s))
	return addr, err == nil && addr.Zone() == ""
}

func (d *batchDecoder) occurred(v []byte) (time.Time, bool, bool) {
	s, ok := d.text(v, 64, false)
	if !ok {
		return time.Time{}, false, false
	}
	if len(s) == 0 {
		return time.Time{}, false, true
	}
	t, err := time.Parse(time.RFC3339Nano, view(s))
	if err != nil || t.After(d.s.now().Add(maxFutureSkew)) || t.UTC().Year() < 0 {
		return time.Time{}, false, false
	}
	return t.UTC().Truncate(time.Microsecond), true, true
}

// metadata reads the metadata object: a tree valid until the next event.
func (d *batchDecoder) metadata(v []byte) (catalog.Meta, bool) {
	if isNull(v) {
		return nil, true
	}
	m, ok := d.meta.parse(v)
	if !ok {
		return nil, false
	}
	for c := 1; c < len(m); c = m[c].Next {
		if m[c].Kind == catalog.MetaString && hasControl(m[c].Text, true) {
			return nil, false
		}
	}
	return m, true
}
