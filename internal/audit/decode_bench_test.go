// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"syscall"
	"testing"
	"time"
)

// benchBody is one request of 500 events of the demo's mix.
func benchBody(b *testing.B) []byte {
	body := envelopeOf(demoEvents(500))
	b.Logf("500 events, %d bytes of JSON (%d per event)", len(body), len(body)/500)
	return body
}

// benchDecode decodes the same batch b.N times, both ways alike.
func benchDecode(b *testing.B, reference bool) {
	s := refService(b)
	body := benchBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		if _, err := s.DecodeBody("acme", body, reference); err != nil {
			b.Fatal(err)
		}
	}
	events := float64(b.N * 500)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
	// On a loaded machine wall time says little: the process's CPU time
	// (all threads, the collector's too) is what an event costs.
	b.ReportMetric(float64((cpuTime(b)-cpu).Nanoseconds())/events, "cpu-ns/event")
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecodeReference is the path before the fast one: encoding/json
// into maps, validation, canonical encoding (issue 9's baseline).
func BenchmarkDecodeReference(b *testing.B) { benchDecode(b, true) }

// BenchmarkDecode is the ingest path: body to validated, enriched,
// canonical events, as Ingest decodes before the store.
func BenchmarkDecode(b *testing.B) { benchDecode(b, false) }
