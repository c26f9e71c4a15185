// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	_ "embed"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"

	"github.com/klauspost/compress/zstd"
)

// Pages are zstd frames (github.com/klauspost/compress/zstd), each
// compressed on its own so that reading one event decodes one page. The
// frames carry no checksum of their own: the block header holds a
// CRC-32C of each. The sealer compresses format 3 and 4 pages at the
// store's page level (PageLevel, seal.go: SpeedDefault unless told
// SpeedBetterCompression); decoding does not depend on the level.
//
// Format 3 pages are compressed with pagedict1.zdict (zpage), a fixed zstd
// dictionary of what every deployment's events share (TestWritePageDict
// tells how it was made; TestPageDictUnchanged keeps its bytes): each
// frame names it by its dictionary ID, and the decoder knows it. The
// block's other frames (word dictionary, columns) and pages of format 1
// and 2 use none.
var (
	// zenc compresses the word dictionary and the columns at SpeedDefault:
	// SpeedBetterCompression's fixed cost per frame (its tables) was most of
	// a small block's, and the frames came out the same size (92.89 vs
	// 92.90 block bytes per event, BenchmarkSeal).
	zenc, _  = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(sealWorkers))
	zpage, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(sealWorkers),
		zstd.WithEncoderDict(pageDict))
	// zpageDefault is zpage at zstd.SpeedDefault (PageLevelDefault).
	zpageDefault, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(sealWorkers),
		zstd.WithEncoderDict(pageDict))
	zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(64<<20), zstd.WithDecoderDicts(pageDict))
)

// pageDict is the dictionary of format 3 pages.
//
//go:embed pagedict1.zdict
var pageDict []byte

// PageDicts returns the zstd dictionaries the pages of sealed blocks may
// be compressed with (format 3 on), for tools and tests that look inside
// block files: pass them to zstd.WithDecoderDicts.
func PageDicts() [][]byte { return [][]byte{pageDict} }

// pageDictID is the zstd dictionary ID of pagedict1.zdict.
const pageDictID = 0x54524c01

// pageContent checks page p's CRC and decompresses it into buf: a
// version 3 page's content holds each event without its seq's digits
// (splitPage gives their places), an older page's its events as they are.
func pageContent(comp []byte, version byte, p *pageInfo, buf []byte) ([]byte, error) {
	if crc32.Checksum(comp, castagnoli) != p.crc {
		return buf, fmt.Errorf("page CRC mismatch")
	}
	raw, err := zdec.DecodeAll(comp, buf[:0])
	if err != nil {
		return raw, fmt.Errorf("page does not decompress: %w", err)
	}
	return raw, nil
}

// splitPage splits a page's content (pageContent) into its events,
// appended to events, and for version 3 appends to at the place of each
// event's seq digits (appendWithSeq); at is nil for older pages.
func splitPage(content []byte, version byte, p *pageInfo, events [][]byte, at []int) ([][]byte, []int, error) {
	r := reader{b: content}
	events = slices.Grow(events[:0], p.n)
	if version >= 3 {
		at = slices.Grow(at[:0], p.n)
	} else {
		at = nil
	}
	for len(r.b) > 0 && r.err == nil {
		e := r.bytes()
		events = append(events, e)
		if version >= 3 && r.err == nil {
			i, ok := seqPlace(e)
			if !ok {
				return events, at, fmt.Errorf("an event of the page has no place for its seq")
			}
			at = append(at, i)
		}
	}
	if r.err == nil && len(events) != p.n {
		r.err = fmt.Errorf("page holds %d events, its header says %d", len(events), p.n)
	}
	return events, at, r.err
}

// seqPlace is where the digits of its seq go in an event of a version 3
// page: after the first `,"seq":`, where no digit follows.
func seqPlace(e []byte) (int, bool) {
	at := bytes.Index(e, seqKey) + len(seqKey)
	if at < len(seqKey) || at >= len(e) || isDigit(e[at]) {
		return 0, false
	}
	return at, true
}

// appendWithSeq appends an event of a version 3 page with the digits of
// its seq put back at at (seqPlace).
func appendWithSeq(dst, e []byte, at int, seq int64) []byte {
	dst = append(dst, e[:at]...)
	dst = strconv.AppendInt(dst, seq, 10)
	return append(dst, e[at:]...)
}
