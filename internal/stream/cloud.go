// SPDX-License-Identifier: Apache-2.0

package stream

// Helpers shared by the s3, nats, splunk and datadog kinds: strict
// settings decoding, URL checks and one HTTP exchange whose failures name
// the destination's own error.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// cloudDecode decodes a kind's settings strictly: an unknown field or a
// wrong type is a *SettingError naming the field.
func cloudDecode(settings json.RawMessage, v any) error {
	if len(bytes.TrimSpace(settings)) == 0 {
		settings = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(settings))
	d.DisallowUnknownFields()
	err := d.Decode(v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return &SettingError{Field: te.Field, Reason: "expected a " + te.Type.String() + ", got a JSON " + te.Value}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &SettingError{Field: f, Reason: "unknown setting for this kind"}
	}
	return &SettingError{Field: "settings", Reason: "not a JSON object: " + err.Error()}
}

// cloudEncode is json.Marshal for settings structs, which always encode.
func cloudEncode(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("stream: encoding settings: " + err.Error())
	}
	return b
}

// cloudURL checks a destination's base URL: absolute, https (http only
// for a loopback host), no user info, query or fragment. It returns the
// URL without a trailing slash.
func cloudURL(field, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, &SettingError{Field: field, Reason: "required: an https:// URL"}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, &SettingError{Field: field, Reason: fmt.Sprintf("%q is not an absolute URL (https://host[:port])", raw)}
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
	case u.Scheme == "http":
		return nil, &SettingError{Field: field, Reason: "must be https:// (http:// only for a loopback host)"}
	default:
		return nil, &SettingError{Field: field, Reason: fmt.Sprintf("scheme %q: expected https://", u.Scheme)}
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, &SettingError{Field: field, Reason: "must not hold user info, a query or a fragment"}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// cloudRequired refuses an empty string setting.
func cloudRequired(field, v, what string) error {
	if strings.TrimSpace(v) == "" {
		return &SettingError{Field: field, Reason: "required: " + what}
	}
	if len(v) > 4096 {
		return &SettingError{Field: field, Reason: "longer than 4096 bytes"}
	}
	return nil
}

// StatusError is a destination's refusal of a delivery: its HTTP status,
// its own error code when it gives one, and its message. Every status
// other than success is an error, so the batch is sent again later;
// Retryable says whether a retry can help without a change of settings
// (408, 425, 429 and 5xx).
type StatusError struct {
	Dest       string // "s3", "splunk", "datadog"
	Status     int
	Code       string // e.g. S3's "SignatureDoesNotMatch"
	Message    string
	RetryAfter time.Duration // from a Retry-After header, 0 if none
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.Dest, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %v)", e.RetryAfter)
	}
	return s
}

// Retryable reports whether the same request may succeed later.
func (e *StatusError) Retryable() bool {
	return e.Status == 408 || e.Status == 425 || e.Status == 429 || e.Status >= 500
}

// cloudSend sends req with client and returns nil on a 2xx answer, else a
// *StatusError whose Code and Message come from parse (given at most
// 4 KiB of the answer's body).
func cloudSend(ctx context.Context, client *http.Client, dest string, req *http.Request, parse func(body []byte) (code, msg string)) error {
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("%s: %w", dest, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &StatusError{Dest: dest, Status: resp.StatusCode}
	e.Code, e.Message = parse(body)
	if e.Message == "" && e.Code == "" {
		e.Message = strings.TrimSpace(string(body))
	}
	if len(e.Message) > 300 {
		e.Message = e.Message[:300] + "…"
	}
	if s, err := time.ParseDuration(strings.TrimSpace(resp.Header.Get("Retry-After")) + "s"); err == nil && s > 0 {
		e.RetryAfter = s
	}
	return e
}

// eventTime returns an event's occurred_at (or received_at) from its
// stored bytes, or the zero time.
func eventTime(data []byte, field string) time.Time {
	var v map[string]json.RawMessage
	if json.Unmarshal(data, &v) != nil {
		return time.Time{}
	}
	var t time.Time
	if raw, ok := v[field]; ok && json.Unmarshal(raw, &t) == nil {
		return t.UTC()
	}
	return time.Time{}
}

// checkpointLine is the JSON object that carries a batch's checkpoint
// where a destination takes only events: {"checkpoint": "<note>"}.
func checkpointLine(b *Batch) []byte {
	line, _ := json.Marshal(struct {
		Checkpoint string `json:"checkpoint"`
	}{b.Checkpoint})
	return line
}

// checkRendered refuses a batch whose Rendered does not match its Events.
func checkRendered(dest string, b *Batch) error {
	if len(b.Rendered) != len(b.Events) {
		return fmt.Errorf("%s: batch %s has %d events but %d rendered", dest, b.ID, len(b.Events), len(b.Rendered))
	}
	return nil
}
