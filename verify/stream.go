// SPDX-License-Identifier: Apache-2.0

package verify

// Verifying what a stream destination received: the NDJSON objects Trail's
// s3 kind writes (one event a line, exact stored bytes, and when the
// delivery carried one a last line {"checkpoint":"<signed note>"}), read
// from a directory or an S3 download. The objects may overlap (at least
// once: a redelivered batch) and come in any order.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/trailaudit/trail/internal/ledger"
)

// StreamObject is one object of a stream: its events and its checkpoint.
type StreamObject struct {
	Name       string
	Events     []Event
	Checkpoint string // "" when the object carries none
}

// ParseStreamObject reads one uncompressed NDJSON stream object. Errors
// are *MalformedError.
func ParseStreamObject(name string, data []byte) (*StreamObject, error) {
	o := &StreamObject{Name: name}
	fail := func(at int, detail string) error {
		return &MalformedError{Offset: int64(at), Event: -1, Seq: -1, Detail: name + ": " + detail}
	}
	for at := 0; at < len(data); {
		end := bytes.IndexByte(data[at:], '\n')
		if end < 0 {
			end = len(data) - at
		}
		line := bytes.TrimRight(data[at:at+end], "\r")
		next := at + end + 1
		switch {
		case len(bytes.TrimSpace(line)) == 0:
		case o.Checkpoint != "":
			return nil, fail(at, "a line follows the checkpoint line, which must be last")
		case bytes.HasPrefix(line, []byte(`{"checkpoint"`)):
			var c struct {
				Checkpoint string `json:"checkpoint"`
			}
			if json.Unmarshal(line, &c) != nil || c.Checkpoint == "" {
				return nil, fail(at, `the checkpoint line is not {"checkpoint":"<signed note>"}`)
			}
			o.Checkpoint = c.Checkpoint
		default:
			seq, _, ok := eventKey(line, false)
			if !ok {
				return nil, fail(at, fmt.Sprintf("line %d is not a Trail event (a JSON object with an id and a seq): was the stream's format json?", bytes.Count(data[:at], []byte("\n"))+1))
			}
			o.Events = append(o.Events, Event{Data: line, Seq: seq, Offset: int64(at)})
		}
		at = next
	}
	return o, nil
}

// StreamResult is what VerifyStream proved, or, with an error, found.
type StreamResult struct {
	*Result            // the newest checkpoint's proof; nil when it could not be made
	Objects     int    // objects read
	Checkpoints int    // distinct checkpoints, each verified
	Duplicates  int    // identical copies of events dropped (redeliveries)
	Missing     []Span // seqs that no object holds, below the newest checkpoint's size or a present event's seq
	Beyond      int    // events newer than the newest checkpoint: present, not yet provable
	// Prefix is set when events are missing: the newest checkpoint that
	// the events before the first gap do prove, if any.
	Prefix *Result
}

// Span is the seqs First … Last.
type Span struct{ First, Last int64 }

func (s Span) String() string {
	if s.First == s.Last {
		return fmt.Sprint(s.First)
	}
	return fmt.Sprintf("%d … %d", s.First, s.Last)
}

// MissingCount is the number of seqs in Missing.
func (r *StreamResult) MissingCount() int64 {
	var n int64
	for _, s := range r.Missing {
		n += s.Last - s.First + 1
	}
	return n
}

// VerifyStream checks stream objects against their newest checkpoint:
// each seq present once (identical copies are redeliveries and count
// once; different bytes for one seq are a *MismatchError), no seq below
// the checkpoint's size missing, the root recomputed from the events, the
// signature by a key of opts.Keys (required: stream objects carry no
// verifier key), and every older checkpoint in the objects consistent
// with the same events. Missing events are a *MismatchError with Check
// "missing", and StreamResult.Missing lists them all.
func VerifyStream(objs []*StreamObject, opts Options) (*StreamResult, error) {
	res := &StreamResult{Objects: len(objs)}
	if len(opts.Keys) == 0 {
		return res, &MalformedError{Event: -1, Seq: -1, Detail: "stream objects carry no verifier key: give the org's verifier key (trail keys verifier on the server)"}
	}
	events, notes, err := gather(objs, res)
	if err != nil {
		return res, err
	}
	if len(notes) == 0 {
		return res, &MalformedError{Event: -1, Seq: -1, Detail: "no object carries a checkpoint: a stream object's last line is {\"checkpoint\":…} when its delivery carried one"}
	}
	cps := make([]ledger.Checkpoint, len(notes))
	newest := 0
	for i, n := range notes {
		c, _, _, err := openCheckpoint(n.text, "", opts.Keys)
		if err != nil {
			return res, prefixed("the checkpoint in "+n.object+": ", err)
		}
		if c.Origin != "" && cps[newest].Origin != "" && c.Origin != cps[newest].Origin {
			return res, mismatch("origin", "the checkpoints are of two logs: %q (%s) and %q", c.Origin, n.object, cps[newest].Origin)
		}
		cps[i] = c
		if c.Size > cps[newest].Size {
			newest = i
		}
	}
	size := cps[newest].Size
	held := sort.Search(len(events), func(i int) bool { return events[i].Seq >= size })
	res.Beyond = len(events) - held
	end := size // seqs below end must all be present: the checkpoint's, and any before a present event
	if len(events) > 0 {
		end = max(end, events[len(events)-1].Seq+1)
	}
	res.Missing = gaps(events, end)
	if err := checkOlder(events[:held], notes, cps); err != nil {
		return res, err
	}
	res.Checkpoints = len(notes)
	if len(res.Missing) > 0 {
		res.Prefix = provePrefix(events, notes, cps, res.Missing[0].First, opts)
		m := res.Missing
		list := make([]string, 0, 5)
		for i := 0; i < len(m) && i < 5; i++ {
			list = append(list, m[i].String())
		}
		if len(m) > 5 {
			list = append(list, fmt.Sprintf("and %d more ranges", len(m)-5))
		}
		return res, &MismatchError{Check: "missing", Seq: m[0].First, Detail: fmt.Sprintf("missing: %d events are in no object: seqs %s", res.MissingCount(), strings.Join(list, ", "))}
	}
	r, err := Verify(streamExport(events[:held], notes[newest].text, size), opts)
	res.Result = r
	return res, err
}

