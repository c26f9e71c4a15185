// SPDX-License-Identifier: Apache-2.0

package verify_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/ledger"
	"github.com/trailaudit/trail/verify"
)

// reshaped writes an export like Trail writes one after pruning before p
// and redacting some events: the kept events (those with keep(seq)),
// pruned_before_seq, integrity.pruned (the compact range [0, p)) and the
// hashes that rebuild the root from p. leaves are the full tree's leaf
// hashes; events replace the exported bytes of some seqs.
func reshaped(x *verify.Export, leaves []verify.Hash, p int64, keep func(int64) bool, events map[int64][]byte, format string) []byte {
	node := func(n ledger.Node) verify.Hash {
		var b ledger.Builder
		for i := n.Start(); i < n.End(); i++ {
			b.AddLeaf(leaves[i])
		}
		return b.Root()
	}
	enc := func(hs []verify.Hash) string {
		var s []string
		for _, h := range hs {
			s = append(s, `"`+ledger.EncodeHash(h)+`"`)
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	var pruned, hashes []verify.Hash
	for _, n := range ledger.PrunedRange(p) {
		pruned = append(pruned, node(n))
	}
	var evs [][]byte
	next := p
	for _, e := range x.Events {
		if e.Seq < p || !keep(e.Seq) {
			continue
		}
		for _, n := range ledger.Cover(nil, next, e.Seq) {
			hashes = append(hashes, node(n))
		}
		hashes = append(hashes, leaves[e.Seq])
		d := e.Data
		if r, ok := events[e.Seq]; ok {
			d = r
		}
		evs = append(evs, d)
		next = e.Seq + 1
	}
	for _, n := range ledger.Cover(nil, next, x.Size) {
		hashes = append(hashes, node(n))
	}
	filter := ""
	if x.Filter != "" {
		filter = fmt.Sprintf(`,"filter":%q`, x.Filter)
	}
	integ := fmt.Sprintf(`"checkpoint":%q,"verifier_key":%q,"pruned":{"before_seq":%d,"hashes":%s},"hashes":%s`,
		x.Checkpoint, x.VerifierKey, p, enc(pruned), enc(hashes))
	if format == "ndjson" {
		var b bytes.Buffer
		for _, e := range evs {
			b.Write(e)
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, `{"integrity":{"format":"trail.export/v1","org":%q,"size":%d,"pruned_before_seq":%d,"count":%d%s,%s}}`+"\n",
			x.Org, x.Size, p, len(evs), filter, integ)
		return b.Bytes()
	}
	return fmt.Appendf(nil, `{"format":"trail.export/v1","org":%q,"size":%d,"pruned_before_seq":%d,"count":%d%s,"events":[%s],"integrity":{%s}}`,
		x.Org, x.Size, p, len(evs), filter, bytes.Join(evs, []byte(",")), integ)
}

// redact erases value from an event's bytes the way an erasure does.
func redact(data []byte, value, erasure string) []byte {
	leaf := ledger.LeafHash(data)
	r := bytes.ReplaceAll(data, []byte(value), []byte("[erased]"))
	r = ledger.AppendRedacted(r[:len(r)-1], leaf, "2026-12-06T18:00:00.000000Z", erasure)
	return append(r, '}')
}

func TestVerifyPrunedAndRedacted(t *testing.T) {
	l := newTestLog(t, t.TempDir())
	l.add("acme", 700, rand.New(rand.NewPCG(3, 3)))
	full, err := verify.ParseExport(l.export("acme", "json", ""))
	if err != nil {
		t.Fatal(err)
	}
	leaves := make([]verify.Hash, len(full.Events))
	for i, e := range full.Events {
		leaves[i] = ledger.LeafHash(e.Data)
	}
	keys := verify.Options{Keys: []string{l.vkey}}
	all := func(int64) bool { return true }
	for _, format := range []string{"json", "ndjson"} {
		for _, p := range []int64{0, 1, 255, 256, 301, full.Size - 1, full.Size} {
			data := reshaped(full, leaves, p, all, nil, format)
			res, err := parseVerify(data, keys)
			if err != nil {
				t.Fatalf("%s pruned before %d: %v", format, p, err)
			}
			if res.PrunedBefore != p || !res.Complete || int64(res.Events) != full.Size-p || len(res.Redacted) != 0 {
				t.Errorf("%s pruned before %d: %+v", format, p, res)
			}
		}
	}
	// A filtered export of a pruned log: the gaps are covered from P on.
	x := *full
	x.Filter = "type:repo.create"
	odd := func(s int64) bool { return s%3 == 1 }
	res, err := parseVerify(reshaped(&x, leaves, 300, odd, nil, "json"), keys)
	if err != nil || res.Complete || res.PrunedBefore != 300 {
		t.Fatalf("filtered pruned export: %v %+v", err, res)
	}

	// Redacted events verify by their redacted leaf hash, and are named.
	red := map[int64][]byte{
		400: redact(full.Events[400].Data, "alice", "er_1"),
		650: redact(full.Events[650].Data, "alice", "er_1"),
	}
	res, err = parseVerify(reshaped(full, leaves, 300, all, red, "json"), keys)
	if err != nil {
		t.Fatalf("redacted: %v", err)
	}
	if len(res.Redacted) != 2 || res.Redacted[0].Seq != 400 || res.Redacted[1].Seq != 650 || res.Redacted[0].Erasure != "er_1" || res.Redacted[0].ID != full.Events[400].ID() {
		t.Errorf("redacted: %+v", res.Redacted)
	}
	if bytes.Contains(red[400], []byte("alice")) {
		t.Fatalf("the redacted event still names alice: %s", red[400])
	}

	// Tamperings, each with what Verify must answer.
	wrongLeaf := redact(full.Events[400].Data, "alice", "er_1")
	copy(wrongLeaf[bytes.LastIndex(wrongLeaf, []byte(`"leaf_hash":"`))+13:], "AAAA")
	erasedNoMark := bytes.ReplaceAll(full.Events[400].Data, []byte("alice"), []byte("[erased]"))
	pruned300 := reshaped(full, leaves, 300, all, nil, "json")
	firstPruned := ledger.EncodeHash(func() verify.Hash { x, _ := verify.ParseExport(pruned300); return x.Pruned[0] }())
	for _, c := range []struct {
		name  string
		data  []byte
		check func(error) string
	}{
		{"redacted with another leaf hash", reshaped(full, leaves, 300, all, map[int64][]byte{400: wrongLeaf}, "json"), wantEvent(400, full.Events[400].ID())},
		{"erased without the redacted object", reshaped(full, leaves, 300, all, map[int64][]byte{400: erasedNoMark}, "json"), wantEvent(400, full.Events[400].ID())},
		{"a pruned hash altered", bytes.Replace(pruned300, []byte(firstPruned), []byte(ledger.EncodeHash(leaves[0])), 1), wantCheck("root")},
		{"a pruned hash dropped", bytes.Replace(pruned300, []byte(`"`+firstPruned+`",`), nil, 1), wantCheck("pruned")},
		{"pruned later than stated", bytes.Replace(pruned300, []byte(`"pruned":{"before_seq":300`), []byte(`"pruned":{"before_seq":301`), 1), wantMalformed},
		{"pruned_before_seq without the range", bytes.Replace(pruned300, []byte(`"pruned":{"before_seq":300,"hashes":`), []byte(`"other":{"x":0,"y":`), 1), wantMalformed},
		{"the first kept event missing", dropEvent(pruned300, full.Events[300].Data), wantCheck("missing")},
		{"a pruned event kept", bytes.Replace(pruned300, []byte(`"events":[`), append(append([]byte(`"events":[`), full.Events[299].Data...), ','), 1), wantEvent(299, "")},
		{"stated prune point moved back", bytes.Replace(pruned300, []byte(`"pruned_before_seq":300`), []byte(`"pruned_before_seq":299`), 1), wantMalformed},
	} {
		x, err := verify.ParseExport(c.data)
		if err == nil {
			_, err = verify.Verify(x, keys)
		}
		if msg := c.check(err); msg != "" {
			t.Errorf("%s: %s", c.name, msg)
		}
	}

	// --previous older than the pruning point: told to use a consistency proof.
	cp100, err := l.svc.CheckpointAt(t.Context(), "acme", 100)
	if err != nil {
		t.Fatal(err)
	}
	x2, _ := verify.ParseExport(pruned300)
	if _, err := verify.Verify(x2, verify.Options{Keys: keys.Keys, Previous: cp100.Note}); err == nil || !strings.Contains(err.Error(), "consistency") {
		t.Errorf("previous before the pruning point: %v", err)
	}
	cp400, _ := l.svc.CheckpointAt(t.Context(), "acme", 400)
	if res, err := verify.Verify(x2, verify.Options{Keys: keys.Keys, Previous: cp400.Note}); err != nil || res.PreviousSize != 400 {
		t.Errorf("previous after the pruning point: %v %+v", err, res)
	}
}

func wantMalformed(err error) string {
	var m *verify.MalformedError
	if !errors.As(err, &m) {
		return fmt.Sprintf("err = %v, want a MalformedError", err)
	}
	return ""
}

// dropEvent removes an event (not the last) from an export document.
func dropEvent(doc, ev []byte) []byte {
	return bytes.Replace(doc, append(append([]byte{}, ev...), ','), nil, 1)
}
