// SPDX-License-Identifier: Apache-2.0

package stream

// The datadog kind posts to Datadog's logs intake v2
// (POST https://http-intake.logs.SITE/api/v2/logs, header DD-API-KEY): a
// JSON array of log entries, one per event,
//
//	{"ddsource":"trail","service":…,"hostname":…,"ddtags":…,"message":"<the rendered event>"}
//
// (Datadog parses a JSON message into attributes), then, when the batch
// carries one, an entry whose message is {"checkpoint":"<note>"}. The
// intake's limits are kept: at most 1000 entries and 5 MB (uncompressed)
// per request, 1 MB per entry; a larger batch is sent as several
// requests, in order. Bodies are gzip'd unless "gzip": false.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

func init() { RegisterKind("datadog", datadogKind{}) }

// The intake's documented limits.
const (
	ddMaxEntries = 1000
	ddMaxPayload = 5_000_000 // bytes of one request's uncompressed body
	ddMaxEntry   = 1_000_000 // bytes of one entry
)

// ddSites are Datadog's sites (https://docs.datadoghq.com/getting_started/site/).
var ddSites = []string{"datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ap2.datadoghq.com", "ddog-gov.com"}

type datadogSettings struct {
	Site     string `json:"site,omitempty"`
	URL      string `json:"url,omitempty"` // overrides site: the intake's base URL (a proxy)
	APIKey   string `json:"api_key"`       // secret
	Service  string `json:"service,omitempty"`
	Source   string `json:"source,omitempty"`
	Tags     string `json:"tags,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	Gzip     *bool  `json:"gzip,omitempty"`
}

type datadogKind struct{}

func (datadogKind) Formats() []string { return []string{"json", "ocsf"} }

var ddNamePattern = regexp.MustCompile(`^[A-Za-z0-9_:./-]{1,200}$`)

func (datadogKind) Create(raw json.RawMessage) (Created, error) {
	var s datadogSettings
	if err := cloudDecode(raw, &s); err != nil {
		return Created{}, err
	}
	if err := s.check(); err != nil {
		return Created{}, err
	}
	return Created{Settings: cloudEncode(s)}, nil
}

func (s *datadogSettings) check() error {
	switch {
	case s.URL != "" && s.Site != "":
		return &SettingError{Field: "url", Reason: "give either site or url, not both"}
	case s.URL != "":
		u, err := cloudURL("url", s.URL)
		if err != nil {
			return err
		}
		s.URL = u.String()
	default:
		if s.Site == "" {
			s.Site = "datadoghq.com"
		}
		found := false
		for _, site := range ddSites {
			found = found || s.Site == site
		}
		if !found {
			return &SettingError{Field: "site", Reason: "one of " + strings.Join(ddSites, ", ")}
		}
	}
	if err := cloudRequired("api_key", s.APIKey, "a Datadog API key"); err != nil {
		return err
	}
	if s.Service == "" {
		s.Service = "trail"
	}
	if s.Source == "" {
		s.Source = "trail"
	}
	for _, f := range []struct{ name, v string }{{"service", s.Service}, {"source", s.Source}, {"hostname", s.Hostname}} {
		if f.v != "" && !ddNamePattern.MatchString(f.v) {
			return &SettingError{Field: f.name, Reason: "at most 200 of A-Z a-z 0-9 _ : . / -"}
		}
	}
	if len(s.Tags) > 1000 || strings.ContainsAny(s.Tags, " \t\r\n\"") {
		return &SettingError{Field: "tags", Reason: "comma-separated key:value tags, at most 1000 bytes, no spaces or quotes"}
	}
	return nil
}

// endpoint is the intake URL the settings name.
func (s *datadogSettings) endpoint() string {
	if s.URL != "" {
		return s.URL + "/api/v2/logs"
	}
	return "https://http-intake.logs." + s.Site + "/api/v2/logs"
}

func (datadogKind) Public(raw json.RawMessage) map[string]any {
	var s datadogSettings
	if json.Unmarshal(raw, &s) != nil {
		return map[string]any{}
	}
	return map[string]any{"site": s.Site, "url": s.URL, "service": s.Service, "source": s.Source,
		"tags": s.Tags, "hostname": s.Hostname, "gzip": s.Gzip == nil || *s.Gzip}
}

func (datadogKind) Open(raw json.RawMessage, env Env) (Sink, error) {
	var s datadogSettings
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("datadog: stored settings: %w", err)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("datadog: stored settings: %w", err)
	}
	if env.HTTP == nil {
		return nil, fmt.Errorf("datadog: no HTTP client")
	}
	return &datadogSink{s: s, client: env.HTTP}, nil
}

type datadogSink struct {
	s      datadogSettings
	client *http.Client
}

type ddEntry struct {
	Source   string `json:"ddsource"`
	Service  string `json:"service"`
	Hostname string `json:"hostname,omitempty"`
	Tags     string `json:"ddtags,omitempty"`
	Message  string `json:"message"`
}

func (k *datadogSink) entry(message []byte) []byte {
	return cloudEncode(ddEntry{Source: k.s.Source, Service: k.s.Service, Hostname: k.s.Hostname, Tags: k.s.Tags, Message: string(message)})
}

func (k *datadogSink) Deliver(ctx context.Context, b *Batch) error {
	if err := checkRendered("datadog", b); err != nil {
		return err
	}
	entries := make([][]byte, 0, len(b.Events)+1)
	for i := range b.Events {
		entries = append(entries, k.entry(b.Rendered[i]))
	}
	if b.Checkpoint != "" {
		entries = append(entries, k.entry(checkpointLine(b)))
	}
	for i, e := range entries {
		if len(e) > ddMaxEntry && i < len(b.Events) {
			return fmt.Errorf("datadog: the entry of event seq %d is %d bytes, more than the intake's %d-byte limit", b.Events[i].Seq, len(e), ddMaxEntry)
		}
	}
	bodies, _ := packBodies(entries, ddMaxPayload, ddMaxEntries, []string{"[", "]"})
	for _, body := range bodies {
		if err := k.post(ctx, body); err != nil {
			return err
		}
	}
	return nil
}

func (k *datadogSink) post(ctx context.Context, body []byte) error {
	gz := k.s.Gzip == nil || *k.s.Gzip
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	req, err := http.NewRequest(http.MethodPost, k.s.endpoint(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("datadog: %w", err)
	}
	req.Header.Set("DD-API-KEY", k.s.APIKey)
	req.Header.Set("Content-Type", "application/json")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	return cloudSend(ctx, k.client, "datadog", req, func(body []byte) (string, string) {
		var r struct {
			Errors []any `json:"errors"`
		}
		if json.Unmarshal(body, &r) != nil || len(r.Errors) == 0 {
			return "", ""
		}
		return "", fmt.Sprint(r.Errors...)
	})
}

func (k *datadogSink) Close() error { return nil }
