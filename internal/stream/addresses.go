// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"encoding/json"
	"net"
	"net/url"
	"strings"
)

// Every kind says where its sink connects (Addressed), so that a stream to
// a non-public address is refused at creation (422), not only at every
// delivery (dial.go).

// urlAddress is the host:port a URL connects to: its port, or the
// scheme's default.
func urlAddress(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "nats": "4222", "tls": "4222"}[u.Scheme]
	}
	return []string{net.JoinHostPort(u.Hostname(), port)}
}

// settingsAddresses decodes stored settings into s and returns where(s).
func settingsAddresses[S any](raw json.RawMessage, where func(*S) []string) []string {
	var s S
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return where(&s)
}

// Addresses implements Addressed.
func (webhookKind) Addresses(raw json.RawMessage) []string {
	return settingsAddresses(raw, func(s *webhookSettings) []string { return urlAddress(s.URL) })
}

// Addresses implements Addressed.
func (syslogKind) Addresses(raw json.RawMessage) []string {
	return settingsAddresses(raw, func(s *syslogSettings) []string { return []string{s.Address} })
}

// Addresses implements Addressed.
func (s3Kind) Addresses(raw json.RawMessage) []string {
	return settingsAddresses(raw, func(s *s3Settings) []string { return urlAddress(s.Endpoint) })
}

// Addresses implements Addressed: every server of a comma-separated list.
func (natsKind) Addresses(raw json.RawMessage) []string {
	return settingsAddresses(raw, func(s *natsSettings) []string {
		var out []string
		for _, u := range strings.Split(s.URL, ",") {
			out = append(out, urlAddress(strings.TrimSpace(u))...)
		}
		return out
	})
}

// Addresses implements Addressed.
func (splunkKind) Addresses(raw json.RawMessage) []string {
	return settingsAddresses(raw, func(s *splunkSettings) []string { return urlAddress(s.URL) })
}

// Addresses implements Addressed.
func (datadogKind) Addresses(raw json.RawMessage) []string {
	return settingsAddresses(raw, func(s *datadogSettings) []string { return urlAddress(s.endpoint()) })
}
