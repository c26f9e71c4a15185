// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trailaudit/trail/internal/stream"
)

// parseCEF is a strict CEF:0 parser written from the CEF implementation
// standard, independent of the format's code: seven header fields where
// only \\ and \| are escapes, then key=value pairs where keys are
// [A-Za-z0-9_] and values end before the next " key=", with \\, \=, \n
// and \r as escapes. It refuses anything else (an unescaped = in a value,
// a stray backslash, a line break).
func parseCEF(line string) (header []string, ext map[string]string, err error) {
	if strings.ContainsAny(line, "\r\n") {
		return nil, nil, errors.New("raw line break")
	}
	if !strings.HasPrefix(line, "CEF:") {
		return nil, nil, errors.New("no CEF: prefix")
	}
	rest := line[len("CEF:"):]
	for len(header) < 7 {
		var f strings.Builder
		i := 0
		for ; i < len(rest) && rest[i] != '|'; i++ {
			if rest[i] == '\\' {
				if i+1 >= len(rest) || (rest[i+1] != '\\' && rest[i+1] != '|') {
					return nil, nil, fmt.Errorf("header field %d: bad escape", len(header))
				}
				i++
			}
			f.WriteByte(rest[i])
		}
		if i == len(rest) {
			return nil, nil, fmt.Errorf("header has %d fields, want 7", len(header)+1)
		}
		header = append(header, f.String())
		rest = rest[i+1:]
	}
	if header[0] != "0" {
		return nil, nil, fmt.Errorf("version %q, want 0", header[0])
	}
	ext = map[string]string{}
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return nil, nil, fmt.Errorf("extension %q: no key=", rest)
		}
		key := rest[:eq]
		for _, c := range key {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return nil, nil, fmt.Errorf("key %q", key)
			}
		}
		rest = rest[eq+1:]
		var v strings.Builder
		i := 0
		for ; i < len(rest); i++ {
			c := rest[i]
			if c == ' ' && nextIsKey(rest[i+1:]) {
				break
			}
			switch c {
			case '=':
				return nil, nil, fmt.Errorf("value of %s: unescaped =", key)
			case '\\':
				if i+1 >= len(rest) {
					return nil, nil, fmt.Errorf("value of %s: trailing backslash", key)
				}
				i++
				switch rest[i] {
				case '\\', '=':
					v.WriteByte(rest[i])
				case 'n':
					v.WriteByte('\n')
				case 'r':
					v.WriteByte('\r')
				default:
					return nil, nil, fmt.Errorf("value of %s: bad escape \\%c", key, rest[i])
				}
				continue
			}
			v.WriteByte(c)
		}
		if _, dup := ext[key]; dup {
			return nil, nil, fmt.Errorf("key %s twice", key)
		}
		ext[key] = v.String()
		rest = strings.TrimPrefix(rest[i:], " ")
	}
	return header, ext, nil
}

// nextIsKey reports whether s starts with key=.
func nextIsKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			return i > 0
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return false
}

// TestCEFEveryTypeParses renders every catalog type and the hard events and
// parses each line strictly: header and extension hold the stored values.
func TestCEFEveryTypeParses(t *testing.T) {
	f, _ := stream.LookupFormat("cef")
	for _, s := range append(everyType(t), hardOnes(t)...) {
		out, err := f(nil, s.ev)
		if err != nil {
			t.Fatal(err)
		}
		h, ext, err := parseCEF(string(out))
		if err != nil {
			t.Fatalf("%s: %v\n%s", s.doc.Type, err, out)
		}
		want := []string{"0", "Trail", "Trail", stream.ProductVersion, s.doc.Type, s.doc.Description}
		if !reflect.DeepEqual(h[:6], want) || !strings.Contains(" 3 5 7 ", " "+h[6]+" ") {
			t.Errorf("%s: header %q, want %q and severity 3, 5 or 7", s.doc.Type, h, want)
		}
		w := wantExtensions(s)
		if !reflect.DeepEqual(ext, w) {
			t.Errorf("%s: extension\n got %q\nwant %q", s.doc.Type, ext, w)
		}
	}
}