type streamNote struct{ text, object string }

// gather merges the objects' events by seq and lists their distinct
// checkpoints.
func gather(objs []*StreamObject, res *StreamResult) ([]Event, []streamNote, error) {
	bySeq := map[int64]int{} // seq → index in events
	from := map[int64]string{}
	var events []Event
	var notes []streamNote
	seen := map[string]bool{}
	for _, o := range objs {
		for _, e := range o.Events {
			if i, dup := bySeq[e.Seq]; dup {
				if !bytes.Equal(events[i].Data, e.Data) {
					return nil, nil, &MismatchError{Check: "event", Seq: e.Seq, ID: e.ID(), Detail: fmt.Sprintf("%s and %s hold different bytes for this seq: one of them was altered", from[e.Seq], o.Name)}
				}
				res.Duplicates++
				continue
			}
			bySeq[e.Seq] = len(events)
			from[e.Seq] = o.Name
			events = append(events, e)
		}
		if o.Checkpoint != "" && !seen[o.Checkpoint] {
			seen[o.Checkpoint] = true
			notes = append(notes, streamNote{o.Checkpoint, o.Name})
		}
	}
	sort.Slice(events, func(i, j int) bool { return events[i].Seq < events[j].Seq })
	return events, notes, nil
}

// gaps lists the seqs below size that events (ascending, distinct) lack.
func gaps(events []Event, size int64) []Span {
	var out []Span
	next := int64(0)
	for _, e := range events {
		if e.Seq > next {
			out = append(out, Span{next, e.Seq - 1})
		}
		next = e.Seq + 1
	}
	if next < size {
		out = append(out, Span{next, size - 1})
	}
	return out
}

// checkOlder recomputes the root at each checkpoint's size that the
// events cover from seq 0 and compares it with the checkpoint's.
func checkOlder(events []Event, notes []streamNote, cps []ledger.Checkpoint) error {
	order := make([]int, len(cps))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return cps[order[a]].Size < cps[order[b]].Size })
	var b ledger.Builder
	k := 0
	for _, i := range order {
		for k < len(events) && events[k].Seq == int64(k) && int64(k) < cps[i].Size {
			b.AddLeaf(ledger.LeafHash(events[k].Data))
			k++
		}
		if b.Size() < cps[i].Size {
			return nil // a gap: the rest cannot be checked
		}
		if b.Root() != cps[i].Root {
			return mismatch("root", "the events 0 … %d give the root %s, but the checkpoint of size %d in %s signed %s", cps[i].Size-1, ledger.EncodeHash(b.Root()), cps[i].Size, notes[i].object, ledger.EncodeHash(cps[i].Root))
		}
	}
	return nil
}

// provePrefix verifies the newest checkpoint whose size the events
// before the first gap cover.
func provePrefix(events []Event, notes []streamNote, cps []ledger.Checkpoint, gapAt int64, opts Options) *Result {
	best := -1
	for i, c := range cps {
		if c.Size > 0 && c.Size <= gapAt && (best < 0 || c.Size > cps[best].Size) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	n := cps[best].Size
	r, err := Verify(streamExport(events[:n], notes[best].text, n), opts)
	if err != nil {
		return nil
	}
	return r
}

// streamExport presents events 0 … size-1 as a complete export whose
// hashes are the events' own leaf hashes, so that Verify recomputes the
// root from the events alone.
func streamExport(events []Event, note string, size int64) *Export {
	x := &Export{Format: "stream", Size: size, Count: -1, Events: events, Checkpoint: note}
	x.Hashes = make([]Hash, len(events))
	for i, e := range events {
		x.Hashes[i] = ledger.LeafHash(e.Data)
	}
	x.leaves = x.Hashes
	if len(events) > 0 {
		x.Org = eventOrg(events[0].Data)
	} else if text, _, ok := ledger.SplitNote(note); ok {
		if c, err := ledger.ParseCheckpoint(text); err == nil {
			x.Org = c.Origin[strings.LastIndex(c.Origin, "/orgs/")+len("/orgs/"):]
		}
	}
	return x
}

// eventOrg returns an event's org.
func eventOrg(data []byte) string {
	var e struct {
		Org string `json:"org"`
	}
	json.Unmarshal(data, &e)
	return e.Org
}
