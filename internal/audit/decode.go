// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits bounds every input from outside. The zero value of a field means
// its default.
type Limits struct {
	MaxBody        int64 // bytes in one request body; default 8 MiB
	MaxBatch       int   // events in one request; default 1000
	MaxEvent       int   // bytes of one event's JSON; default 32 KiB
	MaxDescription int   // bytes of a description; default 2 KiB
}

// Default limits.
const (
	DefaultMaxBody        = 8 << 20
	DefaultMaxBatch       = 1000
	DefaultMaxEvent       = 32 << 10
	DefaultMaxDescription = 2 << 10
	maxNameLen            = 256 // actor and target ids and names
	maxTypeLen            = 64  // actor and target types
	maxUserAgentLen       = 512
)

// WithDefaults returns l with zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	if l.MaxBatch <= 0 {
		l.MaxBatch = DefaultMaxBatch
	}
	if l.MaxEvent <= 0 {
		l.MaxEvent = DefaultMaxEvent
	}
	if l.MaxDescription <= 0 {
		l.MaxDescription = DefaultMaxDescription
	}
	return l
}

// splitReference is SplitBatch with encoding/json: the reference the fast
// path is held to, and the one that names what is wrong with a body.
func splitReference(body []byte, ndjson bool, lim Limits) ([]json.RawMessage, error) {
	if int64(len(body)) > lim.MaxBody {
		return nil, Errorf(CodeTooLarge, "request body is larger than %d bytes", lim.MaxBody)
	}
	if !utf8.Valid(body) {
		return nil, Errorf(CodeInvalid, "request body is not valid UTF-8 (first invalid byte at offset %d)", firstInvalidUTF8(body))
	}
	var raws []json.RawMessage
	var err error
	if ndjson {
		raws, err = splitNDJSON(body, lim.MaxBatch)
	} else {
		raws, err = splitEnvelope(body, lim.MaxBatch)
	}
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return nil, Errorf(CodeInvalid, "the batch has no events: send 1 to %d", lim.MaxBatch)
	}
	return raws, nil
}

func splitEnvelope(body []byte, maxBatch int) ([]json.RawMessage, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, Errorf(CodeInvalid, "request body is a JSON %s: send {\"events\": [...]}, or one event per line with Content-Type: application/x-ndjson", te.Value)
		}
		if i := failingEvent(body); i >= 0 {
			field := syntaxErrorPath(body, err)
			msg := fmt.Sprintf("request body is not valid JSON: event %d: %s", i, jsonProblem(err, body))
			if field != "" {
				msg = fmt.Sprintf("request body is not valid JSON: event %d, field %s: %s", i, field, jsonProblem(err, body))
			}
			return nil, &Error{
				Code:    CodeInvalid,
				Message: msg,
				Details: []Detail{{Index: i, Field: field, Expected: "valid JSON"}},
				Err:     err,
			}
		}
		return nil, &Error{Code: CodeInvalid, Message: "request body is not valid JSON: " + jsonProblem(err, body), Err: err}
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if k != "events" {
			return nil, Errorf(CodeInvalid, "unknown field %q in request body: expected {\"events\": [...]}", shorten(k))
		}
	}
	raw, ok := env["events"]
	if !ok {
		return nil, Errorf(CodeInvalid, "request body has no \"events\" field: expected {\"events\": [...]}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, Errorf(CodeInvalid, "\"events\" must be an array of events")
	}
	var raws []json.RawMessage
	for dec.More() {
		if len(raws) == maxBatch {
			return nil, Errorf(CodeTooLarge, "the batch has more than %d events", maxBatch)
		}
		var r json.RawMessage
		if err := dec.Decode(&r); err != nil {
			return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("event %d is not valid JSON: %s", len(raws), jsonProblem(err, raw)), Err: err}
		}
		raws = append(raws, r)
	}
	return raws, nil
}

