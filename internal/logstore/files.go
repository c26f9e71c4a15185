// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/trailaudit/trail/internal/audit"
)

// Sealed blocks are appended to files blocks/NNNNNNNN.blk, each up to
// blockFileBytes, and never changed after: a block is durable (fdatasync)
// before the catalog row that makes it part of the log commits.
var blockFileBytes int64 = 256 << 20

// blockRef is a sealed block: where it is, its summary (summary.go) and
// its header once read.
type blockRef struct {
	first, n  int64
	file      int64
	off, size int64
	// sum is set before the block is in an org's list and never changed
	// (an erasure makes a new blockRef); nil only for a block whose
	// summary could not be rebuilt (a damaged header: reading it fails).
	sum *blockSum
	hdr atomic.Pointer[blockHeader]
	// idf is the block's own id filter once its group's filter covers
	// more blocks than it (ids.go, candidates): set when the group is
	// merged, or by warmIDs after Open; nil until then.
	idf atomic.Pointer[bloom]
}

// maxHeaderBytes bounds the block headers kept in memory by their size
// (headerCost; about 11 KB for a full block of format 2, whose block
// filter is in its summary, not in the cached header): past it the oldest
// cached is dropped and read again when needed. maxHeaders bounds their
// count (tests lower it).
var (
	maxHeaders           = 1 << 20
	maxHeaderBytes int64 = 32 << 20
)

// headerCost is what a cached header is counted for: its encoded size
// (less the block filter, when the summary holds it) plus the decoded
// form's overhead per page.
func headerCost(h *blockHeader) int64 {
	return int64(h.hl) - int64(h.filterOut) + 256*int64(len(h.pages))
}

type blockFiles struct {
	dir    string
	mu     sync.Mutex
	cached []*blockRef        // blocks whose header is cached, oldest first
	cost   int64              // headerCost of the cached headers
	files  map[int64]*os.File // opened for reading
	cur    *os.File           // the file new blocks go to
	curN   int64
	curSz  int64
}

func blockFileName(n int64) string { return fmt.Sprintf("%08d.blk", n) }

// open prepares appending after the last catalogued block: bytes past it
// were written by a seal that never committed, and are cut off.
func (f *blockFiles) open(lastFile, end int64) error {
	path := filepath.Join(f.dir, blockFileName(lastFile))
	w, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("logstore: opening block file: %w", err)
	}
	if err := w.Truncate(end); err != nil {
		w.Close()
		return fmt.Errorf("logstore: cutting an unsealed block off %s: %w", path, err)
	}
	f.cur, f.curN, f.curSz = w, lastFile, end
	return nil
}

// append writes a block durably and returns where it is.
func (f *blockFiles) append(data []byte) (file, off int64, err error) {
	if f.curSz > 0 && f.curSz+int64(len(data)) > blockFileBytes {
		if err := f.cur.Close(); err != nil {
			return 0, 0, err
		}
		f.cur = nil
		if err := f.open(f.curN+1, 0); err != nil {
			return 0, 0, err
		}
		if err := syncDir(f.dir); err != nil {
			return 0, 0, err
		}
	}
	if _, err := f.cur.WriteAt(data, f.curSz); err != nil {
		return 0, 0, unavailable("writing a block", err)
	}
	if err := fdatasync(f.cur); err != nil {
		return 0, 0, failClosed(fmt.Errorf("syncing a block: %w", err))
	}
	off = f.curSz
	f.curSz += int64(len(data))
	return f.curN, off, nil
}

// file returns block file n opened for reading.
func (f *blockFiles) file(n int64) (*os.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r := f.files[n]; r != nil {
		return r, nil
	}
	r, err := os.Open(filepath.Join(f.dir, blockFileName(n)))
	if err != nil {
		return nil, fmt.Errorf("logstore: opening block file: %w", err)
	}
	f.files[n] = r
	return r, nil
}

func (f *blockFiles) read(b *blockRef, off, n int64) ([]byte, error) {
	return f.readInto(b, off, n, nil)
}

// readInto is read into buf, grown if it is short (the bytes are
// buf[:n], or a new slice).
func (f *blockFiles) readInto(b *blockRef, off, n int64, buf []byte) ([]byte, error) {
	r, err := f.file(b.file)
	if err != nil {
		return nil, err
	}
	if int64(cap(buf)) >= n {
		buf = buf[:n]
	} else {
		buf = make([]byte, n)
	}
	if _, err := r.ReadAt(buf, b.off+off); err != nil {
		return nil, fmt.Errorf("logstore: reading block %d/%d: %w", b.file, b.off, err)
	}
	return buf, nil
}

// header returns the block's header, reading it once.
func (f *blockFiles) header(b *blockRef) (*blockHeader, error) {
	if h := b.hdr.Load(); h != nil {
		return h, nil
	}
	h, err := f.readHeader(b)
	if err != nil {
		return nil, err
	}
	f.keep(b, h)
	return h, nil
}

