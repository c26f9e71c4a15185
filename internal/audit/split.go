// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// SplitBatch splits a request body into the raw JSON of each event:
// {"events": [...]} when ndjson is false, one event per line otherwise. It
// checks the body's encoding and the batch's size, not the events. The
// events are slices of body.
func SplitBatch(body []byte, ndjson bool, lim Limits) ([]json.RawMessage, error) {
	raws, _, err := splitBatch(body, ndjson, lim)
	return raws, err
}

// splitBatch is SplitBatch; scanned reports that the fast scanner read
// every event (skipValue accepted each).
func splitBatch(body []byte, ndjson bool, lim Limits) (raws []json.RawMessage, scanned bool, err error) {
	lim = lim.WithDefaults()
	if raws, ok := splitFast(body, ndjson, lim); ok {
		return raws, true, nil
	}
	raws, err = splitReference(body, ndjson, lim)
	return raws, false, err
}

// splitFast is SplitBatch for bodies in the usual shape, in one pass with
// the fast scanner. ok is false for anything else (including every
// error), which splitReference then handles.
func splitFast(body []byte, ndjson bool, lim Limits) (raws []json.RawMessage, ok bool) {
	if int64(len(body)) > lim.MaxBody || !utf8.Valid(body) {
		return nil, false
	}
	if ndjson {
		raws, ok = splitNDJSONFast(body, lim.MaxBatch)
	} else {
		raws, ok = splitEnvelopeFast(body, lim.MaxBatch)
	}
	return raws, ok && len(raws) > 0
}

// splitEnvelopeFast reads exactly {"events": [...]}, the key written
// plainly, once.
func splitEnvelopeFast(body []byte, maxBatch int) ([]json.RawMessage, bool) {
	const key = `"events"`
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i = skipWS(body, i+1)
	if !bytes.HasPrefix(body[i:], []byte(key)) {
		return nil, false
	}
	i = skipWS(body, i+len(key))
	if i >= len(body) || body[i] != ':' {
		return nil, false
	}
	i = skipWS(body, i+1)
	if i >= len(body) || body[i] != '[' {
		return nil, false
	}
	raws := make([]json.RawMessage, 0, min(maxBatch, len(body)/64+1))
	i = skipWS(body, i+1)
	if i < len(body) && body[i] == ']' {
		return nil, false // an empty batch: the reference says so
	}
	for {
		end, ok := skipValue(body, i, 1)
		if !ok || len(raws) == maxBatch {
			return nil, false
		}
		raws = append(raws, body[i:end:end])
		i = skipWS(body, end)
		if i >= len(body) {
			return nil, false
		}
		if body[i] == ']' {
			break
		}
		if body[i] != ',' {
			return nil, false
		}
		i = skipWS(body, i+1)
	}
	i = skipWS(body, i+1)
	if i >= len(body) || body[i] != '}' || skipWS(body, i+1) != len(body) {
		return nil, false
	}
	return raws, true
}

// splitNDJSONFast reads one event per line, as splitNDJSON does.
func splitNDJSONFast(body []byte, maxBatch int) ([]json.RawMessage, bool) {
	raws := make([]json.RawMessage, 0, min(maxBatch, bytes.Count(body, []byte{'\n'})+1))
	for len(body) > 0 {
		line := body
		if nl := bytes.IndexByte(body, '\n'); nl >= 0 {
			line, body = body[:nl], body[nl+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		end, ok := skipValue(line, 0, 0)
		if !ok || skipWS(line, end) != len(line) || len(raws) == maxBatch {
			return nil, false
		}
		raws = append(raws, line[:len(line):len(line)])
	}
	return raws, true
}
