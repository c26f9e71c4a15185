// SPDX-License-Identifier: Apache-2.0

// Package audit is Trail's domain: the event, its validation and enrichment,
// the write path (validate → geolocate → anonymize → describe → sequence →
// canonical bytes → store) with group commit, and the Store interface the
// storage engines implement. It imports no infrastructure.
package audit

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Actor is who acted.
type Actor struct {
	Type string `json:"type"` // user, token, system, …
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Target is what was acted on.
type Target struct {
	Type string `json:"type"` // user, repo, space, token, resource_group, …
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Client is where the action came from. IP is already anonymized: the full
// address never reaches an Event.
type Client struct {
	IP          string `json:"ip"`
	IPPrefixLen int    `json:"ip_prefix_len"`
	UserAgent   string `json:"user_agent"`
}

// RecordedByTrail marks events Trail records itself (exports, page views);
// producers cannot set it.
const RecordedByTrail = "trail"

// Event is one audit-log entry. Its canonical encoding (AppendCanonical) is
// what the store keeps, and those exact bytes are what the API, the export
// and the Merkle tree see.
type Event struct {
	ID          string
	Org         string
	Seq         int64
	Type        string
	Category    string
	Actor       Actor
	Targets     []Target
	Description string
	Client      *Client
	Location    *Location
	OccurredAt  time.Time
	ReceivedAt  time.Time
	Metadata    map[string]any // values as decoded with json.Decoder.UseNumber
	// MetadataJSON, when not nil, is the metadata as its canonical JSON
	// object, and Metadata is nil: the ingest path keeps it so rather
	// than as maps.
	MetadataJSON []byte
	RecordedBy   string // RecordedByTrail or ""

	search string // SearchText, when the ingest path made it
}

// TimeFormat is the canonical encoding of times: UTC, RFC 3339 with
// microseconds, so that every engine can store it exactly.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// AppendCanonical appends the canonical JSON encoding of e to dst. Fields
// appear in a fixed order, metadata keys are sorted, and strings are escaped
// minimally; the same Event always encodes to the same bytes.
func (e *Event) AppendCanonical(dst []byte) []byte {
	return e.appendCanonical(dst, nil)
}

// canonMarks records where the parts of a canonical encoding start (each
// at its leading comma, or where its value goes for seq, occurred and
// received). With gaps set, the values of seq, received_at and, when
// defaultOccurred is set, occurred_at are left out, for Pending.Encode to
// fill in once they are known.
type canonMarks struct {
	gaps, defaultOccurred                               bool
	seq, category, actor, description, client, location int
	occurred, received, metadata                        int
}

func (e *Event) appendCanonical(dst []byte, m *canonMarks) []byte {
	var mk canonMarks
	if m != nil {
		mk = *m
	}
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, e.ID)
	dst = append(dst, `,"org":`...)
	dst = appendString(dst, e.Org)
	dst = append(dst, `,"seq":`...)
	if mk.seq = len(dst); !mk.gaps {
		dst = strconv.AppendInt(dst, e.Seq, 10)
	}
	mk.category = len(dst)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, e.Type)
	dst = append(dst, `,"category":`...)
	dst = appendString(dst, e.Category)
	mk.actor = len(dst)
	dst = append(dst, `,"actor":`...)
	dst = appendRef(dst, e.Actor.Type, e.Actor.ID, e.Actor.Name)
	dst = append(dst, `,"targets":[`...)
	for i, t := range e.Targets {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendRef(dst, t.Type, t.ID, t.Name)
	}
	dst = append(dst, ']')
	mk.description = len(dst)
	dst = append(dst, `,"description":`...)
	dst = appendString(dst, e.Description)
	mk.client = len(dst)
	dst = appendClient(dst, e.Client)
	mk.location = len(dst)
	dst = appendLocation(dst, e.Location)
	dst = append(dst, `,"occurred_at":`...)
	if mk.occurred = len(dst); !mk.gaps || !mk.defaultOccurred {
		dst = appendTime(dst, e.OccurredAt)
	}
	dst = append(dst, `,"received_at":`...)
	if mk.received = len(dst); !mk.gaps {
		dst = appendTime(dst, e.ReceivedAt)
	}
	mk.metadata = len(dst)
	dst = append(dst, `,"metadata":`...)
	if e.MetadataJSON != nil {
		dst = append(dst, e.MetadataJSON...)
	} else {
		dst = appendValue(dst, metadataValue(e.Metadata))
	}
	if e.RecordedBy != "" {
		dst = append(dst, `,"recorded_by":`...)
		dst = appendString(dst, e.RecordedBy)
	}
	if m != nil {
		*m = mk
	}
	return append(dst, '}')
}

