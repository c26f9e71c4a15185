// SPDX-License-Identifier: Apache-2.0

package producer

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A spool record is framed as
//
//	magic "TRL1" | uint32 length of payload | uint32 CRC-32C of payload | payload
//
// all big-endian. The magic lets recovery find the next whole record after
// a damaged one; the CRC tells a torn or flipped record from a whole one.
const (
	frameHeader = 12
	// maxPayload bounds one record, so a damaged length cannot make
	// recovery allocate without bound.
	maxPayload = 4 << 20
)

var (
	frameMagic = []byte("TRL1")
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// appendFrame appends the framed payload to dst.
func appendFrame(dst, payload []byte) []byte {
	dst = append(dst, frameMagic...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// frameAt decodes the record starting at off in buf. ok is false when no
// whole, intact record starts there (torn, flipped or not a record).
func frameAt(buf []byte, off int) (payload []byte, next int, ok bool) {
	if len(buf)-off < frameHeader || !bytes.Equal(buf[off:off+4], frameMagic) {
		return nil, 0, false
	}
	n := int(binary.BigEndian.Uint32(buf[off+4:]))
	sum := binary.BigEndian.Uint32(buf[off+8:])
	end := off + frameHeader + n
	if n > maxPayload || end > len(buf) {
		return nil, 0, false
	}
	payload = buf[off+frameHeader : end]
	if crc32.Checksum(payload, castagnoli) != sum {
		return nil, 0, false
	}
	return payload, end, true
}

// scanned is one record found in a segment, or one damaged stretch.
type scanned struct {
	off, end int    // byte range in the segment
	payload  []byte // nil for a damaged stretch
}

// damage describes a damaged stretch of a segment.
func (s scanned) damage(seg string) error {
	return fmt.Errorf("producer: spool %s: %d damaged bytes at offset %d (torn or corrupted record) skipped", seg, s.end-s.off, s.off)
}

// scanFrames splits buf, starting at off, into intact records and damaged
// stretches between them. A damaged stretch ends where the next intact
// record begins, or at the end of buf.
func scanFrames(buf []byte, off int) []scanned {
	var out []scanned
	for off < len(buf) {
		if p, next, ok := frameAt(buf, off); ok {
			out = append(out, scanned{off: off, end: next, payload: p})
			off = next
			continue
		}
		bad := off
		off = resync(buf, off+1)
		out = append(out, scanned{off: bad, end: off})
	}
	return out
}

// resync returns the offset of the next intact record at or after from,
// or len(buf).
func resync(buf []byte, from int) int {
	for from < len(buf) {
		i := bytes.Index(buf[from:], frameMagic)
		if i < 0 {
			return len(buf)
		}
		if _, _, ok := frameAt(buf, from+i); ok {
			return from + i
		}
		from += i + 1
	}
	return len(buf)
}
