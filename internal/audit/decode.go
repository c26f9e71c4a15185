// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
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

// SplitBatch splits a request body into the raw JSON of each event:
// {"events": [...]} when ndjson is false, one event per line otherwise. It
// checks the body's encoding and the batch's size, not the events.
func SplitBatch(body []byte, ndjson bool, lim Limits) ([]json.RawMessage, error) {
	lim = lim.WithDefaults()
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
		if i := failingEvent(body); i >= 0 {
			return nil, &Error{
				Code:    CodeInvalid,
				Message: fmt.Sprintf("request body is not valid JSON: event %d: %s", i, jsonProblem(err)),
				Details: []Detail{{Index: i, Expected: "valid JSON"}},
				Err:     err,
			}
		}
		return nil, &Error{Code: CodeInvalid, Message: "request body is not valid JSON: " + jsonProblem(err), Err: err}
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
			return nil, &Error{Code: CodeInvalid, Message: fmt.Sprintf("event %d is not valid JSON: %s", len(raws), jsonProblem(err)), Err: err}
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
				Message: fmt.Sprintf("line %d (event %d) is not valid JSON: %s", lineNo, len(raws), jsonProblem(err)),
				Details: []Detail{{Index: len(raws), Expected: "valid JSON"}},
				Err:     err,
			}
		}
		raws = append(raws, json.RawMessage(line))
	}
	return raws, nil
}

func jsonProblem(err error) string {
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return "unexpected end of input"
	}
	var se *json.SyntaxError
	if e, ok := err.(*json.SyntaxError); ok {
		se = e
		return fmt.Sprintf("%s (at offset %d)", se.Error(), se.Offset)
	}
	if e, ok := err.(*json.UnmarshalTypeError); ok {
		return fmt.Sprintf("expected %s, got %s", e.Type, e.Value)
	}
	return err.Error()
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