// appendTime appends t as a canonical JSON time string: the quoted
// TimeFormat of t in UTC. Years 0 to 9999 are written here, digit by
// digit, as AppendFormat would (fractions truncated to microseconds);
// others by AppendFormat.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		dst = append(dst, '"')
		dst = t.AppendFormat(dst, TimeFormat)
		return append(dst, '"')
	}
	hour, minute, sec := t.Clock()
	us := t.Nanosecond() / 1000
	var b [len(`"2006-01-02T15:04:05.000000Z"`)]byte
	b[0] = '"'
	b[1], b[2], b[3], b[4] = byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10)
	b[5] = '-'
	b[6], b[7] = byte('0'+int(month)/10), byte('0'+int(month)%10)
	b[8] = '-'
	b[9], b[10] = byte('0'+day/10), byte('0'+day%10)
	b[11] = 'T'
	b[12], b[13] = byte('0'+hour/10), byte('0'+hour%10)
	b[14] = ':'
	b[15], b[16] = byte('0'+minute/10), byte('0'+minute%10)
	b[17] = ':'
	b[18], b[19] = byte('0'+sec/10), byte('0'+sec%10)
	b[20] = '.'
	for i := 26; i > 20; i-- {
		b[i] = byte('0' + us%10)
		us /= 10
	}
	b[27], b[28] = 'Z', '"'
	return append(dst, b[:]...)
}

func metadataValue(m map[string]any) any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func appendRef(dst []byte, typ, id, name string) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, typ)
	dst = append(dst, `,"id":`...)
	dst = appendString(dst, id)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, name)
	return append(dst, '}')
}

func appendClient(dst []byte, c *Client) []byte {
	dst = append(dst, `,"client":`...)
	if c == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"ip":`...)
	dst = appendString(dst, c.IP)
	dst = append(dst, `,"ip_prefix_len":`...)
	dst = strconv.AppendInt(dst, int64(c.IPPrefixLen), 10)
	dst = append(dst, `,"user_agent":`...)
	dst = appendString(dst, c.UserAgent)
	return append(dst, '}')
}

func appendLocation(dst []byte, l *Location) []byte {
	dst = append(dst, `,"location":`...)
	if l == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"country_code":`...)
	dst = appendString(dst, l.CountryCode)
	dst = append(dst, `,"country":`...)
	dst = appendString(dst, l.Country)
	dst = append(dst, `,"region":`...)
	dst = appendString(dst, l.Region)
	dst = append(dst, `,"city":`...)
	dst = appendString(dst, l.City)
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. s must be valid UTF-8 (the
// decoder guarantees it); invalid bytes are replaced by U+FFFD anyway so the
// output is always valid JSON. U+2028 and U+2029 are escaped so the bytes are
// also safe inside JavaScript.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if i = skipPlainString(s, i); i >= len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// SearchText is the text free-text search matches: the description, the
// actor, the targets, the type and every key and string in the metadata
// (keys sorted, so the same event always gives the same text).
func (e *Event) SearchText() string {
	if e.search != "" {
		return e.search
	}
	var b []byte
	add := func(s string) {
		if s != "" {
			b = append(b, s...)
			b = append(b, ' ')
		}
	}
	add(e.Description)
	add(e.Actor.ID)
	add(e.Actor.Name)
	for _, t := range e.Targets {
		add(t.ID)
		add(t.Name)
	}
	add(e.Type)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			add(v)
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				add(k)
				walk(v[k])
			}
		}
	}
	walk(e.metadataMap())
	return string(b)
}

// metadataMap returns Metadata, decoded from MetadataJSON when the ingest
// path left it as JSON.
func (e *Event) metadataMap() map[string]any {
	if e.Metadata != nil || e.MetadataJSON == nil {
		return e.Metadata
	}
	dec := json.NewDecoder(bytes.NewReader(e.MetadataJSON))
	dec.UseNumber()
	var m map[string]any
	_ = dec.Decode(&m) // canonical JSON made by Trail: it decodes
	return m
}
