// SPDX-License-Identifier: Apache-2.0

package verify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/verify"
)

// syntheticExport writes a complete JSON export of n canonical events as
// Trail makes it, without a store (a store would take minutes to fill).
func syntheticExport(tb testing.TB, n int) []byte { return syntheticExportMeta(tb, n, nil) }

// syntheticExportMeta is syntheticExport with the given metadata.
func syntheticExportMeta(tb testing.TB, n int, meta map[string]any) []byte {
	signer, err := ledger.NewSigner(exampleKey)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"format":"trail.export/v1","org":"acme","exported_at":"2026-03-01T12:00:00.000000Z","size":` + strconv.Itoa(n) + `,"events":[`)
	e := &ledger.Edge{}
	leaves := make([]ledger.Hash, 0, n)
	ev := audit.Event{Org: "acme", Type: "org.change_role", Category: "membership",
		Actor:    audit.Actor{Type: "user", ID: "u-123456", Name: "alice"},
		Targets:  []audit.Target{{Type: "user", ID: "u-654321", Name: "bob"}},
		Client:   &audit.Client{IP: "81.2.69.0", IPPrefixLen: 24, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"},
		Location: &audit.Location{CountryCode: "GB", Country: "United Kingdom", Region: "England", City: "London"},
		Metadata: map[string]any{"old_role": "read", "new_role": "admin"},
	}
	if meta != nil {
		ev.Metadata = meta
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var data []byte
	for i := range n {
		ev.ID = fmt.Sprintf("0193a1b2-c3d4-7e5f-8a9b-%012d", i)
		ev.Seq = int64(i)
		ev.Description = fmt.Sprintf("alice changed bob's role from read to admin (change %d)", i)
		ev.OccurredAt = t0.Add(time.Duration(i) * time.Second)
		ev.ReceivedAt = ev.OccurredAt
		data = ev.AppendCanonical(data[:0])
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(data)
		h := ledger.LeafHash(data)
		leaves = append(leaves, h)
		e.Append(nil, h)
	}
	note, err := signer.Sign(ledger.Checkpoint{Origin: "trail.example/orgs/acme", Size: int64(n), Root: e.Root()})
	if err != nil {
		tb.Fatal(err)
	}
	buf.WriteString(`],"count":` + strconv.Itoa(n) + `,"integrity":{"checkpoint":` + strconv.Quote(note) + `,"verifier_key":"` + exampleVerifier + `","hashes":[`)
	for i, h := range leaves {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`"` + ledger.EncodeHash(h) + `"`)
	}
	buf.WriteString("]}}\n")
	return buf.Bytes()
}

// BenchmarkVerify measures ParseExport + Verify of a 1M-event export
// (set -benchtime=1x; the export is generated first, outside the clock).
func BenchmarkVerify(b *testing.B) {
	const n = 1_000_000
	data := syntheticExport(b, n)
	b.SetBytes(int64(len(data)))
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		x, err := verify.ParseExport(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := verify.Verify(x, verify.Options{Keys: []string{exampleVerifier}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
	// The machine may be shared: CPU time says what the work costs.
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestSyntheticExportVerifies(t *testing.T) {
	x, err := verify.ParseExport(syntheticExport(t, 1000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.Verify(x, verify.Options{Keys: []string{exampleVerifier}}); err != nil {
		t.Fatal(err)
	}
}

// TestParallelScan checks the parallel scanner on exports large enough to
// be split: tampering is still found in any segment, and events whose
// metadata looks like the start of an event (wrong guesses) still verify.
func TestParallelScan(t *testing.T) {
	decoy := []any{
		map[string]any{"id": "x", "org": "acme", "seq": json.Number("1")},
		map[string]any{"id": "y", "org": "acme", "seq": json.Number("2")},
	}
	for _, meta := range []map[string]any{nil, {"a": decoy}} {
		data := syntheticExportMeta(t, 12000, meta)
		if len(data) < 4<<20 {
			t.Fatalf("export of %d bytes is too small to be split", len(data))
		}
		res, err := parseVerify(data, verify.Options{Keys: []string{exampleVerifier}})
		if err != nil || res.Events != 12000 {
			t.Fatalf("meta %v: %v, %+v", meta != nil, err, res)
		}
		for _, at := range []int{5, 6001, 11998} {
			x, _ := verify.ParseExport(data)
			e := x.Events[at]
			bad := append([]byte{}, data...)
			i := int(e.Offset) + bytes.Index(e.Data, []byte("alice changed"))
			bad[i] = 'A'
			_, err := parseVerify(bad, verify.Options{Keys: []string{exampleVerifier}})
			var m *verify.MismatchError
			if !errors.As(err, &m) || m.Seq != int64(at) {
				t.Errorf("meta %v: flipped event %d: err = %v", meta != nil, at, err)
			}
		}
	}
}