// failingEvent returns the index of the element of the "events" array of
// the invalid JSON body at which decoding fails, or -1 when the problem is
// outside that array. It only locates the problem for the error message.
func failingEvent(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return -1
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return -1
		}
		if key != "events" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return -1
			}
			continue
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
			return -1
		}
		for i := 0; dec.More(); i++ {
			var r json.RawMessage
			if dec.Decode(&r) != nil {
				return i
			}
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
			return -1
		}
	}
	return -1
}

func splitNDJSON(body []byte, maxBatch int) ([]json.RawMessage, error) {
	var raws []json.RawMessage
	lineNo := 0
	for line := range bytes.SplitSeq(body, []byte{'\n'}) {
		lineNo++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(raws) == maxBatch {
			return nil, Errorf(CodeTooLarge, "the batch has more than %d events", maxBatch)
		}
		if !json.Valid(line) {
			var v any
			err := json.Unmarshal(line, &v)
			return nil, &Error{
				Code:    CodeInvalid,
				Message: fmt.Sprintf("line %d (event %d) is not valid JSON: %s", lineNo, len(raws), jsonProblem(err, line)),
				Details: []Detail{{Index: len(raws), Expected: "valid JSON"}},
				Err:     err,
			}
		}
		raws = append(raws, json.RawMessage(line))
	}
	return raws, nil
}

// jsonProblem says what is wrong with the JSON text in, which failed to
// decode with err.
func jsonProblem(err error, in []byte) string {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return "unexpected end of input"
	}
	if se, ok := err.(*json.SyntaxError); ok {
		if c, ok := controlInString(se, in); ok {
			return fmt.Sprintf("a control character (U+%04X) inside a string: escape it as \\u%04x or remove it (at offset %d)", c, c, se.Offset-1)
		}
		return fmt.Sprintf("%s (at offset %d)", se.Error(), se.Offset)
	}
	if e, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Sprintf("expected %s, got %s", e.Type, e.Value)
	}
	return err.Error()
}

// controlInString returns the raw control character that made in invalid
// JSON at se, if that is the problem.
func controlInString(se *json.SyntaxError, in []byte) (byte, bool) {
	at := se.Offset - 1
	if at < 0 || at >= int64(len(in)) || !strings.HasSuffix(se.Error(), "in string literal") {
		return 0, false
	}
	c := in[at]
	return c, c < 0x20
}

// syntaxErrorPath returns the path ("targets[0].name") inside its event of
// the value at which the envelope body fails to decode with err, or "".
// It only names the place of the problem for the error message.
func syntaxErrorPath(body []byte, err error) string {
	se, ok := err.(*json.SyntaxError)
	if !ok {
		return ""
	}
	type frame struct {
		object    bool
		key       string
		index     int
		expectKey bool
	}
	var stack []frame
	dec := json.NewDecoder(bytes.NewReader(body))
	for dec.InputOffset() < se.Offset {
		tok, err := dec.Token()
		if err != nil {
			if n := len(stack); n > 0 && !stack[n-1].object {
				stack[n-1].index++ // the failing value is the next element
			}
			break
		}
		if n := len(stack); n > 0 {
			top := &stack[n-1]
			switch {
			case tok == json.Delim('}') || tok == json.Delim(']'):
				stack = stack[:n-1]
				if n > 1 && stack[n-2].object {
					stack[n-2].expectKey = true
				}
				continue
			case top.object && top.expectKey:
				top.key, _ = tok.(string)
				top.expectKey = false
				continue
			case top.object:
				// A scalar ends here; a container when it closes.
				top.expectKey = tok != json.Delim('{') && tok != json.Delim('[')
			default:
				top.index++
			}
		}
		if tok == json.Delim('{') || tok == json.Delim('[') {
			stack = append(stack, frame{object: tok == json.Delim('{'), index: -1, expectKey: true})
		}
	}
	// stack[0] is the envelope, stack[1] the events array, stack[2] the event.
	var b strings.Builder
	for i := 2; i < len(stack); i++ {
		f := stack[i]
		switch {
		case f.object && !f.expectKey:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(shorten(f.key))
		case !f.object && f.index >= 0:
			fmt.Fprintf(&b, "[%d]", f.index)
		}
	}
	return b.String()
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
