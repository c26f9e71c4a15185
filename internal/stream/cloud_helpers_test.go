// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/stream"
)

// loopbackEnv is the Env the server gives sinks with
// --stream-allow-private: plain dials.
func loopbackEnv() stream.Env {
	var d net.Dialer
	return stream.Env{Dial: d.DialContext, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// openKind validates settings the way the API does and opens a sink.
func openKind(t testing.TB, kind string, settings string) (stream.Sink, stream.Created) {
	t.Helper()
	k, ok := stream.LookupKind(kind)
	if !ok {
		t.Fatalf("kind %q is not registered", kind)
	}
	c, err := k.Create([]byte(settings))
	if err != nil {
		t.Fatalf("Create(%s): %v", settings, err)
	}
	s, err := k.Open(c.Settings, loopbackEnv())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

// settingError asserts that Create refuses settings naming field.
func settingError(t *testing.T, kind, settings, field string) {
	t.Helper()
	k, _ := stream.LookupKind(kind)
	_, err := k.Create([]byte(settings))
	se, ok := err.(*stream.SettingError)
	if !ok {
		t.Errorf("%s Create(%s) = %v, want a *SettingError on %q", kind, settings, err, field)
		return
	}
	if se.Field != field {
		t.Errorf("%s Create(%s) names field %q (%v), want %q", kind, settings, se.Field, se, field)
	}
}

func checkpointJSON(note string) []byte {
	return mustJSON(map[string]string{"checkpoint": note})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
