// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
)

// Export is a Trail export as read from a file: the exact bytes of each
// event and the integrity material. Event data aliases the input.
type Export struct {
	Format  string // "json" (one document) or "ndjson" (one event a line)
	Version string // the document's format, e.g. "trail.export/v1"
	Org     string
	Size    int64  // N: the export covers seqs 0 … N-1 of the org's log
	Count   int64  // the number of events the file states; -1 if it states none
	Filter  string // the search string of a filtered export, "" if none
	// PrunedBefore is P when the org's events 0 … P-1 were pruned
	// (retention): the export starts at seq P. 0 when nothing was pruned.
	PrunedBefore int64
	Events       []Event

	// The integrity block; Checkpoint is "" when the file has none.
	Checkpoint  string // the C2SP signed note of the checkpoint at Size
	VerifierKey string // the note verifier key that signed it
	Hashes      []Hash // leaf hashes and covering subtree hashes, in seq order
	// Pruned is the compact range of the pruned leaves [0, PrunedBefore)
	// (integrity.pruned.hashes), left to right.
	Pruned []Hash
	// prunedAt is integrity.pruned.before_seq, -1 when absent.
	prunedAt int64

	leaves []Hash // each event's leaf hash, when the parser computed them
}

// Event is one exported event.
type Event struct {
	Data   []byte // the exact bytes, as stored: the Merkle leaf
	Seq    int64
	Offset int64 // where Data starts in the input
}

// ID returns the event's id.
func (e Event) ID() string {
	_, id, _ := eventKey(e.Data, true)
	return id
}

// ParseExport reads a JSON export document or an NDJSON export (whose last
// line carries the integrity block). It finds each event's exact bytes
// with a hand-written scanner, without decoding the events. Errors are
// *MalformedError. data must not change while the Export is in use.
func ParseExport(data []byte) (*Export, error) {
	p := &parser{d: data, ev: -1, lastSeq: -1}
	p.ws()
	if p.i >= len(p.d) {
		return nil, p.fail("empty input: expected a Trail export")
	}
	if bytes.HasPrefix(p.d[p.i:], []byte(`{"integrity"`)) || !p.isDocument() {
		return p.ndjson()
	}
	return p.document()
}

type parser struct {
	d         []byte
	i         int
	ev        int // index of the event being read, -1 outside events
	lastSeq   int64
	lastEvent []byte
	limit     int // where a segment's scan stops (parallel.go); 0: none
}

func (p *parser) fail(format string, args ...any) *MalformedError {
	e := &MalformedError{Offset: int64(p.i), Event: p.ev, Seq: p.lastSeq, Detail: format}
	if p.lastEvent != nil {
		e.ID = Event{Data: p.lastEvent}.ID()
	}
	if len(args) > 0 {
		e.Detail = sprintf(format, args...)
	}
	return e
}