// peekHeader is header without caching what it reads: for passes over
// many old blocks (the id filters' merges and warmIDs), which would
// otherwise push the headers searches use out of the cache.
func (f *blockFiles) peekHeader(b *blockRef) (*blockHeader, error) {
	if h := b.hdr.Load(); h != nil {
		return h, nil
	}
	return f.readHeader(b)
}

// headerReads counts the headers read from block files (tests).
var headerReads atomic.Int64

// readHeader reads and checks b's header.
func (f *blockFiles) readHeader(b *blockRef) (*blockHeader, error) {
	headerReads.Add(1)
	pre, err := f.read(b, 0, min(b.size, 4096))
	if err != nil {
		return nil, err
	}
	h, hl, err := decodeHeader(pre, b.size)
	if err != nil && hl > 0 && blockPrefix+hl > len(pre) && int64(blockPrefix+hl) <= b.size {
		if pre, err = f.read(b, 0, int64(blockPrefix+hl)); err == nil {
			h, _, err = decodeHeader(pre, b.size)
		}
	}
	if err == nil && (h.first != b.first || int64(h.n) != b.n) {
		err = fmt.Errorf("logstore: block holds seqs %d+%d, the catalog says %d+%d", h.first, h.n, b.first, b.n)
	}
	if err != nil {
		return nil, damaged(b, err)
	}
	h.hl = hl
	return h, nil
}

// keep caches b's header, dropping the oldest cached past maxHeaders.
func (f *blockFiles) keep(b *blockRef, h *blockHeader) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b.hdr.Load() != nil {
		return // two readers raced to read it: one copy is cached
	}
	if b.sum != nil && h.sum.filter != nil {
		// The summary holds the block filter: not twice in memory.
		h.filterOut, h.sum.filter = len(h.sum.filter), nil
	}
	b.hdr.Store(h)
	f.cached = append(f.cached, b)
	f.cost += headerCost(h)
	drop := 0
	for len(f.cached)-drop > 1 && (len(f.cached)-drop > maxHeaders || f.cost > maxHeaderBytes) {
		old := f.cached[drop]
		if oh := old.hdr.Swap(nil); oh != nil {
			f.cost -= headerCost(oh)
		}
		drop++
	}
	if drop > 0 {
		f.cached = append(f.cached[:0], f.cached[drop:]...)
	}
}

// page returns the events of page p of block b.
func (f *blockFiles) page(b *blockRef, h *blockHeader, p int) ([][]byte, error) {
	events, _, err := f.pageInto(b, h, p, nil, nil)
	return events, err
}

// pageInto is page decoding into buf; pages, when not nil, holds the
// block's bytes from the first page on (a walk over many pages reads the
// block once).
func (f *blockFiles) pageInto(b *blockRef, h *blockHeader, p int, pages, buf []byte) ([][]byte, []byte, error) {
	pi := &h.pages[p]
	var comp []byte
	if pages != nil {
		start := pi.off - h.pages[0].off
		comp = pages[start : start+pi.size]
	}
	return f.readPage(b, h.version, p, pi, comp, buf)
}

// readPage decodes page p of b, placed as pi says, from comp (nil: read
// from the file) into buf.
func (f *blockFiles) readPage(b *blockRef, version byte, p int, pi *pageInfo, comp, buf []byte) ([][]byte, []byte, error) {
	if comp == nil {
		var err error
		if comp, err = f.read(b, pi.off, pi.size); err != nil {
			return nil, buf, err
		}
	}
	events, buf, err := decodePage(comp, version, pi, buf)
	if err != nil {
		return nil, buf, pageDamaged(b, p, pi, err)
	}
	return events, buf, nil
}

// pageDamaged is the error for page p of b, placed as pi says.
func pageDamaged(b *blockRef, p int, pi *pageInfo, err error) error {
	return damaged(b, fmt.Errorf("page %d (seqs %d…%d): %w", p, pi.first, pi.first+int64(pi.n)-1, err))
}

// pagesOf reads the bytes of all of the block's pages.
func (f *blockFiles) pagesOf(b *blockRef, h *blockHeader) ([]byte, error) {
	return f.read(b, h.pages[0].off, b.size-h.pages[0].off)
}

// readBufs are a walk's read buffers, reused from one page and block to
// the next (and, for a Scan, from one chunk to the next), so that reading
// a long run of events makes no garbage per block: the bytes a walk hands
// to its fn are valid only during the call (audit.EventStore.Scan), so
// each page may be read and decoded over the one before. A readBufs is
// used by one walk at a time.
type readBufs struct {
	pages []byte     // a whole block's pages, as read
	jobs  []*pageJob // pages' buffers (search.go), free
	cand  []int      // the pages of a block the walk reads
}

// maxKeptRead is the largest buffer a readBufs keeps: one grown for a
// huge block or page is dropped after use, not held by the walk.
const maxKeptRead = 4 << 20

// keepRead returns buf for reuse, or nil when it is too big to keep.
func keepRead[T any](buf []T, size int) []T {
	if cap(buf)*size > maxKeptRead {
		return nil
	}
	return buf[:0]
}

