// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	_ "embed"

	"github.com/klauspost/compress/zstd"
)

// Pages are zstd frames (github.com/klauspost/compress/zstd), each
// compressed on its own so that reading one event decodes one page. The
// frames carry no checksum of their own: the block header holds a
// CRC-32C of each. The sealer compresses at SpeedBetterCompression: pages
// 6–9% smaller than SpeedDefault at about the same encoding rate
// (BenchmarkPageCompression); decoding does not depend on the level.
//
// Format 3 pages are compressed with pagedict1.zdict (zpage), a fixed zstd
// dictionary of what every deployment's events share (TestWritePageDict
// tells how it was made; TestPageDictUnchanged keeps its bytes): each
// frame names it by its dictionary ID, and the decoder knows it. The
// block's other frames (word dictionary, columns) and pages of format 1
// and 2 use none.
var (
	zenc, _  = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(sealWorkers))
	zpage, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(sealWorkers),
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