// TestCEFEscapes renders a stored event whose values hold every character
// CEF escapes, including line breaks, which the ingest path refuses today
// but a platform catalog or a future field could carry.
func TestCEFEscapes(t *testing.T) {
	f, _ := stream.LookupFormat("cef")
	data := `{"id":"x1","org":"o|=\\","seq":7,"type":"repo.create","category":"content",` +
		`"actor":{"type":"user","id":"a=b","name":"back\\slash|pipe"},"targets":[],` +
		`"description":"line1\nline2\r| \\ =","client":null,"location":null,` +
		`"occurred_at":"2026-01-02T03:04:05.000006Z","received_at":"2026-01-02T03:04:06.000000Z","metadata":{"k":"v\nw"}}`
	out, err := f(nil, stream.Event{Seq: 7, Data: []byte(data)})
	if err != nil {
		t.Fatal(err)
	}
	line := string(out)
	wantHead := `CEF:0|Trail|Trail|` + stream.ProductVersion + `|repo.create|line1 line2 \| \\ =|3|`
	if !strings.HasPrefix(line, wantHead) {
		t.Errorf("header of %q, want %q", line, wantHead)
	}
	h, ext, err := parseCEF(line)
	if err != nil {
		t.Fatalf("%v\n%s", err, line)
	}
	for k, v := range map[string]string{"msg": "line1\nline2\r| \\ =", "suser": `back\slash|pipe`, "suid": "a=b",
		"cs1": `o|=\`, "cs4": `{"k":"v\nw"}`, "rt": "1767323046000", "end": "1767323045000", "cn1": "7"} {
		if ext[k] != v {
			t.Errorf("%s = %q, want %q", k, ext[k], v)
		}
	}
	if h[5] != "line1 line2 | \\ =" {
		t.Errorf("name %q", h[5])
	}
	if _, ok := ext["src"]; ok {
		t.Errorf("src present for an event without a client: %q", ext)
	}
	long := strings.Replace(data, `line1\nline2\r| \\ =`, strings.Repeat("é", 600), 1)
	out, _ = f(nil, stream.Event{Seq: 7, Data: []byte(long)})
	h, ext, _ = parseCEF(string(out))
	if len([]rune(h[5])) != 512 || len([]rune(ext["msg"])) != 600 {
		t.Errorf("a 600-character description: name has %d characters (want 512), msg %d (want 600)", len([]rune(h[5])), len([]rune(ext["msg"])))
	}
	if _, err := f(nil, stream.Event{Seq: 1, Data: []byte(`{"id":`)}); err == nil {
		t.Error("rendering bytes that are not a stored event succeeded")
	}
}

// FuzzCEF: whatever strings a stored event holds, the line parses back to
// them.
func FuzzCEF(f *testing.F) {
	f.Add("alice", "a|b=c\\d", "x\ny")
	f.Add("", "=", "\\")
	format, _ := stream.LookupFormat("cef")
	f.Fuzz(func(t *testing.T, name, desc, meta string) {
		if !utf8.ValidString(name) || !utf8.ValidString(desc) || !utf8.ValidString(meta) {
			t.Skip() // stored events are UTF-8
		}
		data := fmt.Sprintf(`{"id":"x","org":"o","seq":1,"type":"repo.create","category":"content",`+
			`"actor":{"type":"user","id":"u","name":%s},"targets":[],"description":%s,"client":null,"location":null,`+
			`"occurred_at":"2026-01-02T03:04:05Z","received_at":"2026-01-02T03:04:05Z","metadata":{"k":%s}}`,
			cefJSONQuote(name), cefJSONQuote(desc), cefJSONQuote(meta))
		out, err := format(nil, stream.Event{Seq: 1, Data: []byte(data)})
		if err != nil {
			t.Skip() // not valid UTF-8 JSON
		}
		_, ext, err := parseCEF(string(out))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if ext["suser"] != name || ext["msg"] != desc {
			t.Fatalf("suser %q msg %q, want %q %q", ext["suser"], ext["msg"], name, desc)
		}
	})
}

func cefJSONQuote(s string) string {
	return `"` + cefJSONEscape(s) + `"`
}