// pagesInto is pagesOf into rb's block buffer.
func (f *blockFiles) pagesInto(b *blockRef, h *blockHeader, rb *readBufs) ([]byte, error) {
	pages, err := f.readInto(b, h.pages[0].off, b.size-h.pages[0].off, rb.pages)
	rb.pages = keepRead(pages, 1)
	return pages, err
}

// ids reads the block's id section.
func (f *blockFiles) ids(b *blockRef, h *blockHeader) (*idSection, error) {
	raw, err := f.read(b, int64(blockPrefix+h.hl), h.idsSize())
	if err != nil {
		return nil, err
	}
	x, err := decodeIDs(raw, h.version, h.n)
	if err != nil {
		return nil, damaged(b, err)
	}
	return x, nil
}

// findID returns the rows whose id hashes to want (xxh64): from version
// 3, those whose 32-bit hash is want's low 32 bits (a scan of that array
// alone); before, a binary search of the sorted 64-bit hashes in place.
// The id section's CRC is checked when tiers are built (ids), not on
// every lookup; a version 4 block's hash bits are read only when a row
// has the hash.
func (f *blockFiles) findID(b *blockRef, h *blockHeader, want uint64) ([]idHit, error) {
	base := int64(blockPrefix + h.hl)
	var rows []int // the rows, or (versions 1 and 2) the indexes in the sorted arrays
	var restLen uint32
	if h.version >= 3 {
		size := 4 * int64(h.n)
		if h.version >= 4 {
			size += 4 // and the length of the rest
		}
		hashes, err := f.read(b, base, size)
		if err != nil {
			return nil, err
		}
		for i := range h.n {
			if binary.LittleEndian.Uint32(hashes[4*i:]) == uint32(want) {
				rows = append(rows, i)
			}
		}
		if h.version >= 4 {
			restLen = binary.LittleEndian.Uint32(hashes[4*h.n:])
		}
	} else {
		hashes, err := f.read(b, base, 8*int64(h.n))
		if err != nil {
			return nil, err
		}
		at := func(i int) uint64 { return binary.LittleEndian.Uint64(hashes[8*i:]) }
		for i := sort.Search(h.n, func(i int) bool { return at(i) >= want }); i < h.n && at(i) == want; i++ {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var hits []idHit
	if h.version >= 4 {
		if int64(restLen) > b.size {
			return nil, damaged(b, fmt.Errorf("id section of %d more bytes", restLen))
		}
		rest, err := f.read(b, base+4*int64(h.n)+4, int64(restLen))
		if err != nil {
			return nil, err
		}
		flags, full, err := decodeRetry(rest, h.n)
		if err != nil {
			return nil, damaged(b, err)
		}
		for _, i := range rows {
			hit := idHit{row: uint16(i), v4: true, bits: flags[i]}
			if fh, ok := full[i]; ok {
				hit.full = &fh
			}
			hits = append(hits, hit)
		}
		return hits, nil
	}
	for _, i := range rows {
		if h.version >= 3 {
			ch, err := f.read(b, base+4*int64(h.n)+8*int64(i), 8)
			if err != nil {
				return nil, err
			}
			hits = append(hits, idHit{row: uint16(i), chash: binary.LittleEndian.Uint64(ch)})
			continue
		}
		rest, err := f.read(b, base+8*int64(h.n)+2*int64(i), 2)
		if err != nil {
			return nil, err
		}
		ch, err := f.read(b, base+10*int64(h.n)+8*int64(i), 8)
		if err != nil {
			return nil, err
		}
		row := binary.LittleEndian.Uint16(rest)
		if int(row) >= h.n {
			return nil, damaged(b, fmt.Errorf("id section names row %d of %d", row, h.n))
		}
		hits = append(hits, idHit{row: row, chash: binary.LittleEndian.Uint64(ch)})
	}
	return hits, nil
}

// damaged is the error for a block that fails its checks: loud, naming
// the seqs, never skipped.
func damaged(b *blockRef, err error) error {
	return &audit.Error{Code: audit.CodeInternal, Message: "internal error: a sealed block is damaged",
		Err: fmt.Errorf("logstore: block of seqs %d…%d (blocks/%s at %d): %w", b.first, b.first+b.n-1, blockFileName(b.file), b.off, err)}
}

func (f *blockFiles) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	for _, r := range f.files {
		err = errors.Join(err, r.Close())
	}
	if f.cur != nil {
		err = errors.Join(err, f.cur.Close())
	}
	return err
}

// findBlock returns the block holding seq (which must be sealed).
func findBlock(blocks []*blockRef, seq int64) *blockRef {
	i := sort.Search(len(blocks), func(i int) bool { return blocks[i].first+blocks[i].n > seq })
	return blocks[i]
}

// findPage returns the index of the page of h holding seq.
func findPage(h *blockHeader, seq int64) int {
	return sort.Search(len(h.pages), func(i int) bool { return h.pages[i].first+int64(h.pages[i].n) > seq })
}
