// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/stream"
)

func TestSyslogCreateValidates(t *testing.T) {
	kind, _ := stream.LookupKind("syslog")
	ca := writeTLSFiles(t, t.TempDir())
	for _, tc := range []struct {
		settings, field string
	}{
		{`{}`, "address"},
		{`{"address":""}`, "address"},
		{`{"address":"siem.example.com"}`, "address"},
		{`{"address":"siem.example.com:0"}`, "address"},
		{`{"address":"siem.example.com:65536"}`, "address"},
		{`{"address":"siem.example.com:x"}`, "address"},
		{`{"address":":514"}`, "address"},
		{`{"address":"user@siem.example.com:514"}`, "address"},
		{`{"address":"` + strings.Repeat("a", 300) + `:514"}`, "address"},
		{`{"address":5140}`, "address"},
		{`{"address":"siem:514","tls":"yes"}`, "tls"},
		{`{"address":"siem:514","ca_pem":"` + cefJSONEscape(ca) + `"}`, "ca_pem"},
		{`{"address":"siem:514","server_name":"siem"}`, "server_name"},
		{`{"address":"siem:514","tls":true,"ca_pem":"not a pem"}`, "ca_pem"},
		{`{"address":"siem:514","tls":true,"ca_pem":"` + strings.Repeat("A", 70000) + `"}`, "ca_pem"},
		{`{"address":"siem:514","tls":true,"server_name":"a b"}`, "server_name"},
		{`{"address":"siem:514","hostname":"has space"}`, "hostname"},
		{`{"address":"siem:514","hostname":"-"}`, "hostname"},
		{`{"address":"siem:514","hostname":"` + strings.Repeat("h", 256) + `"}`, "hostname"},
		{`{"address":"siem:514","app_name":""}`, "app_name"},
		{`{"address":"siem:514","app_name":"` + strings.Repeat("a", 49) + `"}`, "app_name"},
		{`{"address":"siem:514","app_name":"tr\u00e4il"}`, "app_name"},
		{`{"address":"siem:514","facility":"local8"}`, "facility"},
		{`{"address":"siem:514","facility":"24"}`, "facility"},
		{`{"address":"siem:514","facility":"07"}`, "facility"},
		{`{"address":"siem:514","ack":"sync"}`, "ack"},
		{`{"address":"siem:514","port":514}`, "port"},
		{`[1]`, "settings"},
	} {
		_, err := kind.Create(json.RawMessage(tc.settings))
		var se *stream.SettingError
		if !errors.As(err, &se) || se.Field != tc.field || se.Reason == "" {
			t.Errorf("Create(%.80s) = %v, want a SettingError on %s", tc.settings, err, tc.field)
		}
	}
}

func TestSyslogCreateDefaults(t *testing.T) {
	kind, _ := stream.LookupKind("syslog")
	if got := kind.Formats(); !reflect.DeepEqual(got, []string{"cef", "json"}) {
		t.Errorf("Formats() = %v, want [cef json] (cef the default)", got)
	}
	c, err := kind.Create(json.RawMessage(`{"address":"siem.example.com:6514","tls":true}`))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(c.Settings, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"address": "siem.example.com:6514", "tls": true, "app_name": "trail", "facility": "local0", "ack": "write"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored settings %v, want %v", got, want)
	}
	if pub := kind.Public(c.Settings); !reflect.DeepEqual(pub, want) {
		t.Errorf("Public = %v, want %v", pub, want)
	}
	if c.Reveal != nil {
		t.Errorf("Reveal = %v, want nothing: a syslog destination has no secret", c.Reveal)
	}
	for _, ok := range []string{`{"address":"[::1]:514","facility":"23"}`, `{"address":"10.0.0.1:514","facility":"audit","ack":"close"}`} {
		if _, err := kind.Create(json.RawMessage(ok)); err != nil {
			t.Errorf("Create(%s): %v", ok, err)
		}
	}
}

func cefJSONEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// TestSyslogAddressed: the kind names its receiver's address, so that the
// manager refuses a non-public one at creation (422), not at every
// delivery.
func TestSyslogAddressed(t *testing.T) {
	kind, _ := stream.LookupKind("syslog")
	a, ok := kind.(stream.Addressed)
	if !ok {
		t.Fatal("the syslog kind does not implement stream.Addressed")
	}
	c, err := kind.Create(json.RawMessage(`{"address":"10.1.2.3:6514","tls":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Addresses(c.Settings); !reflect.DeepEqual(got, []string{"10.1.2.3:6514"}) {
		t.Errorf("Addresses = %v, want [10.1.2.3:6514]", got)
	}
}
