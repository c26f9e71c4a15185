// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/geo/geotest"
)

// Every test of the package that appends checks that the doc Append makes
// from an event's decoded fields is the doc of its canonical bytes
// (pendingDoc against scanDoc): the conformance suite, the demo history,
// the tricky events below.
func init() { checkDocs = true }

// TestPendingDocIsScanDoc appends, through the real ingest path with
// geolocation, the demo history, events with every escape and non-ASCII
// text, and an export recorded with a filter that is not valid UTF-8 (its
// doc is read from the bytes); Append fails if a doc differs. After a
// reopen the tail's docs are read from the log: they must be the docs
// Append kept.
func TestPendingDocIsScanDoc(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{ManualSeal: true})
	if err != nil {
		t.Fatal(err)
	}
	locator, err := geo.Open(geotest.WriteDB(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer locator.Close()
	svc := audit.NewService(audit.Config{Store: s, Locator: locator, Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	for batch := range demo.Batches(demo.Options{Org: "acme", Events: 2000, Seed: 9}) {
		if _, err := svc.Ingest(ctx, "acme", batch); err != nil {
			t.Fatal(err)
		}
	}
	tricky := []json.RawMessage{
		json.RawMessage(`{"type":"repo.create","actor":{"type":"user","id":"U-Ünï","name":"ÉCOLE Zürich"},` +
			`"targets":[{"type":"repo","id":"r\"1\\x","name":"acme/Naïve-🦙"}],"description":"a <b> & \"c\" \\ d\te\u2028f – ĞÜŞ",` +
			`"client":{"ip":"81.2.69.160","user_agent":"curl/8 «x»"},"metadata":{"z":["X",-0,null,true,{"b":"Two Words","a\"q":"ONE"}],"empty":{}}}`),
		json.RawMessage(`{"type":"repo.create","actor":{"type":"user","id":"u1","name":""},"targets":[{"type":"repo","id":"r2","name":"acme/m"}]}`),
	}
	if _, err := svc.Ingest(ctx, "acme", tricky); err != nil {
		t.Fatal(err)
	}
	x, err := svc.StartExport(ctx, "acme", audit.ExportRequest{Query: "bad \xff utf-8", Actor: audit.Actor{Type: "user", ID: "u\xfe", Name: "n"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]*doc{}
	o := s.org("acme")
	v := o.view()
	for i, e := range v.tail {
		want[v.sealed+int64(i)] = e.doc.Load()
	}
	if len(want) != int(x.Size)+1 {
		t.Fatalf("%d docs in the tail, want %d", len(want), x.Size+1)
	}
	svc.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, Options{ManualSeal: true}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v = s.org("acme").view()
	for i, e := range v.tail {
		got, err := e.getDoc()
		if err != nil {
			t.Fatal(err)
		}
		if seq := v.sealed + int64(i); !reflect.DeepEqual(got, want[seq]) {
			t.Fatalf("seq %d: after reopen %+v, appended %+v", seq, got, want[seq])
		}
	}
}

// TestASCIIWords: the ASCII path of words splits and lower-cases exactly as
// the Unicode definition does, on every ASCII byte and random text.
func TestASCIIWords(t *testing.T) {
	ref := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r)
		})
	}
	var all []byte
	for c := range utf8.RuneSelf {
		all = append(all, byte(c), 'x', byte(c))
	}
	cases := []string{"", " ", "a", "A", "--", "Hello, World! 42x_y-Z", "acme/bert-NER.v2 user@example.com", string(all)}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(utf8.RuneSelf))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		got, ok := asciiWords(s)
		if want := ref(s); !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("words(%q) = %q, %v; want %q", s, got, ok, want)
		}
	}
	if _, ok := asciiWords("café"); ok {
		t.Error("asciiWords took non-ASCII text")
	}
}

// TestDocMakerOwnsMemory: a doc made from a batch's memory (as Append
// and PrepareBatch make it) keeps none of it: every string stays the same
// when the memory it came from is overwritten (the tail's docs must not
// keep a batch's arena alive, nor change when it is reused).
func TestDocMakerOwnsMemory(t *testing.T) {
	var m docMaker
	for _, s := range []string{"", "  ", "Hello, World 42", "already lower case", "Zürich ÉCOLE naïve 🦙", "a-b_c.D"} {
		src := []byte("type-" + s + "|cat|GB|actor|name|target|tname|" + s)
		text := unsafe.String(unsafe.SliceData(src), len(src))
		fields := strings.Split(text, "|")
		ev := &audit.Event{Type: fields[0], Category: fields[1], Location: &audit.Location{CountryCode: fields[2]},
			Actor: audit.Actor{ID: fields[3], Name: fields[4]}, Targets: []audit.Target{{ID: fields[5], Name: fields[6]}}}
		ev.Description = fields[7]
		d := m.doc(ev)
		want := &doc{typ: strings.Clone(fields[0]), category: "cat", country: "GB",
			actor: []string{"actor", "name"}, targets: []string{"target", "tname"}, words: words(strings.Clone(ev.SearchText()))}
		for i := range src {
			src[i] = '#' // the doc must not change with the bytes it came from
		}
		if !reflect.DeepEqual(d, want) {
			t.Errorf("doc of %q = %+v, want %+v", s, d, want)
		}
	}
}
