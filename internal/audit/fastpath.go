// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"strconv"
	"time"

	"github.com/trailaudit/trail/internal/catalog"
)

// batchDecoder is the fast path from raw events to Pending events: one per
// batch, in the request's goroutine. What the batch's events keep (their
// strings, targets, clients, canonical bytes) comes from its arenas and
// slabs; the rest is scratch, reused from event to event.
type batchDecoder struct {
	s       *Service
	org     string
	strs    *arena // what events keep
	out     *arena // Pending.Encode's output
	targets []Target
	clients []Client
	ids     []byte // random bytes for generated ids
	fields  [numFields][]byte
	meta    metaParser
	refs    []catalog.Ref
	scratch []byte
	buf     []byte // a canonical encoding being built
}

// Event fields the fast path reads, in the order the reference checks them.
const (
	fID = iota
	fType
	fActor
	fTargets
	fDescription
	fClient
	fOccurred
	fMetadata
	numFields
)

func newBatchDecoder(s *Service, org string, raws []json.RawMessage) *batchDecoder {
	size := 0
	for _, r := range raws {
		size += len(r)
	}
	// Chunks of a quarter of the batch's JSON, from 4 to 64 KiB: a few
	// allocations a batch, and little room left unused in the last chunk.
	chunk := min(max(size/4, 4<<10), 64<<10)
	return &batchDecoder{s: s, org: org, strs: newArena(chunk), out: newArena(chunk)}
}

// prepare decodes raw into p as the reference (Service.prepare) would, or
// returns false, leaving p's fields undefined: the event is invalid, or is
// of a kind the fast path leaves to the reference.
func (d *batchDecoder) prepare(raw []byte, p *Pending) bool {
	if len(raw) > d.s.limits.MaxEvent || !d.split(raw) {
		return false
	}
	ev := &p.Event
	*p = Pending{}
	ev.Org = d.org
	var typ *catalog.Type
	var ok bool
	if ev.ID, ok = d.id(d.fields[fID]); !ok {
		return false
	}
	if typ, ok = d.typ(d.fields[fType]); !ok {
		return false
	}
	ev.Type, ev.Category = typ.Name, string(typ.Category)
	if ev.Actor.Type, ev.Actor.ID, ev.Actor.Name, ok = d.ref(d.fields[fActor]); !ok || d.fields[fActor] == nil {
		return false
	}
	if ev.Targets, ok = d.targetList(d.fields[fTargets]); !ok {
		return false
	}
	desc, ok := d.text(d.fields[fDescription], d.s.limits.MaxDescription, true)
	if !ok {
		return false
	}
	sent := d.strs.string(desc) // out of scratch, which the next calls reuse
	addr, ua, ok := d.client(d.fields[fClient])
	if !ok {
		return false
	}
	var hasOccurred bool
	if ev.OccurredAt, hasOccurred, ok = d.occurred(d.fields[fOccurred]); !ok {
		return false
	}
	meta, ok := d.metadata(d.fields[fMetadata])
	if !ok || !typ.ValidMeta(d.refList(ev), meta) {
		return false
	}
	ev.Description = sent
	if sent == "" {
		d.scratch, ok = typ.AppendDescription(d.scratch[:0], catalog.Ref(ev.Actor), d.refs, meta)
		if !ok {
			return false
		}
		ev.Description = d.strs.string(d.scratch)
	}
	if addr.IsValid() || ua != "" {
		ev.Client, ev.Location = d.enrich(addr, ua)
	}
	if ev.ID == "" {
		ev.ID = d.newID()
	}
	p.defaultOccurred = !hasOccurred
	d.encode(p, sent, meta)
	return true
}

// split finds the fields of the event object raw. False for anything but
// an object of known and ignored fields, each once, keys written plainly.
func (d *batchDecoder) split(raw []byte) bool {
	d.fields = [numFields][]byte{}
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return skipWS(raw, i+1) == len(raw)
	}
	for {
		end, escaped, ok := scanString(raw, i)
		if !ok || escaped {
			return false
		}
		key := raw[i+1 : end-1]
		if i = skipWS(raw, end); i >= len(raw) || raw[i] != ':' {
			return false
		}
		i = skipWS(raw, i+1)
		if end, ok = skipValue(raw, i, 1); !ok {
			return false
		}
		f := fieldIndex(key)
		switch {
		case f == -1: // Trail's own: ignored
		case f < 0 || d.fields[f] != nil:
			return false
		default:
			d.fields[f] = raw[i:end]
		}
		if i = skipWS(raw, end); i >= len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i = skipWS(raw, i+1)
		case '}':
			return skipWS(raw, i+1) == len(raw)
		default:
			return false
		}
	}
}

