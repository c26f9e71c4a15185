// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// A WAL record is one frame: a 4-byte little-endian payload length, the
// CRC-32C (Castagnoli) of the payload, then the payload. The first
// payload byte is the record kind. One group commit writes one record, so
// a group is durable entirely or, torn by a crash, not at all.
const (
	frameHeader = 8
	// maxRecord bounds a payload: a group holds at most the service's
	// MaxGroup events of bounded size, far below this.
	maxRecord = 1 << 30

	kindEvents = 1 // a group of events (walGroup)
	kindClose  = 2 // written by Close: nothing follows it in the segment
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errTorn says the bytes at an offset are not a whole, intact record.
var errTorn = errors.New("logstore: torn or damaged record")

// appendFrame appends payload framed as one record.
func appendFrame(dst, payload []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// readFrame reads the record at the start of b: its payload and total
// length. errTorn means b holds no intact record there (short, zero
// length, or a CRC mismatch).
func readFrame(b []byte) (payload []byte, n int, err error) {
	if len(b) < frameHeader {
		return nil, 0, errTorn
	}
	size := binary.LittleEndian.Uint32(b)
	if size == 0 || size > maxRecord || int(size) > len(b)-frameHeader {
		return nil, 0, errTorn
	}
	payload = b[frameHeader : frameHeader+int(size)]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, errTorn
	}
	return payload, frameHeader + int(size), nil
}

// walGroup is the content of a kindEvents record: for each org, the
// events of one group commit, at consecutive seqs from first.
type walGroup struct {
	orgs []walOrg
}

type walOrg struct {
	name   string
	first  int64
	events []walEvent
}

type walEvent struct {
	hash [32]byte // the producer content hash (audit.Pending.Hash)
	data []byte   // the canonical bytes
}

// size is an upper bound of the encoded length of g.
func (g *walGroup) size() int {
	n := 1 + binary.MaxVarintLen64
	for _, o := range g.orgs {
		n += len(o.name) + 3*binary.MaxVarintLen64
		for _, e := range o.events {
			n += 32 + binary.MaxVarintLen64 + len(e.data)
		}
	}
	return n
}

// encode returns the record payload of g.
func (g *walGroup) encode(dst []byte) []byte {
	dst = append(dst, kindEvents)
	dst = binary.AppendUvarint(dst, uint64(len(g.orgs)))
	for _, o := range g.orgs {
		dst = appendBytes(dst, []byte(o.name))
		dst = binary.AppendUvarint(dst, uint64(o.first))
		dst = binary.AppendUvarint(dst, uint64(len(o.events)))
		for _, e := range o.events {
			dst = append(dst, e.hash[:]...)
			dst = appendBytes(dst, e.data)
		}
	}
	return dst
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// decodeGroup parses a kindEvents payload. The event data alias p.
func decodeGroup(p []byte) (walGroup, error) {
	r := reader{b: p}
	var g walGroup
	if k := r.byte(); k != kindEvents {
		return g, fmt.Errorf("logstore: record kind %d, want %d", k, kindEvents)
	}
	n := r.count(1)
	for i := 0; i < n && r.err == nil; i++ {
		o := walOrg{name: string(r.bytes()), first: r.int()}
		m := r.count(33)
		o.events = make([]walEvent, 0, m)
		for j := 0; j < m && r.err == nil; j++ {
			var e walEvent
			copy(e.hash[:], r.fixed(32))
			e.data = r.bytes()
			o.events = append(o.events, e)
		}
		g.orgs = append(g.orgs, o)
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("logstore: %d bytes after the record's content", len(r.b))
	}
	return g, r.err
}

// reader decodes the varint-framed formats of records and blocks; the
// first error sticks and every later read returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("logstore: truncated or malformed %s", what)
	}
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail("byte")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// int reads a non-negative uvarint that fits an int64.
func (r *reader) int() int64 {
	v := r.uvarint()
	if v > 1<<62 {
		r.fail("number")
		return 0
	}
	return int64(v)
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items each at least min bytes long, refusing
// counts the remaining bytes cannot hold.
func (r *reader) count(min int) int {
	v := r.uvarint()
	if v > uint64(len(r.b)/min) {
		r.fail("count")
		return 0
	}
	return int(v)
}

func (r *reader) fixed(n int) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.fail("field")
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("bytes")
		return nil
	}
	return r.fixed(int(n))
}

func (r *reader) string() string { return string(r.bytes()) }

func (r *reader) u32() uint32 {
	b := r.fixed(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}