func (p *parser) ws() {
	for p.i < len(p.d) {
		switch p.d[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) expect(c byte) error {
	p.ws()
	if p.i >= len(p.d) {
		return p.fail("unexpected end of input: expected %q (the file is cut short)", c)
	}
	if p.d[p.i] != c {
		return p.fail("expected %q, found %q", c, p.d[p.i])
	}
	p.i++
	return nil
}

// isDocument tells a JSON export document from NDJSON: a document's
// first key is "format".
func (p *parser) isDocument() bool {
	j := p.i + 1
	for j < len(p.d) && (p.d[j] == ' ' || p.d[j] == '\n' || p.d[j] == '\t' || p.d[j] == '\r') {
		j++
	}
	return bytes.HasPrefix(p.d[j:], []byte(`"format"`))
}

// stringEnd returns the index just past the JSON string starting at i
// (d[i] == '"'), finding quotes with bytes.IndexByte.
func stringEnd(d []byte, i int) int {
	j := i + 1
	for {
		k := bytes.IndexByte(d[j:], '"')
		if k < 0 {
			return -1
		}
		j += k
		n := 0
		for b := j - 1; b > i && d[b] == '\\'; b-- {
			n++
		}
		if n%2 == 0 {
			return j + 1
		}
		j++
	}
}

// skipValue moves past one JSON value and returns its span. Objects and
// arrays are scanned for their extent only (brackets matched, strings
// skipped whole): their content is not validated here.
func (p *parser) skipValue() (int, int, error) {
	p.ws()
	start := p.i
	if p.i >= len(p.d) {
		return 0, 0, p.fail("unexpected end of input: expected a value (the file is cut short)")
	}
	switch c := p.d[p.i]; c {
	case '"':
		end := stringEnd(p.d, p.i)
		if end < 0 {
			return 0, 0, p.fail("unterminated string (the file is cut short)")
		}
		p.i = end
	case '{', '[':
		if err := p.skipComposite(); err != nil {
			return 0, 0, err
		}
	default:
		for p.i < len(p.d) && !isDelim(p.d[p.i]) {
			p.i++
		}
		if p.i == start {
			return 0, 0, p.fail("unexpected %q: expected a value", c)
		}
	}
	return start, p.i, nil
}

func isDelim(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\n', '\t', '\r', ':', '"', '{', '[':
		return true
	}
	return false
}

// skipComposite scans an object or array to its matching bracket.
func (p *parser) skipComposite() error {
	var stack [64]byte
	depth := 0
	d := p.d
	i := p.i
	for i < len(d) {
		switch c := d[i]; c {
		case '"':
			end := stringEnd(d, i)
			if end < 0 {
				p.i = i
				return p.fail("unterminated string (the file is cut short)")
			}
			i = end
			continue
		case '{', '[':
			if depth == len(stack) {
				p.i = i
				return p.fail("values nested deeper than %d", len(stack))
			}
			stack[depth] = c + 2 // '{'+2 == '}', '['+2 == ']'
			depth++
		case '}', ']':
			if depth == 0 || stack[depth-1] != c {
				p.i = i
				return p.fail("unexpected %q", c)
			}
			depth--
			if depth == 0 {
				p.i = i + 1
				return nil
			}
		}
		i++
	}
	p.i = i
	return p.fail("unexpected end of input inside a value (the file is cut short)")
}

// str reads a JSON string value.
func (p *parser) str() (string, error) {
	p.ws()
	if p.i >= len(p.d) || p.d[p.i] != '"' {
		return "", p.fail("expected a string")
	}
	start, end, err := p.skipValue()
	if err != nil {
		return "", err
	}
	raw := p.d[start:end]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		p.i = start
		return "", p.fail("bad string: %v", err)
	}
	return s, nil
}

func (p *parser) int() (int64, error) {
	p.ws()
	start := p.i
	for p.i < len(p.d) && p.d[p.i] >= '0' && p.d[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseInt(string(p.d[start:p.i]), 10, 64)
	if err != nil || p.i-start > 1 && p.d[start] == '0' {
		p.i = start
		return 0, p.fail("expected a non-negative integer")
	}
	return n, nil
}

// next reads a ',' (true) or the closing bracket (false).
func (p *parser) next(close byte) (bool, error) {
	p.ws()
	if p.i >= len(p.d) {
		return false, p.fail("unexpected end of input: expected ',' or %q (the file is cut short)", close)
	}
	switch p.d[p.i] {
	case ',':
		p.i++
		return true, nil
	case close:
		p.i++
		return false, nil
	}
	return false, p.fail("expected ',' or %q, found %q", close, p.d[p.i])
}

func (p *parser) key() (string, error) {
	k, err := p.str()
	if err != nil {
		return "", err
	}
	return k, p.expect(':')
}

func (p *parser) document() (*Export, error) {
	x := &Export{Format: "json", Count: -1, Size: -1, prunedAt: -1}
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for more := true; more; {
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, p.fail("key %q appears twice", k)
		}
		seen[k] = true
		switch k {
		case "format":
			x.Version, err = p.str()
		case "org":
			x.Org, err = p.str()
		case "size":
			x.Size, err = p.int()
		case "count":
			x.Count, err = p.int()
		case "filter":
			x.Filter, err = p.str()
		case "pruned_before_seq":
			x.PrunedBefore, err = p.int()
		case "events":
			err = p.events(x)
		case "integrity":
			err = p.integrity(x)
		default:
			_, _, err = p.skipValue()
		}
		if err != nil {
			return nil, err
		}
		if more, err = p.next('}'); err != nil {
			return nil, err
		}
	}
	p.ws()
	if p.i != len(p.d) {
		return nil, p.fail("unexpected data after the export document")
	}
	return x, p.header(x, seen["events"])
}

