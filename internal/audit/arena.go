// SPDX-License-Identifier: Apache-2.0

package audit

import "unsafe"

// arena hands out immutable strings and byte slices from large chunks, so
// that the events of one batch cost a few allocations instead of a dozen
// each. Nothing handed out is ever written again; a chunk lives as long as
// anything points into it. Not safe for concurrent use.
type arena struct {
	buf   []byte
	chunk int
}

func newArena(chunk int) *arena { return &arena{chunk: chunk} }

// reserve makes room for n more bytes in the current chunk.
func (a *arena) reserve(n int) {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(a.chunk, n))
	}
}

// bytes returns a copy of b, with no spare capacity.
func (a *arena) bytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	a.reserve(len(b))
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[start:len(a.buf):len(a.buf)]
}

// string returns b as a string.
func (a *arena) string(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	c := a.bytes(b)
	return unsafe.String(&c[0], len(c))
}

// take returns an empty slice with room for n bytes, for the caller to
// append to (and then to keep: the room is not handed out again).
func (a *arena) take(n int) []byte {
	a.reserve(n)
	start := len(a.buf)
	a.buf = a.buf[:start+n]
	return a.buf[start : start : start+n]
}

// view is b as a string without a copy, for strings used only while b is
// unchanged (decoding one event).
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
