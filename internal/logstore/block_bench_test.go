// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"fmt"
	"slices"
	"testing"

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
