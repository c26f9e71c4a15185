// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// The syslog kind sends one RFC 5424 message per event over TCP with RFC
// 6587 octet counting ("LEN SP MSG"), or over TLS (RFC 5425, the same
// framing). docs/streaming-formats.md describes the settings and what an
// acknowledged delivery means.

// syslogSettings are a syslog destination's stored settings.
type syslogSettings struct {
	Address    string `json:"address"`               // host:port
	TLS        bool   `json:"tls"`                   // RFC 5425
	CAPEM      string `json:"ca_pem,omitempty"`      // trusted roots for TLS; empty: the system's
	ServerName string `json:"server_name,omitempty"` // TLS name to verify; empty: address's host
	Hostname   string `json:"hostname,omitempty"`    // HOSTNAME field; empty: this machine's name
	AppName    string `json:"app_name"`              // APP-NAME field
	Facility   string `json:"facility"`              // a facility name or number
	// Ack is "write" (Deliver returns once every message is written to the
	// connection) or "close" (Deliver then half-closes the connection and
	// waits for the receiver to close its side, proof that it has read
	// every byte; one connection per delivery).
	Ack string `json:"ack"`
}

// Bounds on the settings.
const (
	maxAddressLen  = 255 + 6
	maxCAPEMLen    = 64 << 10
	maxHostnameLen = 255 // RFC 5424 HOSTNAME
	maxAppNameLen  = 48  // RFC 5424 APP-NAME
)

// facilities are RFC 5424's facility codes by name.
var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12,
	"audit": 13, "alert": 14, "clock": 15, "local0": 16, "local1": 17, "local2": 18,
	"local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

type syslogKind struct{}

func init() { RegisterKind("syslog", syslogKind{}) }

// Formats: cef (the default) or json (the stored bytes).
func (syslogKind) Formats() []string { return []string{"cef", "json"} }

// Create validates a syslog destination's settings and fills in defaults.
func (syslogKind) Create(raw json.RawMessage) (Created, error) {
	s, err := parseSyslogSettings(raw)
	if err != nil {
		return Created{}, err
	}
	out, err := json.Marshal(s)
	if err != nil {
		return Created{}, fmt.Errorf("stream: syslog settings: %w", err)
	}
	return Created{Settings: out}, nil
}

// Public returns the settings: a syslog destination holds no secret (the
// CA certificate is public).
func (syslogKind) Public(raw json.RawMessage) map[string]any {
	var s syslogSettings
	if err := json.Unmarshal(raw, &s); err != nil {
		return map[string]any{}
	}
	m := map[string]any{"address": s.Address, "tls": s.TLS, "app_name": s.AppName,
		"facility": s.Facility, "ack": s.Ack}
	for k, v := range map[string]string{"ca_pem": s.CAPEM, "server_name": s.ServerName, "hostname": s.Hostname} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// Open returns a sink for stored settings. It does not connect: the first
// Deliver does.
func (syslogKind) Open(raw json.RawMessage, env Env) (Sink, error) {
	s, err := parseSyslogSettings(raw)
	if err != nil {
		return nil, err
	}
	if env.Dial == nil {
		return nil, errors.New("stream: syslog: no dialer")
	}
	return newSyslogSink(s, env)
}

// parseSyslogSettings decodes, checks and completes settings; each problem
// is a *SettingError naming the field.
func parseSyslogSettings(raw json.RawMessage) (syslogSettings, error) {
	s := syslogSettings{AppName: "trail", Facility: "local0", Ack: "write"}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, settingDecodeError(err)
	}
	checks := []func(*syslogSettings) error{checkAddress, checkTLS, checkHeaderFields, checkFacility, checkAck}
	for _, check := range checks {
		if err := check(&s); err != nil {
			return s, err
		}
	}
	return s, nil
}

// settingDecodeError names the field a JSON decoding error is about.
func settingDecodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &SettingError{Field: te.Field, Reason: "expected a JSON " + te.Type.Kind().String()}
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return &SettingError{Field: strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`),
			Reason: "not a syslog setting (expected address, tls, ca_pem, server_name, hostname, app_name, facility, ack)"}
	}
	return &SettingError{Field: "settings", Reason: "expected a JSON object: " + err.Error()}
}

func checkAddress(s *syslogSettings) error {
	bad := func(why string) error { return &SettingError{Field: "address", Reason: why} }
	if s.Address == "" {
		return bad("required: the receiver's host:port")
	}
	if len(s.Address) > maxAddressLen {
		return bad(fmt.Sprintf("at most %d bytes", maxAddressLen))
	}
	host, port, err := net.SplitHostPort(s.Address)
	if err != nil || host == "" || strings.ContainsAny(host, " /\\@") {
		return bad("expected host:port, such as siem.example.com:6514")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return bad("expected a port from 1 to 65535")
	}
	return nil
}

func checkTLS(s *syslogSettings) error {
	if !s.TLS {
		if s.CAPEM != "" || s.ServerName != "" {
			field := "ca_pem"
			if s.CAPEM == "" {
				field = "server_name"
			}
			return &SettingError{Field: field, Reason: "only with \"tls\": true"}
		}
		return nil
	}
	if s.CAPEM != "" {
		if len(s.CAPEM) > maxCAPEMLen {
			return &SettingError{Field: "ca_pem", Reason: fmt.Sprintf("at most %d bytes", maxCAPEMLen)}
		}
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(s.CAPEM)) {
			return &SettingError{Field: "ca_pem", Reason: "expected one or more PEM CERTIFICATE blocks"}
		}
	}
	if len(s.ServerName) > maxHostnameLen || strings.ContainsAny(s.ServerName, " /:@") {
		return &SettingError{Field: "server_name", Reason: "expected a DNS name"}
	}
	return nil
}

// checkHeaderFields checks hostname and app_name: RFC 5424 allows 1 to 255
// (48) printable US-ASCII characters, no space.
func checkHeaderFields(s *syslogSettings) error {
	for _, f := range []struct {
		name, v string
		max     int
		empty   bool
	}{{"hostname", s.Hostname, maxHostnameLen, true}, {"app_name", s.AppName, maxAppNameLen, false}} {
		if f.v == "" && f.empty {
			continue
		}
		if f.v == "" || len(f.v) > f.max || !printASCII(f.v) || f.v == "-" {
			return &SettingError{Field: f.name, Reason: fmt.Sprintf("expected 1 to %d printable ASCII characters without spaces", f.max)}
		}
	}
	return nil
}

func checkFacility(s *syslogSettings) error {
	if _, ok := facilityCode(s.Facility); !ok {
		return &SettingError{Field: "facility", Reason: "expected a facility name (kern, user, …, audit, local0 … local7) or a number from 0 to 23"}
	}
	return nil
}

func checkAck(s *syslogSettings) error {
	if s.Ack != "write" && s.Ack != "close" {
		return &SettingError{Field: "ack", Reason: `expected "write" or "close"`}
	}
	return nil
}

func facilityCode(f string) (int, bool) {
	if n, ok := facilities[f]; ok {
		return n, true
	}
	n, err := strconv.Atoi(f)
	return n, err == nil && n >= 0 && n <= 23 && strconv.Itoa(n) == f
}

// printASCII reports whether s is only PRINTUSASCII (%d33-126).
func printASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return true
}

// localHostname is this machine's name as a valid HOSTNAME, or "-".
func localHostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" || len(h) > maxHostnameLen || !printASCII(h) {
		return "-"
	}
	return h
}
