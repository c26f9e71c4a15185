// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/trailaudit/trail/internal/catalog"
)

var (
	orgPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,96}$`)
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	refType    = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)
)

// ValidOrg reports whether s is a well-formed org identifier: letters,
// digits, '_', '-', '.', 1 to 96 bytes.
func ValidOrg(s string) bool { return orgPattern.MatchString(s) }

// ValidEventID reports whether s is a well-formed producer event id.
func ValidEventID(s string) bool { return idPattern.MatchString(s) }

// maxFutureSkew is how far in the future occurred_at may be.
const maxFutureSkew = 5 * time.Minute

// fieldsIgnored are the fields Trail sets itself; an export carries them,
// so re-ingesting an export must not fail on them, but their values are
// never taken from a producer.
var fieldsIgnored = map[string]bool{
	"org": true, "seq": true, "category": true, "received_at": true,
	"location": true, "recorded_by": true,
}

const knownFields = "id, type, actor, targets, description, client, occurred_at, metadata"

var fieldsKnown = map[string]bool{
	"id": true, "type": true, "actor": true, "targets": true, "description": true,
	"client": true, "occurred_at": true, "metadata": true,
}

// prepare turns one raw event into a Pending event, or returns every
// problem it finds. The full client IP is used here, in memory only.
func (s *Service) prepare(org string, index int, raw json.RawMessage) (*Pending, []Detail) {
	p := &parser{index: index}
	if len(raw) > s.limits.MaxEvent {
		p.fail("", fmt.Sprintf("an event of at most %d bytes of JSON", s.limits.MaxEvent))
		return nil, p.details
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		p.fail("", "a JSON object")
		return nil, p.details
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !fieldsIgnored[k] && !fieldsKnown[k] {
			p.fail(shorten(k), "no such field; known fields: "+knownFields)
		}
	}
	ev := Event{Org: org}
	var typ *catalog.Type
	ev.ID = p.id(fields)
	if ev.Type = p.str(fields, "type", true, 128); ev.Type != "" {
		var ok bool
		if typ, ok = s.catalog.Lookup(ev.Type); !ok {
			p.fail("type", "an event type of the catalog (GET /api/v1/catalog); type names are case-sensitive")
		} else {
			ev.Category = string(typ.Category)
		}
	}
	ev.Actor = p.actor(fields)
	ev.Targets = p.targets(fields)
	ev.Description = p.str(fields, "description", false, s.limits.MaxDescription)
	addr, ua := p.client(fields)
	occurred, hasOccurred := p.occurred(fields, s.now())
	ev.OccurredAt = occurred
	ev.Metadata = p.metadata(fields)
	if typ != nil && len(p.details) == 0 {
		for _, fe := range typ.Validate(refs(ev.Targets), ev.Metadata) {
			p.fail(fe.Field, fe.Expected)
		}
	}
	if len(p.details) > 0 {
		return nil, p.finish()
	}
	sent := ev.Description
	if ev.Description == "" {
		ev.Description = typ.Render(catalog.Ref(ev.Actor), refs(ev.Targets), ev.Metadata)
	}
	if addr.IsValid() || ua != "" {
		ev.Client, ev.Location = s.enrich(addr, ua)
	}
	fresh := ev.ID == "" && idSource == nil // a test's ids may repeat
	if ev.ID == "" {
		ev.ID = newEventID()
	}
	pe := &Pending{Event: ev, FreshID: fresh, defaultOccurred: !hasOccurred, descriptionRendered: sent == "", hashed: true}
	pe.Hash = contentHash(ev, sent)
	return pe, nil
}

// contentHash identifies the producer's content for idempotent retries:
// the event with seq 0, received_at zero, and none of what Trail derives
// (category, a rendered description, the location), so that a retry still
// matches after a catalog or geolocation database update. The id is the
// one acknowledged, generated or not: an event sent without an id and
// re-sent with the id Trail gave it is a retry. The address is the
// anonymized one: not even a hash of the full address is kept.
func contentHash(ev Event, sentDescription string) [sha256.Size]byte {
	ev.Category, ev.Description, ev.Location = "", sentDescription, nil
	return sha256.Sum256(ev.AppendCanonical(nil))
}

// enrich locates the full address, then anonymizes it. Only the
// anonymized address leaves this function.
func (s *Service) enrich(addr netip.Addr, ua string) (*Client, *Location) {
	c := &Client{UserAgent: ua}
	var loc *Location
	if addr.IsValid() {
		addr = addr.Unmap()
		if s.locator != nil {
			if l, ok := s.locator.Locate(addr); ok {
				loc = &l
			}
		}
		anon, bits := Anonymize(addr, s.ipv4Prefix, s.ipv6Prefix)
		c.IP, c.IPPrefixLen = anon.String(), bits
	}
	return c, loc
}

// Anonymize keeps the first v4Bits (IPv4) or v6Bits (IPv6) bits of addr
// and zeroes the rest. IPv4-mapped IPv6 addresses are unmapped first.
func Anonymize(addr netip.Addr, v4Bits, v6Bits int) (netip.Addr, int) {
	addr = addr.Unmap()
	bits := v6Bits
	if addr.Is4() {
		bits = v4Bits
	}
	p, err := addr.WithZone("").Prefix(bits)
	if err != nil {
		return netip.Addr{}, 0
	}
	return p.Addr(), bits
}

// idSource, when set (by tests only), makes the ids Trail gives events.
var idSource func() string

func newEventID() string {
	if idSource != nil {
		return idSource()
	}
	id, err := uuid.NewV7()
	if err != nil {
		panic(fmt.Sprintf("audit: generating event id: %v", err))
	}
	return id.String()
}

func refs(ts []Target) []catalog.Ref {
	out := make([]catalog.Ref, len(ts))
	for i, t := range ts {
		out[i] = catalog.Ref(t)
	}
	return out
}

// maxEventDetails bounds the problems listed for one event, so that an
// error never grows much larger than the request (an event of thousands
// of unknown fields); the rest are counted.
const maxEventDetails = 20

// parser decodes the fields of one event, collecting every problem.
type parser struct {
	index   int
	details []Detail
	more    int // problems found past maxEventDetails
}

func (p *parser) fail(field, expected string) {
	if len(p.details) >= maxEventDetails {
		p.more++
		return
	}
	p.details = append(p.details, Detail{Index: p.index, Field: field, Expected: expected})
}

// finish returns the details, with a last one counting those not listed.
func (p *parser) finish() []Detail {
	if p.more > 0 {
		p.details = append(p.details, Detail{Index: p.index, Expected: fmt.Sprintf("%d more problems in this event, not listed", p.more)})
	}
	return p.details
}

// shorten bounds a field name taken from the input before it is echoed.
func shorten(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// id decodes the optional producer id. Absent or null, Trail makes one;
// an empty string is refused, since Trail would have to invent an id the
// producer's retries could never repeat.
func (p *parser) id(fields map[string]json.RawMessage) string {
	raw, ok := fields["id"]
	if !ok || string(raw) == "null" {
		return ""
	}
	before := p.problems()
	id := p.strValue(raw, "id", false, 64)
	if p.problems() == before && !ValidEventID(id) {
		p.fail("id", "1 to 64 of A-Z a-z 0-9 _ - (leave id out for Trail to make one)")
	}
	return id
}

// problems counts the problems found so far, listed or not.
func (p *parser) problems() int { return len(p.details) + p.more }

// str decodes a string field; maxLen is in bytes.
func (p *parser) str(fields map[string]json.RawMessage, name string, required bool, maxLen int) string {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		if required {
			p.fail(name, "a string (required)")
		}
		return ""
	}
	return p.strValue(raw, name, required, maxLen)
}

func (p *parser) strValue(raw json.RawMessage, field string, required bool, maxLen int) string {
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		p.fail(field, "a string")
		return ""
	}
	switch {
	case hasLoneSurrogate(raw):
		p.fail(field, expectPairedSurrogates)
		return ""
	case required && v == "":
		p.fail(field, "a non-empty string")
	case len(v) > maxLen:
		p.fail(field, fmt.Sprintf("at most %d bytes", maxLen))
		return ""
	case hasControl(v, field == "description"):
		p.fail(field, "text without control characters")
		return ""
	}
	return v
}

// hasControl reports control characters; text fields may keep newlines
// and tabs when multiline is set.
func hasControl(s string, multiline bool) bool {
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}

func (p *parser) object(raw json.RawMessage, field string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		p.fail(field, "an object")
		return nil
	}
	return m
}

// ref decodes an actor or a target: {type, id, name} with a type and at
// least one of id and name.
func (p *parser) ref(raw json.RawMessage, field string) (typ, id, name string) {
	m := p.object(raw, field)
	if m == nil {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "type" && k != "id" && k != "name" {
			p.fail(field+"."+shorten(k), "no such field; known fields: type, id, name")
		}
	}
	if typ = p.str(m, "type", true, maxTypeLen); typ != "" && !refType.MatchString(typ) {
		p.fail(field+".type", "a lower-case type name such as user, token, repo")
	}
	id = p.str(m, "id", false, maxNameLen)
	name = p.str(m, "name", false, maxNameLen)
	if id == "" && name == "" {
		p.fail(field, "an id or a name")
	}
	return
}

func (p *parser) actor(fields map[string]json.RawMessage) Actor {
	raw, ok := fields["actor"]
	if !ok {
		p.fail("actor", "an object {type, id, name} (required)")
		return Actor{}
	}
	var a Actor
	before := len(p.details)
	a.Type, a.ID, a.Name = p.ref(raw, "actor")
	p.prefix(before, "actor")
	return a
}

// prefix rewrites the fields of details added since before from the
// nested name to the full path (ref reports "actor.type" as "type").
func (p *parser) prefix(before int, path string) {
	for i := before; i < len(p.details); i++ {
		d := &p.details[i]
		if d.Field == "type" || d.Field == "id" || d.Field == "name" {
			d.Field = path + "." + d.Field
		}
	}
}

const maxTargets = 20

func (p *parser) targets(fields map[string]json.RawMessage) []Target {
	raw, ok := fields["targets"]
	if !ok || string(raw) == "null" {
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		p.fail("targets", "an array of {type, id, name} objects")
		return nil
	}
	if len(list) > maxTargets {
		p.fail("targets", fmt.Sprintf("at most %d targets", maxTargets))
		return nil
	}
	out := make([]Target, len(list))
	for i, r := range list {
		path := fmt.Sprintf("targets[%d]", i)
		before := len(p.details)
		out[i].Type, out[i].ID, out[i].Name = p.ref(r, path)
		p.prefix(before, path)
	}
	return out
}

// client decodes {ip, user_agent}; the address is returned, never stored
// here. Error messages never echo the address.
func (p *parser) client(fields map[string]json.RawMessage) (netip.Addr, string) {
	raw, ok := fields["client"]
	if !ok || string(raw) == "null" {
		return netip.Addr{}, ""
	}
	m := p.object(raw, "client")
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "ip" && k != "user_agent" && k != "ip_prefix_len" {
			p.fail("client."+shorten(k), "no such field; known fields: ip, user_agent")
		}
	}
	var addr netip.Addr
	if ipRaw, ok := m["ip"]; ok && string(ipRaw) != "null" {
		var s string
		var err error
		if json.Unmarshal(ipRaw, &s) != nil {
			p.fail("client.ip", "an IPv4 or IPv6 address as a string")
		} else if s != "" { // "": no address, as Trail stores a user agent alone
			if addr, err = netip.ParseAddr(s); err != nil || addr.Zone() != "" {
				p.fail("client.ip", "an IPv4 or IPv6 address")
				addr = netip.Addr{}
			}
		}
	}
	ua := ""
	if uaRaw, ok := m["user_agent"]; ok && string(uaRaw) != "null" {
		ua = p.strValue(uaRaw, "client.user_agent", false, maxUserAgentLen)
	}
	return addr, ua
}

func (p *parser) occurred(fields map[string]json.RawMessage, now time.Time) (time.Time, bool) {
	s := p.str(fields, "occurred_at", false, 64)
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		p.fail("occurred_at", "an RFC 3339 time such as 2026-01-02T15:04:05Z")
		return time.Time{}, false
	}
	if t.After(now.Add(maxFutureSkew)) {
		p.fail("occurred_at", "a time no more than 5 minutes in the future")
	}
	if t.UTC().Year() < 0 {
		// "0000-01-01T00:00:00+01:00" is year -1 in UTC, which has no
		// RFC 3339 form: the stored event could not be re-ingested.
		p.fail("occurred_at", "a time from year 0000 UTC on")
		return time.Time{}, false
	}
	return t.UTC().Truncate(time.Microsecond), true
}

func (p *parser) metadata(fields map[string]json.RawMessage) map[string]any {
	raw, ok := fields["metadata"]
	if !ok || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		p.fail("metadata", "an object")
		return nil
	}
	var rawValues map[string]json.RawMessage
	_ = json.Unmarshal(raw, &rawValues) // the same keys as m: raw decoded above
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if hasLoneSurrogate(rawValues[k]) {
			p.fail("metadata."+shorten(k), expectPairedSurrogates)
		} else if s, ok := m[k].(string); ok && hasControl(s, true) {
			p.fail("metadata."+shorten(k), "text without control characters")
		}
	}
	return m
}

// expectPairedSurrogates is the detail for a \udXXX escape that is not
// half of a surrogate pair: JSON decoders would turn it into U+FFFD, a
// silent change of what the producer sent.
const expectPairedSurrogates = `valid Unicode: a \udXXX escape only as half of a surrogate pair (\ud800-\udbff then \udc00-\udfff)`

// hasLoneSurrogate reports whether the JSON text raw has a \u escape of a
// UTF-16 surrogate that is not half of a high-low pair. raw must be valid
// JSON: a backslash then only appears inside strings.
func hasLoneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		r := hex4(raw[i+1:])
		i += 4
		switch {
		case r >= 0xdc00 && r <= 0xdfff, r < 0:
			return true
		case r >= 0xd800 && r <= 0xdbff:
			if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return true
			}
			if lo := hex4(raw[i+3:]); lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 decodes the 4 hex digits at the start of b, -1 if there are none.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