func (p *parser) header(x *Export, events bool) error {
	switch {
	case x.Version != "trail.export/v1":
		return p.fail("format %q is not trail.export/v1", x.Version)
	case x.Org == "":
		return p.fail("the export names no org")
	case x.Size < 0:
		return p.fail("the export states no size")
	case !events:
		return p.fail("the export has no events array")
	case x.prunedAt >= 0 && x.prunedAt != x.PrunedBefore:
		return p.fail("pruned_before_seq is %d but integrity.pruned.before_seq is %d", x.PrunedBefore, x.prunedAt)
	case x.PrunedBefore > 0 && x.prunedAt < 0 && x.Checkpoint != "":
		return p.fail("pruned_before_seq is %d but the integrity block has no pruned range", x.PrunedBefore)
	case x.PrunedBefore > x.Size:
		return p.fail("pruned_before_seq %d is past the size %d", x.PrunedBefore, x.Size)
	}
	return nil
}

func (p *parser) events(x *Export) error {
	if err := p.expect('['); err != nil {
		return err
	}
	p.ws()
	if p.i < len(p.d) && p.d[p.i] == ']' {
		p.i++
		return nil
	}
	if done, err := p.eventsParallel(x); done {
		return err
	}
	return p.eventsFrom(x)
}

// eventsFrom reads events from p.i to the end of the array.
func (p *parser) eventsFrom(x *Export) error {
	for more := true; more; {
		p.ev = len(x.Events)
		if err := p.event(x); err != nil {
			return err
		}
		var err error
		if more, err = p.next(']'); err != nil {
			return err
		}
	}
	p.ev = -1
	return nil
}

func (p *parser) event(x *Export) error {
	p.ws()
	if p.i >= len(p.d) || p.d[p.i] != '{' {
		if p.i >= len(p.d) {
			return p.fail("unexpected end of input: expected an event (the file is cut short)")
		}
		return p.fail("expected an event object, found %q", p.d[p.i])
	}
	start := p.i
	if err := p.skipComposite(); err != nil {
		return err
	}
	data := p.d[start:p.i]
	seq, _, ok := eventKey(data, false)
	if !ok {
		p.i = start
		return p.fail("an event without an id and a seq")
	}
	if x.Events == nil {
		// Size the slice from the first event: growing it costs more
		// than scanning.
		end := len(p.d)
		if p.limit > 0 {
			end = min(end, p.limit+len(data))
		}
		x.Events = make([]Event, 0, (end-start)/len(data)+1)
	}
	x.Events = append(x.Events, Event{Data: data, Seq: seq, Offset: int64(start)})
	p.lastSeq, p.lastEvent = seq, data
	return nil
}

// eventKey returns an event's seq and (when wantID) id: fast for the
// canonical encoding ({"id":…,"org":…,"seq":N,…}), else by decoding.
func eventKey(data []byte, wantID bool) (int64, string, bool) {
	const pre = `{"id":"`
	if bytes.HasPrefix(data, []byte(pre)) {
		rest := data[len(pre):]
		if q := bytes.IndexByte(rest, '"'); q >= 0 && bytes.IndexByte(rest[:q], '\\') < 0 {
			id := rest[:q]
			rest = rest[q+1:]
			if bytes.HasPrefix(rest, []byte(`,"org":"`)) {
				if e := stringEnd(rest, len(`,"org":`)); e > 0 && bytes.HasPrefix(rest[e:], []byte(`,"seq":`)) {
					rest = rest[e+len(`,"seq":`):]
					n := 0
					for n < len(rest) && n < 19 && rest[n] >= '0' && rest[n] <= '9' {
						n++
					}
					if n > 0 && n < len(rest) && (rest[n] == ',' || rest[n] == '}') && (n == 1 || rest[0] != '0') {
						if seq, ok := atoi(rest[:n]); ok {
							if !wantID {
								return seq, "", true
							}
							return seq, string(id), true
						}
					}
				}
			}
		}
	}
	var e struct {
		ID  *string `json:"id"`
		Seq *int64  `json:"seq"`
	}
	if json.Unmarshal(data, &e) != nil || e.ID == nil || e.Seq == nil || *e.Seq < 0 {
		return 0, "", false
	}
	return *e.Seq, *e.ID, true
}

