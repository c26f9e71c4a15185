// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/stream"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700:4700::1111": true, "151.101.1.69": true,
		"127.0.0.1": false, "127.8.9.10": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false,
		"192.168.1.1": false, "169.254.169.254": false, "fe80::1": false, "fc00::1": false, "fd12::1": false,
		"0.0.0.0": false, "::": false, "100.64.0.1": false, "224.0.0.1": false, "255.255.255.255": false,
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "::ffff:8.8.8.8": true, "64:ff9b::a00:1": false,
		"2002:a00:1::": false, "192.0.2.1": false, "198.18.0.1": false, "240.0.0.1": false, "ff02::1": false,
	} {
		if got := stream.Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestDialRefusesNonPublic: the check applies to the address connected
// to, after resolution: a name that resolves to loopback is refused too
// (DNS rebinding), and nothing is sent.
func TestDialRefusesNonPublic(t *testing.T) {
	r := newReceiver(t)
	_, port, _ := net.SplitHostPort(r.srv.Listener.Addr().String())
	strict := stream.NewEnv(false)
	for _, addr := range []string{r.srv.Listener.Addr().String(), "localhost:" + port, "[::ffff:127.0.0.1]:" + port} {
		conn, err := strict.Dial(t.Context(), "tcp", addr)
		if err == nil {
			conn.Close()
			t.Errorf("Dial(%s) connected, want it refused", addr)
		} else if !errors.Is(err, stream.ErrNotPublic) {
			t.Errorf("Dial(%s): %v, want ErrNotPublic", addr, err)
		}
	}
	resp, err := strict.HTTP.Post(r.srv.URL, "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
		t.Error("HTTP to loopback went through")
	} else if !errors.Is(err, stream.ErrNotPublic) {
		t.Errorf("HTTP to loopback: %v, want ErrNotPublic", err)
	}
	if len(r.deliveries()) != 0 {
		t.Error("the receiver got a request")
	}
	open := stream.NewEnv(true)
	resp, err = open.HTTP.Post(r.srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("with private addresses allowed: %v", err)
	}
	resp.Body.Close()
}

// TestCreateRefusesNonPublic: creating a stream to a non-public address
// is a 422 naming the flag; with it, the same request succeeds.
func TestCreateRefusesNonPublic(t *testing.T) {
	e := newEnv(t, stream.Config{})
	for _, url := range []string{"http://127.0.0.1:9/", "http://localhost:9/", "https://10.0.0.8/", "https://169.254.169.254/latest", "https://[fd00::1]/"} {
		_, _, err := e.m.Create(t.Context(), "acme", admin, []byte(`{"name":"x","kind":"webhook","url":"`+url+`"}`))
		if audit.ErrorCode(err) != audit.CodeUnprocessable || !strings.Contains(err.Error(), "--stream-allow-private") {
			t.Errorf("Create(%s): %v, want 422 naming --stream-allow-private", url, err)
		}
	}
	if list, _ := e.m.List(t.Context(), "acme"); len(list) != 0 {
		t.Errorf("%d streams stored", len(list))
	}
	open := newEnv(t, stream.Config{AllowPrivate: true})
	open.create("acme", `{"name":"x","kind":"webhook","url":"http://127.0.0.1:9/"}`)
}

// TestDeliveryRefusedAtConnect: a stream stored with a name that resolves
// to a private address (created while private addresses were allowed, or
// a name that resolved elsewhere then) fails at connect time on a strict
// server: the receiver gets nothing and the outcome says why.
func TestDeliveryRefusedAtConnect(t *testing.T) {
	e := newIdleEnv(t, stream.Config{AllowPrivate: true})
	r := newReceiver(t)
	_, port, _ := net.SplitHostPort(r.srv.Listener.Addr().String())
	st, _ := e.create("acme", `{"name":"x","kind":"webhook","url":"http://localhost:`+port+`/"}`)
	strict := stream.New(stream.Config{Service: e.svc, Logger: quiet(), Holder: "strict", RetryMin: 5 * time.Millisecond})
	res, err := strict.Test(t.Context(), "acme", st.ID, admin)
	if err != nil || res.OK || !strings.Contains(res.Error, "not a public") {
		t.Errorf("Test on a strict server = %+v, %v; want refused as not public", res, err)
	}
	e.ingest("acme", 3)
	e.run(strict)
	eventually(t, "the refusal recorded", func() bool {
		v, err := strict.Get(t.Context(), "acme", st.ID)
		return err == nil && strings.Contains(v.LastError, "not a public") && v.DeliveredSeq == -1
	})
	if n := len(r.deliveries()); n != 0 {
		t.Errorf("the receiver got %d deliveries", n)
	}
	if res, err := e.m.Test(t.Context(), "acme", st.ID, admin); err != nil || !res.OK {
		t.Errorf("Test with private addresses allowed = %+v, %v", res, err)
	}
}

// TestEveryKindRefusesNonPublic: each kind says where it connects, so a
// private destination of any kind is refused at creation; the same
// settings with a public host pass that check.
func TestEveryKindRefusesNonPublic(t *testing.T) {
	e := newIdleEnv(t, stream.Config{})
	for kind, settings := range map[string]string{
		"webhook": `"url":"https://HOST/in"`,
		"syslog":  `"address":"HOST:6514","tls":true`,
		"s3":      `"endpoint":"https://HOST:9000","region":"us-east-1","bucket":"audit","access_key_id":"k","secret_access_key":"s","path_style":true`,
		"nats":    `"url":"nats://HOST:4222","subject":"audit.trail"`,
		"splunk":  `"url":"https://HOST:8088","token":"t"`,
		"datadog": `"url":"https://HOST","api_key":"k"`,
	} {
		for host, public := range map[string]bool{"10.1.2.3": false, "169.254.169.254": false, "[::1]": false, "192.168.0.10": false, "151.101.1.69": true} {
			body := `{"name":"` + kind + host + `","kind":"` + kind + `",` + strings.ReplaceAll(settings, "HOST", host) + `}`
			_, _, err := e.m.Create(t.Context(), "acme", admin, []byte(body))
			switch {
			case public && err != nil:
				t.Errorf("%s to %s: %v, want it created", kind, host, err)
			case !public && (audit.ErrorCode(err) != audit.CodeUnprocessable || !strings.Contains(err.Error(), "--stream-allow-private")):
				t.Errorf("%s to %s: %v, want 422 naming --stream-allow-private", kind, host, err)
			}
		}
	}
}
