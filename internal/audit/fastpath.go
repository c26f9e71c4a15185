// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/trailaudit/trail/internal/catalog"
)

// batchDecoder is the fast path from raw events to Pending events: one per
// batch, in the request's goroutine. What the batch's events keep (their
// strings, targets, clients, canonical bytes) comes from its arenas and
// slabs; the rest is scratch, reused from event to event. Ingest takes
// its decoders from decoderPool (pooledDecoder) and returns them, arenas
// and slabs with them, once the batch is done (release).
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

	// scanned: skipValue accepted each raw event already (splitFast), so
	// split reads their fields with the known scanners.
	scanned bool

	// Kept by a pooled decoder for its next batch.
	pending []Pending
	events  []*Pending
	seen    map[string]int
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

// Slab sizes: targets and clients are taken from slabs of these many.
const (
	targetSlab = 1024
	clientSlab = 512
)

// newBatchDecoder returns a decoder whose events live as long as they
// are referenced (tests keep them).
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

var decoderPool = sync.Pool{New: func() any {
	return &batchDecoder{strs: newPooledArena(), out: newPooledArena(), seen: map[string]int{}}
}}

// pooledDecoder returns a decoder from decoderPool for a batch of org:
// its events are valid until release.
func (s *Service) pooledDecoder(org string) *batchDecoder {
	d := decoderPool.Get().(*batchDecoder)
	d.s, d.org = s, org
	return d
}

// release returns a pooled decoder, with the memory of every event it
// decoded, to decoderPool. Nothing of those events may be used after.
func (d *batchDecoder) release() {
	d.strs.free()
	d.out.free()
	clear(d.pending)
	clear(d.events)
	clear(d.seen)
	d.events = d.events[:0]
	if cap(d.targets) == targetSlab {
		clear(d.targets)
		d.targets = d.targets[:0]
	} else {
		d.targets = nil
	}
	if cap(d.clients) == clientSlab {
		clear(d.clients)
		d.clients = d.clients[:0]
	} else {
		d.clients = nil
	}
	d.s, d.org, d.scanned = nil, "", false
	decoderPool.Put(d)
}

// pendings returns n zero Pendings for the batch's events.
func (d *batchDecoder) pendings(n int) []Pending {
	if d.strs.pooled && cap(d.pending) >= n {
		return d.pending[:n]
	}
	p := make([]Pending, n)
	if d.strs.pooled && n <= 2*DefaultMaxBatch {
		d.pending = p
	}
	return p
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
		p.FreshID = idSource == nil // a test's ids may repeat
	}
	p.defaultOccurred = !hasOccurred
	d.encode(p, sent, meta)
	return true
}

// split finds the fields of the event object raw. False for anything but
// an object of known and ignored fields, each once, keys written plainly.
// The values are read with skipValue, or, when the splitter read the
// event already (d.scanned), found with knownValue.
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
		end, escaped, ok := 0, false, true
		if d.scanned {
			if i >= len(raw) || raw[i] != '"' {
				return false
			}
			end, escaped = knownString(raw, i)
		} else {
			end, escaped, ok = scanString(raw, i)
		}
		if !ok || escaped {
			return false
		}
		key := raw[i+1 : end-1]
		if i = skipWS(raw, end); i >= len(raw) || raw[i] != ':' {
			return false
		}
		i = skipWS(raw, i+1)
		if d.scanned {
			end = knownValue(raw, i)
		} else if end, ok = skipValue(raw, i, 1); !ok {
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

// enrich is Service.enrich through the service's cache.
func (d *batchDecoder) enrich(addr netip.Addr, ua string) (*Client, *Location) {
	if len(d.clients) == cap(d.clients) {
		d.clients = make([]Client, 0, clientSlab)
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

	// The hash view (contentHash, appendHashView), of the bytes with their
	// gaps: seq, received_at and a defaulted occurred_at are empty there.
	p.descriptionRendered, p.hashed = sent == "", true
	sp := hashSpans{
		seqVal: mk.seq, seqEnd: mk.seq,
		catVal: mk.actor - len(ev.Category) - 2, catEnd: mk.actor,
		descVal: mk.description + len(`,"description":`), descEnd: mk.client,
		location: mk.location,
		occVal:   mk.occurred, occEnd: mk.received - len(`,"received_at":`),
		metadata: mk.metadata,
	}
	h := appendHashView(d.scratch[:0], b, &sp, p.descriptionRendered, p.defaultOccurred)
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