// integrity reads the integrity object; extra fields are copied to x
// (the NDJSON trailer line carries the header fields too).
func (p *parser) integrity(x *Export) error {
	err := p.object("integrity", func(k string) (err error) {
		switch k {
		case "checkpoint":
			x.Checkpoint, err = p.str()
		case "verifier_key":
			x.VerifierKey, err = p.str()
		case "hashes":
			x.Hashes, err = p.hashes()
		case "format":
			x.Version, err = p.str()
		case "org":
			x.Org, err = p.str()
		case "size":
			x.Size, err = p.int()
		case "count":
			x.Count, err = p.int()
		case "filter":
			x.Filter, err = p.str()
		case "pruned_before_seq":
			x.PrunedBefore, err = p.int()
		case "pruned":
			err = p.pruned(x)
		default:
			_, _, err = p.skipValue()
		}
		return err
	})
	if err != nil {
		return err
	}
	if x.Checkpoint == "" {
		return p.fail("the integrity block has no checkpoint")
	}
	return nil
}

// pruned reads integrity.pruned: {"before_seq": P, "hashes": [...]}.
func (p *parser) pruned(x *Export) error {
	seen := 0
	err := p.object("integrity.pruned", func(k string) (err error) {
		switch k {
		case "before_seq":
			x.prunedAt, err = p.int()
		case "hashes":
			x.Pruned, err = p.hashes()
		default:
			return p.fail("integrity.pruned has an unknown key %q (expected before_seq and hashes)", k)
		}
		seen++
		return err
	})
	if err == nil && seen != 2 {
		return p.fail("integrity.pruned needs before_seq and hashes")
	}
	return err
}

// object reads a JSON object, calling field with the parser at each
// key's value; a key seen twice is an error.
func (p *parser) object(what string, field func(key string) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	seen := map[string]bool{}
	for more := true; more; {
		k, err := p.key()
		if err != nil {
			return err
		}
		if seen[k] {
			return p.fail("%s key %q appears twice", what, k)
		}
		seen[k] = true
		if err := field(k); err != nil {
			return err
		}
		if more, err = p.next('}'); err != nil {
			return err
		}
	}
	return nil
}

// hashes reads an array of base64 hashes.
func (p *parser) hashes() ([]Hash, error) {
	if err := p.expect('['); err != nil {
		return nil, err
	}
	p.ws()
	out := make([]Hash, 0, (len(p.d)-p.i)/47+1)
	if p.i < len(p.d) && p.d[p.i] == ']' {
		p.i++
		return out, nil
	}
	var buf [48]byte
	for more := true; more; {
		p.ws()
		if p.i >= len(p.d) || p.d[p.i] != '"' {
			return nil, p.fail("expected a base64 hash string")
		}
		end := stringEnd(p.d, p.i)
		if end < 0 || end-p.i != 46 {
			return nil, p.fail("expected a base64 SHA-256 hash (44 characters)")
		}
		n, err := base64.StdEncoding.Decode(buf[:], p.d[p.i+1:end-1])
		if err != nil || n != 32 {
			return nil, p.fail("bad base64 hash")
		}
		out = append(out, Hash(buf[:32]))
		p.i = end
		if more, err = p.next(']'); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ndjson reads one event a line; a last line {"integrity":{…}} carries
// the header and integrity block.
func (p *parser) ndjson() (*Export, error) {
	x := &Export{Format: "ndjson", Count: -1, Size: -1, prunedAt: -1}
	for {
		p.ws()
		if p.i >= len(p.d) {
			break
		}
		if bytes.HasPrefix(p.d[p.i:], []byte(`{"integrity"`)) {
			if err := p.expect('{'); err != nil {
				return nil, err
			}
			if _, err := p.key(); err != nil {
				return nil, err
			}
			if err := p.integrity(x); err != nil {
				return nil, err
			}
			if err := p.expect('}'); err != nil {
				return nil, err
			}
			p.ws()
			if p.i != len(p.d) {
				return nil, p.fail("unexpected data after the integrity line")
			}
			return x, p.header(x, true)
		}
		p.ev = len(x.Events)
		if err := p.event(x); err != nil {
			return nil, err
		}
		if p.i < len(p.d) && p.d[p.i] != '\n' {
			return nil, p.fail("expected a newline after the event")
		}
	}
	p.ev = -1
	return nil, p.fail("the NDJSON export has no integrity line: export it with integrity=1 (API) or --integrity (trail export)")
}

// atoi parses at most 19 decimal digits.
func atoi(b []byte) (int64, bool) {
	var n int64
	for _, c := range b {
		n = n*10 + int64(c-'0')
	}
	return n, n >= 0
}
