// SPDX-License-Identifier: Apache-2.0

package verify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trailaudit/trail/verify"
)

// A tampering changes an export and says what Verify must answer.
type tampering struct {
	name string
	// apply returns the tampered file and a check of the error, or nil
	// when this export offers no place for it.
	apply func(rng *rand.Rand, data []byte, x *verify.Export) ([]byte, func(error) string)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'
}

// wantEvent checks the error is a mismatch naming the event seq (and id).
func wantEvent(seq int64, id string) func(error) string {
	return func(err error) string {
		var m *verify.MismatchError
		if !errors.As(err, &m) {
			return fmt.Sprintf("err = %v, want a MismatchError naming seq %d", err, seq)
		}
		if m.Seq != seq || id != "" && m.ID != id {
			return fmt.Sprintf("err names seq %d id %q, want seq %d id %q (%v)", m.Seq, m.ID, seq, id, err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("seq %d", seq)) {
			return fmt.Sprintf("message %q does not name seq %d", err, seq)
		}
		return ""
	}
}

func wantCheck(check string) func(error) string {
	return func(err error) string {
		var m *verify.MismatchError
		if !errors.As(err, &m) || m.Check != check {
			return fmt.Sprintf("err = %v, want a %q mismatch", err, check)
		}
		return ""
	}
}

func wantAnyMismatch(err error) string {
	if !verify.IsMismatch(err) {
		return fmt.Sprintf("err = %v, want a mismatch", err)
	}
	return ""
}

func wantRejected(err error) string {
	if err == nil {
		return "the tampered export verified"
	}
	return ""
}

func splice(data []byte, from, to int, with []byte) []byte {
	out := append([]byte{}, data[:from]...)
	out = append(out, with...)
	return append(out, data[to:]...)
}

// sep is what separates events: a comma in a document, a newline in NDJSON.
func sep(x *verify.Export) byte {
	if x.Format == "ndjson" {
		return '\n'
	}
	return ','
}

func evEnd(x *verify.Export, i int) int { return int(x.Events[i].Offset) + len(x.Events[i].Data) }

var tamperings = []tampering{
	{"FlipByteInEvent", func(rng *rand.Rand, data []byte, x *verify.Export) ([]byte, func(error) string) {
		if len(x.Events) == 0 {
			return nil, nil
		}
		i := rng.IntN(len(x.Events))
		e := x.Events[i]
		// Past the seq, where a changed letter keeps the JSON valid.
		from := bytes.Index(e.Data, []byte(`,"type"`))
		for range 100 {
			p := from + rng.IntN(len(e.Data)-from)
			if c := e.Data[p]; isAlnum(c) {
				out := append([]byte{}, data...)
				n := c ^ 1
				if !isAlnum(n) {
					n = 'x'
					if c == 'x' {
						n = 'y'
					}
				}
				out[int(e.Offset)+p] = n
				return out, wantEvent(e.Seq, e.ID())
			}
		}
		return nil, nil
	}},
	{"FlipAnyByteOfEventsOrCheckpoint", func(rng *rand.Rand, data []byte, x *verify.Export) ([]byte, func(error) string) {
		if len(x.Events) == 0 {
			return nil, nil
		}
		i := rng.IntN(len(x.Events))
		e := x.Events[i]
		out := append([]byte{}, data...)
		out[int(e.Offset)+rng.IntN(len(e.Data))] ^= byte(1 + rng.IntN(255))
		return out, wantRejected
	}},
	{"DeleteEvent", func(rng *rand.Rand, data []byte, x *verify.Export) ([]byte, func(error) string) {
		if len(x.Events) < 2 {
			return nil, nil
		}
		i := rng.IntN(len(x.Events) - 1)
		e := x.Events[i]
		out := splice(data, int(e.Offset), int(x.Events[i+1].Offset), nil)
		if x.Filter == "" {
			return out, wantEvent(e.Seq, "")
		}
		return out, wantAnyMismatch
	}},
	{"SwapTwoEvents", func(rng *rand.Rand, data []byte, x *verify.Export) ([]byte, func(error) string) {
		if len(x.Events) < 2 {
			return nil, nil
		}
		i := rng.IntN(len(x.Events) - 1)
		j := i + 1 + rng.IntN(len(x.Events)-i-1)
		a, b := x.Events[i], x.Events[j]
		out := append([]byte{}, data[:a.Offset]...)
		out = append(out, b.Data...)
		out = append(out, data[evEnd(x, i):b.Offset]...)
		out = append(out, a.Data...)
		out = append(out, data[evEnd(x, j):]...)
		return out, func(err error) string {
			var m *verify.MismatchError
			if !errors.As(err, &m) || !strings.Contains(err.Error(), fmt.Sprintf("seq %d", a.Seq)) && !strings.Contains(err.Error(), fmt.Sprintf("seq %d", b.Seq)) {
				return fmt.Sprintf("err = %v, want a mismatch naming seq %d or %d", err, a.Seq, b.Seq)
			}
			return ""
		}
	}},
	{"InsertForgedEvent", func(rng *rand.Rand, data []byte, x *verify.Export) ([]byte, func(error) string) {
		if len(x.Events) == 0 {
			return nil, nil
		}
		i := rng.IntN(len(x.Events))
		e := x.Events[i]
		forged := bytes.Replace(e.Data, []byte(`"id":"`+e.ID()+`"`), []byte(`"id":"forged"`), 1)
		forged = bytes.Replace(forged, []byte(`"description":"`), []byte(`"description":"nothing happened; `), 1)
		return splice(data, int(e.Offset), int(e.Offset), append(forged, sep(x))), wantEvent(e.Seq, "forged")
	}},
	{"TruncateTheEnd", func(rng *rand.Rand, data []byte, x *verify.Export) ([]byte, func(error) string) {
		if len(x.Events) == 0 {
			return nil, nil
		}
		i := rng.IntN(len(x.Events))
		cut := int(x.Events[i].Offset) + rng.IntN(len(x.Events[i].Data))
		return data[:cut], func(err error) string {
			var m *verify.MalformedError
			if !errors.As(err, &m) || m.Event != i || m.Offset > int64(cut) {
				return fmt.Sprintf("err = %v, want a MalformedError in event #%d", err, i+1)
			}
			return ""
		}
	}},
	{"TruncateWholeEvents", func(rng *rand.Rand, data []byte, x *verify.Export) ([]byte, func(error) string) {
		if len(x.Events) < 2 || x.Filter != "" {
			return nil, nil
		}
		i := 1 + rng.IntN(len(x.Events)-1)
		// Keep events 0 … i-1 and a well-formed tail: the file looks whole.
		tail := data[evEnd(x, len(x.Events)-1):]
		out := append(append([]byte{}, data[:evEnd(x, i-1)]...), tail...)
		return out, wantEvent(x.Events[i].Seq, "")
	}},
	{"AlterCheckpoint", func(rng *rand.Rand, data []byte, x *verify.Export) ([]byte, func(error) string) {
		old, _ := json.Marshal(x.Checkpoint)
		lines := strings.SplitN(x.Checkpoint, "\n", 3)
		altered := lines[0] + "\n" + fmt.Sprint(x.Size+1) + "\n" + lines[2]
		neu, _ := json.Marshal(altered)
		return bytes.Replace(data, old, neu, 1), wantCheck("signature")
	}},
	{"AlterRootKeepSignature", func(rng *rand.Rand, data []byte, x *verify.Export) ([]byte, func(error) string) {
		old, _ := json.Marshal(x.Checkpoint)
		lines := strings.SplitN(x.Checkpoint, "\n", 4)
		root := []byte(lines[2])
		root[rng.IntN(40)] ^= 1
		if !isAlnum(root[0]) {
			return nil, nil
		}
		neu, _ := json.Marshal(lines[0] + "\n" + lines[1] + "\n" + string(root) + "\n" + lines[3])
		return bytes.Replace(data, old, neu, 1), wantRejected
	}},
}

// TestTampering applies every tampering to many random exports: Verify
// must reject each and name the place.
func TestTampering(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	l := newTestLog(t, t.TempDir())
	l.add("beta", 5, rng)
	other, _ := verify.ParseExport(l.export("beta", "json", ""))
	keys := verify.Options{Keys: []string{l.vkey}}
	applied := map[string]int{}
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	for round := range rounds {
		org := fmt.Sprintf("org%d", round)
		l.add(org, 1+rng.IntN(90), rng)
		formats := []string{"json", "ndjson"}
		filters := []string{"", "", "type:repo.create", "-type:repo.delete"}
		data := l.export(org, formats[rng.IntN(2)], filters[rng.IntN(len(filters))])
		x, err := verify.ParseExport(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verify.Verify(x, keys); err != nil {
			t.Fatalf("round %d: the untampered export: %v", round, err)
		}
		for _, tm := range tamperings {
			for try := range 5 {
				out, check := tm.apply(rng, data, x)
				if out == nil {
					continue
				}
				applied[tm.name]++
				_, err := parseVerify(out, keys)
				if msg := check(err); msg != "" {
					t.Errorf("round %d (%s, filter %q), %s #%d: %s", round, x.Format, x.Filter, tm.name, try, msg)
				}
			}
		}
		// Another org's checkpoint in this export.
		old, _ := json.Marshal(x.Checkpoint)
		neu, _ := json.Marshal(other.Checkpoint)
		_, err = parseVerify(bytes.Replace(data, old, neu, 1), keys)
		if msg := wantCheck("origin")(err); msg != "" {
			t.Errorf("round %d: another org's checkpoint: %s", round, msg)
		}
	}
	for _, tm := range tamperings {
		if applied[tm.name] < rounds {
			t.Errorf("%s was applied %d times in %d rounds", tm.name, applied[tm.name], rounds)
		}
	}
	t.Logf("tamperings applied: %v", applied)
}
