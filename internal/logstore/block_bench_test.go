// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/trailaudit/trail/internal/audit"
)

// BenchmarkPageCompression compresses the fixture's demo events
// (testdata/v1store) in pages of 64 and 128 at two zstd levels, and
// reports the compressed bytes per event and the encoding rate: what a
// page size and level cost the sealer and save on disk.
//
//	go test -run '^$' -bench PageCompression ./internal/logstore/
func BenchmarkPageCompression(b *testing.B) {
	s, err := Open(copyFixture(b, "testdata/v1store"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var events [][]byte
	err = s.Scan(context.Background(), "bench", 0, 1<<62, audit.Filter{}, func(_ int64, data []byte) error {
		events = append(events, slices.Clone(data))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression} {
		for _, pe := range []int{64, 128} {
			b.Run(fmt.Sprintf("%v/page-%d", level, pe), func(b *testing.B) {
				enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(1))
				var raw, out []byte
				total, in := 0, 0
				for range b.N {
					total, in = 0, 0
					for st := 0; st < len(events); st += pe {
						raw = raw[:0]
						for _, e := range events[st:min(st+pe, len(events))] {
							raw = appendBytes(raw, e)
						}
						out = enc.EncodeAll(raw, out[:0])
						total += len(out)
						in += len(raw)
					}
				}
				b.ReportMetric(float64(total)/float64(len(events)), "B/event")
				b.ReportMetric(float64(in)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
			})
		}
	}
}

// BenchmarkPageCodecs compresses the events of the newest 40 blocks of a
// store written by trail bench (TRAIL_QUERY_DIR, a copy; its org
// TRAIL_QUERY_ORG, default "bench") in pages of 32, 64, 96 and 128 events
// with each page encoder (page.go): the page dictionary at SpeedDefault
// and at SpeedBetterCompression, none at SpeedBetterCompression; it
// reports bytes per event and the CPU of the thread per event to compress
// and to decompress (the decoder takes frames without a dictionary on its
// assembly path):
//
//	TRAIL_QUERY_DIR=/tmp/copy go test -run '^$' -bench PageCodecs -benchtime 1x -v ./internal/logstore/
func BenchmarkPageCodecs(b *testing.B) {
	dir := os.Getenv("TRAIL_QUERY_DIR")
	if dir == "" {
		b.Skip("TRAIL_QUERY_DIR (a copy of a store written by trail bench) is not set")
	}
	s, err := Open(dir, Options{ManualSeal: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	v := s.view(s.org(cmp.Or(os.Getenv("TRAIL_QUERY_ORG"), "bench")))
	var events [][]byte
	for _, blk := range v.blocks[max(0, len(v.blocks)-40):] {
		h, err := s.blocks.peekHeader(blk)
		if err != nil {
			b.Fatal(err)
		}
		for p := range h.pages {
			evs, err := s.blocks.page(blk, h, p)
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range evs {
				events = append(events, slices.Clone(e))
			}
		}
	}
	s.unpin(&v)
	for _, pe := range []int{32, 64, 96, 128} {
		var pages [][]byte
		for st := 0; st < len(events); st += pe {
			var raw []byte
			for _, e := range events[st:min(st+pe, len(events))] {
				raw = appendBytes(raw, e)
			}
			pages = append(pages, raw)
		}
		for _, c := range []struct {
			name string
			enc  *zstd.Encoder
		}{{"dict-default", zpageDefault}, {"plain-better", zpagePlain}, {"dict-better", zpage}} {
			b.Run(fmt.Sprintf("%s/page-%d", c.name, pe), func(b *testing.B) {
				runtime.LockOSThread() // threadCPU is this goroutine's
				defer runtime.UnlockOSThread()
				var comp [][]byte
				var enc, dec time.Duration
				size := 0
				buf := make([]byte, 0, 256<<10)
				for range b.N {
					comp, size = comp[:0], 0
					t0 := threadCPU()
					for _, raw := range pages {
						z := c.enc.EncodeAll(raw, nil)
						comp = append(comp, z)
						size += len(z)
					}
					t1 := threadCPU()
					for _, z := range comp {
						if buf, err = zdec.DecodeAll(z, buf[:0]); err != nil {
							b.Fatal(err)
						}
					}
					enc, dec = enc+t1-t0, dec+threadCPU()-t1
				}
				n := float64(len(events) * b.N)
				b.ReportMetric(float64(size)/float64(len(events)), "B/event")
				b.ReportMetric(float64(enc.Nanoseconds())/n/1000, "enc-µs/event")
				b.ReportMetric(float64(dec.Nanoseconds())/n/1000, "dec-µs/event")
			})
		}
	}
}
