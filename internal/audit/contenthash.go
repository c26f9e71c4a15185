// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"crypto/sha256"
	"fmt"
)

// The content hash (Pending.Hash) is SHA-256 of the event's *hash view*:
// its canonical bytes with seq 0, category "", the description as the
// producer sent it ("" when Trail rendered it), location null,
// occurred_at the zero time when Trail defaulted it (none was sent), and
// received_at the zero time; everything else as stored (the address is
// the anonymized one). So the hash is a function of the stored bytes and
// two bits, and a store may keep the bits instead of the hash:
// ContentHashOf gives it back. The ingest path (batchDecoder.encode) and
// ContentHashOf build the view with the same function, appendHashView.

// hashSpans are where, in canonical bytes, the values the hash view
// replaces are.
type hashSpans struct {
	seqVal, seqEnd   int // seq's digits (empty in the ingest path's bytes)
	catVal, catEnd   int // category's value (quoted)
	descVal, descEnd int // description's value (quoted)
	location         int // the start of `,"location":`
	occVal, occEnd   int // occurred_at's value (empty when defaulted, in the ingest path's bytes)
	metadata         int // the start of `,"metadata":`
}

// appendHashView appends the hash view of the canonical bytes b, whose
// parts sp locates: descriptionRendered and occurredDefaulted say
// whether Trail rendered the description and defaulted occurred_at.
func appendHashView(h, b []byte, sp *hashSpans, descriptionRendered, occurredDefaulted bool) []byte {
	h = append(h, b[:sp.seqVal]...)
	h = append(h, '0')
	h = append(h, b[sp.seqEnd:sp.catVal]...)
	h = append(h, `""`...)
	h = append(h, b[sp.catEnd:sp.descVal]...)
	if descriptionRendered {
		h = append(h, `""`...)
	} else {
		h = append(h, b[sp.descVal:sp.descEnd]...)
	}
	h = append(h, b[sp.descEnd:sp.location]...)
	h = append(h, `,"location":null,"occurred_at":`...)
	if occurredDefaulted {
		h = appendQuoted(h, zeroTime)
	} else {
		h = append(h, b[sp.occVal:sp.occEnd]...)
	}
	h = append(h, `,"received_at":`...)
	h = appendQuoted(h, zeroTime)
	return append(h, b[sp.metadata:]...)
}

// ContentHashOf returns the content hash (Pending.Hash) of the event
// whose canonical bytes, as a store keeps them, are stored, given whether
// Trail rendered its description (the producer sent none, or "") and
// defaulted its occurred_at (the producer sent none): what
// Pending.HashBits tells at ingest. It is exactly the Hash the ingest
// path computed for that event (TestContentHashOfStored holds it to that
// for every event of the golden corpus). An error means stored is not an
// event's canonical bytes.
func ContentHashOf(stored []byte, descriptionRendered, occurredDefaulted bool) ([sha256.Size]byte, error) {
	sp, err := storedSpans(stored)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	var buf [1024]byte
	return sha256.Sum256(appendHashView(buf[:0], stored, &sp, descriptionRendered, occurredDefaulted)), nil
}

// HashBits tells how Hash follows from the event's canonical bytes (what
// Encode returns): Hash is ContentHashOf(bytes, descriptionRendered,
// occurredDefaulted) when ok. ok is false for a Pending the ingest path
// did not make (Service.Record's, or one a test builds), whose Hash is
// whatever its maker set.
func (p *Pending) HashBits() (descriptionRendered, occurredDefaulted, ok bool) {
	return p.descriptionRendered, p.defaultOccurred, p.hashed
}

// storedSpans locates the parts of canonical bytes (AppendCanonical's
// fixed field order) that the hash view replaces. Each key is searched
// for after the previous one's value: before metadata, no value holds
// an object key of its own (a `,"` outside a string starts a key, and
// the strings before are the id, org, type, category, references,
// description, client and location), so the first `,"key":` found there
// is the event's own.
func storedSpans(b []byte) (hashSpans, error) {
	var sp hashSpans
	if !bytes.HasPrefix(b, []byte(`{"id":"`)) || b[len(b)-1] != '}' {
		return sp, fmt.Errorf("audit: not an event's canonical bytes")
	}
	at := 0
	find := func(key string) int {
		if at < 0 {
			return -1
		}
		i := bytes.Index(b[at:], []byte(key))
		if i < 0 {
			at = -1
			return -1
		}
		at += i + len(key)
		return at
	}
	// follows checks that key is at i and moves past it.
	follows := func(i int, key string) bool {
		if i < 0 || !bytes.HasPrefix(b[i:], []byte(key)) {
			at = -1
			return false
		}
		at = i + len(key)
		return true
	}
	sp.seqVal = find(`,"seq":`)
	sp.seqEnd = sp.seqVal
	for sp.seqEnd >= 0 && sp.seqEnd < len(b) && b[sp.seqEnd] >= '0' && b[sp.seqEnd] <= '9' {
		sp.seqEnd++
	}
	if sp.seqEnd == sp.seqVal || !follows(sp.seqEnd, `,"type":`) {
		return sp, fmt.Errorf("audit: an event's canonical bytes without their seq")
	}
	sp.catVal = find(`,"category":`)
	sp.catEnd = skipString(b, sp.catVal)
	if !follows(sp.catEnd, `,"actor":`) {
		return sp, fmt.Errorf("audit: an event's canonical bytes without their category")
	}
	sp.descVal = find(`,"description":`)
	sp.descEnd = skipString(b, sp.descVal)
	if !follows(sp.descEnd, `,"client":`) {
		return sp, fmt.Errorf("audit: an event's canonical bytes without their description")
	}
	if sp.location = find(`,"location":`); sp.location >= 0 {
		sp.location -= len(`,"location":`)
	}
	sp.occVal = find(`,"occurred_at":`)
	sp.occEnd = skipString(b, sp.occVal)
	if sp.location < 0 || !follows(sp.occEnd, `,"received_at":`) {
		return sp, fmt.Errorf("audit: an event's canonical bytes without their occurred_at")
	}
	sp.metadata = skipString(b, at)
	if !follows(sp.metadata, `,"metadata":`) {
		return sp, fmt.Errorf("audit: an event's canonical bytes without their received_at")
	}
	return sp, nil
}

// skipString returns the end of the JSON string that starts at b[i], or
// -1 if there is none.
func skipString(b []byte, i int) int {
	if i < 0 || i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}