// fieldIndex returns the field's index, -1 for a field Trail ignores, -2
// for an unknown one.
func fieldIndex(key []byte) int {
	switch string(key) {
	case "id":
		return fID
	case "type":
		return fType
	case "actor":
		return fActor
	case "targets":
		return fTargets
	case "description":
		return fDescription
	case "client":
		return fClient
	case "occurred_at":
		return fOccurred
	case "metadata":
		return fMetadata
	case "org", "seq", "category", "received_at", "location", "recorded_by":
		return -1
	}
	return -2
}

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
		end, escaped, ok := scanString(v, i)
		if !ok || escaped {
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
		vend, _ := skipValue(v, i, 2)
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
		d.targets, start = make([]Target, 0, 512), 0
	}
	i := skipWS(v, 1)
	for i < len(v) && v[i] != ']' {
		end, _ := skipValue(v, i, 1)
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
		end, escaped, ok := scanString(v, i)
		if !ok || escaped {
			return addr, "", false
		}
		key := string(v[i+1 : end-1])
		i = skipWS(v, skipWS(v, end)+1)
		vend, _ := skipValue(v, i, 2)
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

// enrich is Service.enrich through the service's cache.
func (d *batchDecoder) enrich(addr netip.Addr, ua string) (*Client, *Location) {
	if len(d.clients) == cap(d.clients) {
		d.clients = make([]Client, 0, 256)
	}
	d.clients = append(d.clients, Client{UserAgent: ua})
	c := &d.clients[len(d.clients)-1]
	if !addr.IsValid() {
		return c, nil
	}
	var loc *Location
	c.IP, c.IPPrefixLen, loc = d.s.clients.lookup(addr.Unmap())
	return c, loc
}

// newID makes a UUIDv7 (RFC 9562) from random bytes read for many ids.
func (d *batchDecoder) newID() string {
	if idSource != nil {
		return idSource()
	}
	if len(d.ids) < 10 {
		d.ids = make([]byte, 10*64)
		if _, err := rand.Read(d.ids); err != nil {
			panic("audit: reading random bytes: " + err.Error())
		}
	}
	var u [16]byte
	binary.BigEndian.PutUint64(u[:8], uint64(time.Now().UnixMilli())<<16)
	copy(u[6:], d.ids[:10])
	d.ids = d.ids[10:]
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // variant 10
	var s [36]byte
	hexInto(s[0:8], u[0:4])
	s[8] = '-'
	hexInto(s[9:13], u[4:6])
	s[13] = '-'
	hexInto(s[14:18], u[6:8])
	s[18] = '-'
	hexInto(s[19:23], u[8:10])
	s[23] = '-'
	hexInto(s[24:], u[10:])
	return d.strs.string(s[:])
}

func hexInto(dst, src []byte) {
	for i, b := range src {
		dst[2*i], dst[2*i+1] = hexDigits[b>>4], hexDigits[b&0xf]
	}
}

// emptyObject is the metadata of events that have none; shared, read-only.
var emptyObject = []byte("{}")

// zeroTime is the canonical form of the zero time, received_at in hashes.
var zeroTime = time.Time{}.UTC().Format(TimeFormat)

// encode builds p's canonical bytes, without seq and received_at (Encode
// fills them in), its content hash and its search text.
func (d *batchDecoder) encode(p *Pending, sent string, meta catalog.Meta) {
	ev := &p.Event
	ev.MetadataJSON = emptyObject
	if len(meta) > 0 {
		d.scratch = appendMeta(d.scratch[:0], meta, 0)
		ev.MetadataJSON = d.strs.bytes(d.scratch)
	}
	mk := canonMarks{gaps: true, defaultOccurred: p.defaultOccurred}
	b := ev.appendCanonical(d.buf[:0], &mk)
	p.pre, p.out = d.strs.bytes(b), d.out
	p.seqAt, p.recvAt, p.occAt = mk.seq, mk.received, -1
	if p.defaultOccurred {
		p.occAt = mk.occurred
	}

	// The hash view (contentHash): seq 0, no category, the description as
	// sent, no location, received_at zero.
	h := d.scratch[:0]
	h = append(h, b[:mk.seq]...)
	h = append(h, '0')
	h = append(h, b[mk.category:mk.actor]...)
	h = h[:len(h)-len(ev.Category)-2]
	h = append(h, `""`...)
	h = append(h, b[mk.actor:mk.description]...)
	h = append(h, `,"description":`...)
	h = appendString(h, sent)
	h = append(h, b[mk.client:mk.location]...)
	h = append(h, `,"location":null,"occurred_at":`...)
	if p.defaultOccurred {
		h = appendQuoted(h, zeroTime)
	} else {
		h = append(h, b[mk.occurred:mk.received-len(`,"received_at":`)]...)
	}
	h = append(h, `,"received_at":`...)
	h = appendQuoted(h, zeroTime)
	h = append(h, b[mk.metadata:]...)
	p.Hash = sha256.Sum256(h)
	d.scratch, d.buf = h, b

	// SearchText, in its order.
	t := d.scratch[:0]
	t = appendWord(t, ev.Description)
	t = appendWord(t, ev.Actor.ID)
	t = appendWord(t, ev.Actor.Name)
	for _, tg := range ev.Targets {
		t = appendWord(t, tg.ID)
		t = appendWord(t, tg.Name)
	}
	t = appendWord(t, ev.Type)
	if len(meta) > 0 {
		t = appendMetaText(t, meta, 0)
	}
	ev.search = d.strs.string(t)
	d.scratch = t
}

func appendQuoted(dst []byte, s string) []byte {
	return append(append(append(dst, '"'), s...), '"')
}

// encodeFast is Encode for a Pending of the fast path.
func (p *Pending) encodeFast(seq int64) []byte {
	const room = 20 + 2*(len(TimeFormat)+8)
	dst := p.out.take(len(p.pre) + room)
	dst = append(dst, p.pre[:p.seqAt]...)
	dst = strconv.AppendInt(dst, seq, 10)
	if p.occAt >= 0 {
		dst = append(dst, p.pre[p.seqAt:p.occAt]...)
		dst = appendTime(dst, p.Event.ReceivedAt)
		dst = append(dst, p.pre[p.occAt:p.recvAt]...)
	} else {
		dst = append(dst, p.pre[p.seqAt:p.recvAt]...)
	}
	dst = appendTime(dst, p.Event.ReceivedAt)
	return append(dst, p.pre[p.recvAt:]...)
}
