// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strconv"

	"github.com/klauspost/compress/zstd"
)

// Pages are zstd frames (github.com/klauspost/compress/zstd), each
// compressed on its own so that reading one event decodes one page. The
// frames carry no checksum of their own: the block header holds a
// CRC-32C of each. The sealer compresses format 3 and 4 pages with the
// store's page level's encoder (PageLevel, seal.go; pageEncoder);
// decoding does not depend on the level.
//
// Format 3 pages may be compressed with pagedict1.zdict, a fixed zstd
// dictionary of what every deployment's events share (TestWritePageDict
// tells how it was made; TestPageDictUnchanged keeps its bytes): such a
// frame names it by its dictionary ID, and the decoder knows it. Pages
// compressed without it name none; one block may hold both kinds, and
// every binary reading format 3 decodes both. The block's other frames
// (word dictionary, columns) and pages of format 1 and 2 use none.
//
// The dictionary makes small pages much smaller but every page it is
// used for slower to decode: the zstd package decodes frames with a
// dictionary without its assembly sequence decoder. BenchmarkPageCodecs
// on the newest 40 blocks of a 10M-event bench store (128-event pages,
// ~89 KB of content each; one thread's CPU, loaded machine): with the
// dictionary at SpeedDefault 81.3 bytes per event, 2.6 µs per event to
// compress and 0.71 to decompress; without it at SpeedBetterCompression
// (lower encoder memory) 78.0 bytes, 4.7 µs and 0.45 µs; with it at
// SpeedBetterCompression 73.3 bytes, 6.0 µs and 0.68 µs. At 64 events per
// page the two at SpeedDefault and SpeedBetterCompression are the same
// size, at 32 the dictionary saves 8.6 bytes per event. So the default
// level compresses pages of plainFrom bytes or more without it (decoding
// is most of what searches and exports spend) and smaller ones with it.
var (
	// zenc compresses the word dictionary and the columns at SpeedDefault:
	// SpeedBetterCompression's fixed cost per frame (its tables) was most of
	// a small block's, and the frames came out the same size (92.89 vs
	// 92.90 block bytes per event, BenchmarkSeal).
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(sealWorkers))
	// zpage: SpeedBetterCompression with the page dictionary
	// (PageLevelBetter).
	zpage, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(sealWorkers),
		zstd.WithLowerEncoderMem(true), zstd.WithEncoderDict(pageDict))
	// zpageDefault: SpeedDefault with the page dictionary (small pages at
	// PageLevelDefault).
	zpageDefault, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(sealWorkers),
		zstd.WithEncoderDict(pageDict))
	// zpagePlain: SpeedBetterCompression without a dictionary (large pages
	// at PageLevelDefault).
	zpagePlain, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(sealWorkers),
		zstd.WithLowerEncoderMem(true))
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

// pageEncoder compresses a block's pages: those of plainFrom bytes of
// content or more with large (if set), the others with small.
type pageEncoder struct {
	small, large *zstd.Encoder
}

// plainFrom is the content size from which the default page level
// compresses a page without the page dictionary (~70 events of the
// bench's mix; a full 128-event page holds ~89 KB).
const plainFrom = 48 << 10

// encode appends page content raw, compressed, to dst.
func (e pageEncoder) encode(raw, dst []byte) []byte {
	if e.large != nil && len(raw) >= plainFrom {
		return e.large.EncodeAll(raw, dst)
	}
	return e.small.EncodeAll(raw, dst)
}

// pageContent checks page p's CRC and decompresses it into buf: a
// version 3 page's content holds each event without its seq's digits
// (splitPage gives their places), an older page's its events as they are.
func pageContent(comp []byte, p *pageInfo, buf []byte) ([]byte, error) {
	if err := p.checkCRC(comp); err != nil {
		return buf, err
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
