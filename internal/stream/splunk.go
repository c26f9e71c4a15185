// SPDX-License-Identifier: Apache-2.0

package stream

// The splunk kind posts to Splunk's HTTP Event Collector
// (POST URL/services/collector/event, Authorization: Splunk TOKEN). A
// body is a sequence of HEC event objects, one per event:
//
//	{"time":1767225600.123,"index":…,"source":…,"sourcetype":…,"host":…,"event":<the rendered event>}
//
// then, when the batch carries one, {"event":{"checkpoint":"<note>"},…}.
// Bodies stay under splunkMaxBody bytes (Splunk Cloud's HEC limit); a
// larger batch is sent as several bodies, in order.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

func init() { RegisterKind("splunk", splunkKind{}) }

// splunkMaxBody is the most bytes one HEC request body holds.
const splunkMaxBody = 1_000_000

type splunkSettings struct {
	URL        string `json:"url"`
	Token      string `json:"token"` // secret
	Index      string `json:"index,omitempty"`
	Source     string `json:"source,omitempty"`
	Sourcetype string `json:"sourcetype,omitempty"`
	Host       string `json:"host,omitempty"`
}

type splunkKind struct{}

func (splunkKind) Formats() []string { return []string{"json", "ocsf"} }

var splunkNamePattern = regexp.MustCompile(`^[A-Za-z0-9_:./-]{1,256}$`)

func (splunkKind) Create(raw json.RawMessage) (Created, error) {
	var s splunkSettings
	if err := cloudDecode(raw, &s); err != nil {
		return Created{}, err
	}
	if err := s.check(); err != nil {
		return Created{}, err
	}
	return Created{Settings: cloudEncode(s)}, nil
}

func (s *splunkSettings) check() error {
	u, err := cloudURL("url", s.URL)
	if err != nil {
		return err
	}
	s.URL = u.String()
	if err := cloudRequired("token", s.Token, "the HEC token"); err != nil {
		return err
	}
	if s.Sourcetype == "" {
		s.Sourcetype = "trail:audit"
	}
	if s.Source == "" {
		s.Source = "trail"
	}
	for _, f := range []struct{ name, v string }{{"index", s.Index}, {"source", s.Source}, {"sourcetype", s.Sourcetype}, {"host", s.Host}} {
		if f.v != "" && !splunkNamePattern.MatchString(f.v) {
			return &SettingError{Field: f.name, Reason: "at most 256 of A-Z a-z 0-9 _ : . / -"}
		}
	}
	return nil
}

func (splunkKind) Public(raw json.RawMessage) map[string]any {
	var s splunkSettings
	if json.Unmarshal(raw, &s) != nil {
		return map[string]any{}
	}
	return map[string]any{"url": s.URL, "index": s.Index, "source": s.Source, "sourcetype": s.Sourcetype, "host": s.Host}
}

func (splunkKind) Open(raw json.RawMessage, env Env) (Sink, error) {
	var s splunkSettings
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("splunk: stored settings: %w", err)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("splunk: stored settings: %w", err)
	}
	if env.HTTP == nil {
		return nil, fmt.Errorf("splunk: no HTTP client")
	}
	return &splunkSink{s: s, client: env.HTTP}, nil
}

type splunkSink struct {
	s      splunkSettings
	client *http.Client
}

// splunkEvent is one HEC event object; Event is the rendered event.
type splunkEvent struct {
	Time       json.RawMessage `json:"time,omitempty"`
	Index      string          `json:"index,omitempty"`
	Source     string          `json:"source,omitempty"`
	Sourcetype string          `json:"sourcetype,omitempty"`
	Host       string          `json:"host,omitempty"`
	Event      json.RawMessage `json:"event"`
}

func (k *splunkSink) Deliver(ctx context.Context, b *Batch) error {
	if err := checkRendered("splunk", b); err != nil {
		return err
	}
	var objs [][]byte
	last := time.Time{}
	for i, ev := range b.Events {
		if !json.Valid(b.Rendered[i]) {
			return fmt.Errorf("splunk: event seq %d does not render as JSON", ev.Seq)
		}
		if t := eventTime(ev.Data, "occurred_at"); !t.IsZero() {
			last = t
		}
		objs = append(objs, k.object(last, b.Rendered[i]))
	}
	if b.Checkpoint != "" {
		if last.IsZero() {
			last = time.Now()
		}
		objs = append(objs, k.object(last, checkpointLine(b)))
	}
	bodies, tooBig := packBodies(objs, splunkMaxBody, 0, nil)
	if tooBig >= 0 {
		return fmt.Errorf("splunk: a HEC event object of %d bytes is more than a body may hold (%d bytes)", len(objs[tooBig]), splunkMaxBody)
	}
	for _, body := range bodies {
		if err := k.post(ctx, body); err != nil {
			return err
		}
	}
	return nil
}

func (k *splunkSink) object(t time.Time, event []byte) []byte {
	e := splunkEvent{Index: k.s.Index, Source: k.s.Source, Sourcetype: k.s.Sourcetype, Host: k.s.Host, Event: event}
	if !t.IsZero() {
		e.Time = json.RawMessage(strconv.FormatInt(t.Unix(), 10) + "." + fmt.Sprintf("%03d", t.Nanosecond()/1e6))
	}
	return cloudEncode(e)
}

// packBodies groups items, in order, into bodies of at most maxBytes and,
// when maxItems > 0, at most maxItems items: joined by newlines, or with
// wrap ([open, close]) by commas inside open … close. It returns the index
// of an item too large for any body, or -1.
func packBodies(items [][]byte, maxBytes, maxItems int, wrap []string) ([][]byte, int) {
	var out [][]byte
	var cur bytes.Buffer
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		if wrap != nil {
			cur.WriteString(wrap[1])
		}
		out = append(out, bytes.Clone(cur.Bytes()))
		cur.Reset()
		n = 0
	}
	overhead := 0
	if wrap != nil {
		overhead = len(wrap[0]) + len(wrap[1])
	}
	for i, it := range items {
		if len(it)+overhead > maxBytes {
			return nil, i
		}
		if n > 0 && (cur.Len()+1+len(it)+overhead > maxBytes || (maxItems > 0 && n == maxItems)) {
			flush()
		}
		switch {
		case n == 0 && wrap != nil:
			cur.WriteString(wrap[0])
		case n > 0 && wrap != nil:
			cur.WriteByte(',')
		case n > 0:
			cur.WriteByte('\n')
		}
		cur.Write(it)
		n++
	}
	flush()
	return out, -1
}

func (k *splunkSink) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, k.s.URL+"/services/collector/event", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("splunk: %w", err)
	}
	req.Header.Set("Authorization", "Splunk "+k.s.Token)
	req.Header.Set("Content-Type", "application/json")
	return cloudSend(ctx, k.client, "splunk", req, func(body []byte) (string, string) {
		var r struct {
			Text string `json:"text"`
			Code *int   `json:"code"`
		}
		if json.Unmarshal(body, &r) != nil || r.Code == nil {
			return "", ""
		}
		return "code " + strconv.Itoa(*r.Code), r.Text
	})
}

func (k *splunkSink) Close() error { return nil }
