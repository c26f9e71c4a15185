// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"flag"
	"sync"
	"testing"
	"unsafe"
)

// arena hands out immutable strings and byte slices from large chunks, so
// that the events of one batch cost a few allocations instead of a dozen
// each. Nothing handed out is written again until free. Not safe for
// concurrent use.
//
// The chunks of a pooled arena (the ingest path's) come from chunkPool
// and go back to it at free: whatever the arena handed out must then be
// dead. Service.Ingest frees its arenas once the batch is committed or
// refused (the stores copy what they keep: Pending.Encode) and its acks'
// ids are copied out. In test binaries, free overwrites the chunks first,
// so that anything still pointing into them reads garbage and fails its
// test instead of passing by luck.
type arena struct {
	buf    []byte
	chunk  int
	pooled bool
	chunks []*[]byte // taken from chunkPool
}

// chunkSize is the size of pooled chunks.
const chunkSize = 64 << 10

var chunkPool = sync.Pool{New: func() any {
	c := make([]byte, 0, chunkSize)
	return &c
}}

// poisonFreed reports whether free overwrites the chunks it pools: in
// test binaries, except when they run benchmarks (whose numbers are the
// production code's).
var poisonFreed = sync.OnceValue(func() bool {
	if !testing.Testing() {
		return false
	}
	bench := flag.Lookup("test.bench")
	return bench == nil || bench.Value.String() == ""
})

func newArena(chunk int) *arena { return &arena{chunk: chunk} }

// newPooledArena returns an arena of pooled chunks, for free to return.
func newPooledArena() *arena { return &arena{chunk: chunkSize, pooled: true} }

// reserve makes room for n more bytes in the current chunk.
func (a *arena) reserve(n int) {
	if cap(a.buf)-len(a.buf) >= n {
		return
	}
	if a.pooled && n <= chunkSize {
		c := chunkPool.Get().(*[]byte)
		a.chunks = append(a.chunks, c)
		a.buf = (*c)[:0]
		return
	}
	a.buf = make([]byte, 0, max(a.chunk, n))
}

// free returns the arena's pooled chunks to chunkPool and empties it.
// Nothing it handed out may be used afterwards.
func (a *arena) free() {
	for i, c := range a.chunks {
		if poisonFreed() {
			b := (*c)[:cap(*c)]
			b[0] = 0xa5
			for j := 1; j < len(b); j *= 2 {
				copy(b[j:], b[:j])
			}
		}
		chunkPool.Put(c)
		a.chunks[i] = nil
	}
	a.chunks, a.buf = a.chunks[:0], nil
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
