// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const okEvent = `{"type":"org.change_role","actor":{"type":"user","id":"u1"},"targets":[{"type":"user","id":"u2"}],"metadata":{"new_role":"admin"}}`

// envelope returns {"events": [ev × n]}.
func envelope(n int, ev string) []byte {
	return []byte(`{"events":[` + strings.TrimSuffix(strings.Repeat(ev+",", n), ",") + `]}`)
}

// ndjson returns n lines of ev.
func ndjson(n int, ev string) []byte {
	return []byte(strings.Repeat(ev+"\n", n))
}

func TestSplitBatchAccepts(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		ndjson bool
		want   []string // the raw events, compacted
	}{
		{"envelope", []byte(`{"events":[{"a":1}, {"b":[2]}]}`), false, []string{`{"a":1}`, `{"b":[2]}`}},
		{"envelope with whitespace", []byte("\n {\"events\" : [ {\"a\":1}\t] }\r\n"), false, []string{`{"a":1}`}},
		{"envelope of non-objects", []byte(`{"events":[1,"x",null]}`), false, []string{`1`, `"x"`, `null`}},
		{"ndjson", []byte("{\"a\":1}\n{\"b\":2}\n"), true, []string{`{"a":1}`, `{"b":2}`}},
		{"ndjson without final newline", []byte("{\"a\":1}\n{\"b\":2}"), true, []string{`{"a":1}`, `{"b":2}`}},
		{"ndjson blank lines and CRLF", []byte("\r\n\n{\"a\":1}\r\n   \n\t\n{\"b\":2}\r\n\n"), true, []string{`{"a":1}`, `{"b":2}`}},
		{"ndjson line is an envelope", []byte(`{"events":[{"a":1}]}`), true, []string{`{"events":[{"a":1}]}`}},
		{"1000 events", envelope(1000, okEvent), false, nil},
		{"1000 ndjson events", ndjson(1000, okEvent), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raws, err := SplitBatch(tt.body, tt.ndjson, Limits{})
			if err != nil {
				t.Fatalf("SplitBatch: %v", err)
			}
			for i, r := range raws {
				if !json.Valid(r) {
					t.Errorf("event %d is not valid JSON: %s", i, r)
				}
			}
			if tt.want == nil {
				if len(raws) != DefaultMaxBatch {
					t.Errorf("got %d events, want %d", len(raws), DefaultMaxBatch)
				}
				return
			}
			var got []string
			for _, r := range raws {
				var b bytes.Buffer
				if err := json.Compact(&b, r); err != nil {
					t.Fatal(err)
				}
				got = append(got, b.String())
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("events = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitBatchRejects(t *testing.T) {
	over := append(envelope(1, okEvent), bytes.Repeat([]byte(" "), DefaultMaxBody)...)
	tests := []struct {
		name    string
		body    []byte
		ndjson  bool
		lim     Limits
		code    Code
		message string // a part of the message
		index   int    // the event named in Details, or -1 for none
	}{
		{"empty body", nil, false, Limits{}, CodeInvalid, "not valid JSON", -1},
		{"empty ndjson body", nil, true, Limits{}, CodeInvalid, "no events", -1},
		{"only blank ndjson lines", []byte("\n\r\n  \n"), true, Limits{}, CodeInvalid, "no events", -1},
		{"empty batch", []byte(`{"events":[]}`), false, Limits{}, CodeInvalid, "no events: send 1 to 1000", -1},
		{"no events field", []byte(`{}`), false, Limits{}, CodeInvalid, `no "events" field`, -1},
		{"null body", []byte(`null`), false, Limits{}, CodeInvalid, `no "events" field`, -1},
		{"body is an array", []byte(`[` + okEvent + `]`), false, Limits{}, CodeInvalid, `request body is a JSON array: send {"events": [...]}`, -1},
		{"body is a string", []byte(`"events"`), false, Limits{}, CodeInvalid, `request body is a JSON string: send {"events": [...]}`, -1},
		{"raw control character in a target name", []byte("{\"events\":[{},{\"targets\":[{\"type\":\"user\",\"name\":\"bo\x07b\"}]}]}"), false, Limits{}, CodeInvalid,
			`event 1, field targets[0].name: a control character (U+0007) inside a string: escape it as \u0007 or remove it`, 1},
		{"raw newline in a metadata list", []byte("{\"events\":[{\"metadata\":{\"names\":[\"a\",\"b\nc\"]}}]}"), false, Limits{}, CodeInvalid,
			`event 0, field metadata.names[1]: a control character (U+000A)`, 0},
		{"events is an object", []byte(`{"events":{}}`), false, Limits{}, CodeInvalid, `"events" must be an array`, -1},
		{"events is null", []byte(`{"events":null}`), false, Limits{}, CodeInvalid, `"events" must be an array`, -1},
		{"events is a string", []byte(`{"events":"[]"}`), false, Limits{}, CodeInvalid, `"events" must be an array`, -1},
		{"unknown top-level field", []byte(`{"events":[` + okEvent + `],"org":"acme"}`), false, Limits{}, CodeInvalid, `unknown field "org"`, -1},
		{"misspelt events", []byte(`{"evnts":[]}`), false, Limits{}, CodeInvalid, `unknown field "evnts"`, -1},
		{"huge unknown field is not echoed", []byte(`{"` + strings.Repeat("k", 10000) + `":1}`), false, Limits{}, CodeInvalid, `unknown field "kkkk`, -1},
		{"1001 events", envelope(1001, okEvent), false, Limits{}, CodeTooLarge, "more than 1000 events", -1},
		{"1001 ndjson events", ndjson(1001, okEvent), true, Limits{}, CodeTooLarge, "more than 1000 events", -1},
		{"batch over a lower limit", envelope(4, `{}`), false, Limits{MaxBatch: 3}, CodeTooLarge, "more than 3 events", -1},
		{"body over MaxBody", over, false, Limits{}, CodeTooLarge, "larger than 8388608 bytes", -1},
		{"ndjson body over MaxBody", append(ndjson(1, okEvent), bytes.Repeat([]byte("\n"), DefaultMaxBody)...), true, Limits{}, CodeTooLarge, "larger than", -1},
		{"body one byte over a lower limit", []byte(`{"events":[{}]} `), false, Limits{MaxBody: 15}, CodeTooLarge, "larger than 15 bytes", -1},
		{"invalid UTF-8", []byte(`{"events":[{"description":"caf` + "\xe9" + `"}]}`), false, Limits{}, CodeInvalid, "not valid UTF-8 (first invalid byte at offset 30)", -1},
		{"invalid UTF-8 in ndjson", []byte("{}\n{\"a\":\"\xff\xfe\"}\n"), true, Limits{}, CodeInvalid, "offset 9", -1},
		{"overlong UTF-8 encoding", []byte("{\"events\":[{\"a\":\"\xc0\xaf\"}]}"), false, Limits{}, CodeInvalid, "offset 17", -1},
		{"UTF-16 surrogate in UTF-8", []byte("{\"events\":[{\"a\":\"\xed\xa0\x80\"}]}"), false, Limits{}, CodeInvalid, "offset 17", -1},
		{"malformed event", []byte(`{"events":[{"a":1},{"b":2},{]}`), false, Limits{}, CodeInvalid, "event 2: invalid character ']'", 2},
		{"missing comma between events", []byte(`{"events":[{"a":1} {"b":2}]}`), false, Limits{}, CodeInvalid, "event 1:", 1},
		{"truncated event", []byte(`{"events":[` + okEvent + `,{"type":"repo.create"`), false, Limits{}, CodeInvalid, "event 1: unexpected end of JSON input", 1},
		{"truncated after an event", []byte(`{"events":[` + okEvent), false, Limits{}, CodeInvalid, "unexpected end of JSON input", -1},
		{"malformed outside the events", []byte(`{"events":[{}],}`), false, Limits{}, CodeInvalid, "not valid JSON: invalid character '}'", -1},
		{"trailing data", []byte(`{"events":[{}]} {}`), false, Limits{}, CodeInvalid, "not valid JSON", -1},
		{"byte order mark", []byte("\ufeff" + `{"events":[{}]}`), false, Limits{}, CodeInvalid, "not valid JSON", -1},
		{"ndjson invalid line", []byte("{}\n\n{nope\n{}\n"), true, Limits{}, CodeInvalid, "line 3 (event 1) is not valid JSON", 1},
		{"ndjson truncated line", []byte("{}\n{\"a\":"), true, Limits{}, CodeInvalid, "line 2 (event 1) is not valid JSON: unexpected end of JSON input", 1},
		{"ndjson two values on a line", []byte("{} {}\n"), true, Limits{}, CodeInvalid, "line 1 (event 0)", 0},
		{"ndjson pretty-printed event", []byte("{\n\"a\": 1\n}\n"), true, Limits{}, CodeInvalid, "line 1 (event 0)", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raws, err := SplitBatch(tt.body, tt.ndjson, tt.lim)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("SplitBatch = %d events, %v; want an *Error", len(raws), err)
			}
			if raws != nil {
				t.Errorf("SplitBatch returned %d events with its error", len(raws))
			}
			if e.Code != tt.code || !strings.Contains(e.Message, tt.message) {
				t.Errorf("error = %s: %q, want %s containing %q", e.Code, e.Message, tt.code, tt.message)
			}
			if len(e.Message) > 300 {
				t.Errorf("message of %d bytes echoes too much of the input: %.100q…", len(e.Message), e.Message)
			}
			switch {
			case tt.index < 0 && len(e.Details) > 0:
				t.Errorf("details = %+v, want none", e.Details)
			case tt.index >= 0 && (len(e.Details) != 1 || e.Details[0].Index != tt.index):
				t.Errorf("details = %+v, want one naming event %d", e.Details, tt.index)
			}
		})
	}
}

func TestFirstInvalidUTF8(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int
	}{
		{"", -1}, {"abc", -1}, {"é€😀", -1}, {"\xff", 0}, {"ab\x80", 2}, {"é\xe9", 2}, {"😀\xf0\x9f", 4},
	} {
		if got := firstInvalidUTF8([]byte(tt.in)); got != tt.want {
			t.Errorf("firstInvalidUTF8(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
