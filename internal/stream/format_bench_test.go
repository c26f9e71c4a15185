// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/trailaudit/trail/internal/stream"
)

// BenchmarkFormat renders real stored events (one of every catalog type,
// in turn) in each format.
func BenchmarkFormat(b *testing.B) {
	evs := everyType(b)
	for _, name := range []string{"json", "cef", "ocsf"} {
		b.Run(name, func(b *testing.B) {
			f, _ := stream.LookupFormat(name)
			var buf []byte
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				var err error
				if buf, err = f(buf[:0], evs[i%len(evs)].ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSyslogDeliver sends batches of 500 pre-rendered CEF events to a
// loopback TCP reader that discards them: the syslog sink's own cost
// (framing and writing) per event.
func BenchmarkSyslogDeliver(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	sink := openSyslog(b, map[string]any{"address": l.Addr().String()})
	evs := everyType(b)
	var batch []storedEv
	for len(batch) < 500 {
		batch = append(batch, evs...)
	}
	bt := renderedBatch(b, "cef", batch[:500])
	b.ReportAllocs()
	for b.Loop() {
		if err := sink.Deliver(context.Background(), bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*500), "ns/event")
}
