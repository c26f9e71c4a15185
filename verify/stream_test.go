// SPDX-License-Identifier: Apache-2.0

package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/verify"
)

// streamObject renders org's events from … to-1 as the s3 kind writes an
// object, with the checkpoint of size cp (none when cp < 0).
func (l *testLog) streamObject(org string, from, to, cp int64) []byte {
	l.t.Helper()
	var buf bytes.Buffer
	err := l.store.Scan(context.Background(), org, from, to, audit.Filter{}, func(_ int64, data []byte) error {
		buf.Write(data)
		buf.WriteByte('\n')
		return nil
	})
	if err != nil {
		l.t.Fatal(err)
	}
	if cp >= 0 {
		c, err := l.svc.CheckpointAt(context.Background(), org, cp)
		if err != nil {
			l.t.Fatal(err)
		}
		line, _ := json.Marshal(map[string]string{"checkpoint": c.Note})
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func parseObjects(t *testing.T, datas ...[]byte) []*verify.StreamObject {
	t.Helper()
	var objs []*verify.StreamObject
	for i, d := range datas {
		o, err := verify.ParseStreamObject(fmt.Sprintf("obj%d.ndjson", i), d)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	return objs
}

func TestVerifyStream(t *testing.T) {
	l := newTestLog(t, t.TempDir())
	l.add("acme", 100, rand.New(rand.NewPCG(2, 2)))
	l.add("other", 5, rand.New(rand.NewPCG(3, 3)))
	keys := verify.Options{Keys: []string{l.vkey}}
	a, b, c := l.streamObject("acme", 0, 40, 40), l.streamObject("acme", 40, 100, 100), l.streamObject("acme", 30, 70, 70)

	// Complete, in any order, with an overlapping redelivery.
	res, err := verify.VerifyStream(parseObjects(t, b, c, a), keys)
	if err != nil || !res.Complete || res.Size != 100 || res.Duplicates != 40 || res.Checkpoints != 3 || res.Beyond != 0 {
		t.Fatalf("complete objects: %v, %+v %+v", err, res, res.Result)
	}

	// Without a key: refused, naming where the key comes from.
	if _, err := verify.VerifyStream(parseObjects(t, a), verify.Options{}); !verify.IsMalformed(err) || !strings.Contains(err.Error(), "verifier key") {
		t.Errorf("no key: %v", err)
	}

	// Gaps, each listed; the events before the first are proven.
	res, err = verify.VerifyStream(parseObjects(t, l.streamObject("acme", 0, 10, 10), l.streamObject("acme", 12, 20, -1), l.streamObject("acme", 25, 50, 60)), keys)
	var m *verify.MismatchError
	if !errors.As(err, &m) || m.Check != "missing" || m.Seq != 10 || fmt.Sprint(res.Missing) != "[10 … 11 20 … 24 50 … 59]" || res.MissingCount() != 17 {
		t.Errorf("gaps: %v, missing %v", err, res.Missing)
	}
	if res.Prefix == nil || res.Prefix.Size != 10 || !res.Prefix.Complete {
		t.Errorf("gaps: prefix %+v, want the checkpoint of size 10 proven", res.Prefix)
	}

	// Events after the newest checkpoint: present, not proven, no error.
	res, err = verify.VerifyStream(parseObjects(t, l.streamObject("acme", 0, 30, 20)), keys)
	if err != nil || res.Beyond != 10 || res.Size != 20 {
		t.Errorf("events beyond the checkpoint: %v, %+v", err, res)
	}

	// No checkpoint at all.
	if _, err := verify.VerifyStream(parseObjects(t, l.streamObject("acme", 0, 30, -1)), keys); !verify.IsMalformed(err) {
		t.Errorf("no checkpoint: %v, want malformed", err)
	}

	// Another org's checkpoint: the origins differ.
	if _, err := verify.VerifyStream(parseObjects(t, a, l.streamObject("other", 0, 0, 5)), keys); !errors.As(err, &m) || m.Check != "origin" {
		t.Errorf("two logs' checkpoints: %v, want an origin mismatch", err)
	}

	// A checkpoint line moved onto another log's events: the root differs.
	other := l.streamObject("other", 0, 5, 5)
	cpLine := a[bytes.LastIndex(a[:len(a)-1], []byte("\n"))+1:]
	forged := append(bytes.Clone(other[:bytes.LastIndex(other[:len(other)-1], []byte("\n"))+1]), cpLine...)
	if _, err := verify.VerifyStream(parseObjects(t, forged), keys); !verify.IsMismatch(err) {
		t.Errorf("another org's events under acme's checkpoint: %v, want a mismatch", err)
	}

	// Two different copies of one seq.
	altered := bytes.Replace(c, []byte(`"n":"45"`), []byte(`"n":"46"`), 1)
	if bytes.Equal(altered, c) {
		t.Fatal("the edit changed nothing")
	}
	if _, err := verify.VerifyStream(parseObjects(t, a, b, altered), keys); !errors.As(err, &m) || m.Seq != 45 || !strings.Contains(err.Error(), "obj1.ndjson and obj2.ndjson") {
		t.Errorf("two copies of seq 45 that differ: %v", err)
	}

	// An older checkpoint that does not match the events (altered event
	// covered only by it is caught even though the newest also covers it).
	if _, err := verify.VerifyStream(parseObjects(t, bytes.Replace(a, []byte(`"n":"3"`), []byte(`"n":"4"`), 1), b), keys); !errors.As(err, &m) || m.Check != "root" {
		t.Errorf("an altered event: %v, want a root mismatch", err)
	}
}

func TestParseStreamObject(t *testing.T) {
	ev := `{"id":"e1","org":"acme","seq":0,"type":"x"}`
	for _, c := range []struct{ name, data, want string }{
		{"after checkpoint", ev + "\n" + `{"checkpoint":"x"}` + "\n" + ev + "\n", "follows the checkpoint"},
		{"bad checkpoint", `{"checkpoint":1}` + "\n", "checkpoint line"},
		{"not an event", `{"hello":"world"}` + "\n", "line 1 is not a Trail event"},
		{"cef", "CEF:0|Trail|...\n", "format json"},
	} {
		if _, err := verify.ParseStreamObject("o.ndjson", []byte(c.data)); !verify.IsMalformed(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want malformed mentioning %q", c.name, err, c.want)
		}
	}
	o, err := verify.ParseStreamObject("o.ndjson", []byte(ev+"\r\n\n"+`{"checkpoint":"note"}`))
	if err != nil || len(o.Events) != 1 || o.Checkpoint != "note" || string(o.Events[0].Data) != ev {
		t.Errorf("CRLF, blank line, no final newline: %v %+v", err, o)
	}
}
