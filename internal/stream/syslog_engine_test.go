// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/stream"
)

// TestSyslogThroughEngine runs a syslog destination as a user creates it:
// through the Manager, with the delivery engine, over TLS to a real
// rsyslogd. Every event arrives in seq order (CEF cn1), then the
// checkpoint of the whole log, and delivered_seq reaches the end.
func TestSyslogThroughEngine(t *testing.T) {
	r := startRsyslog(t)
	e := newEnv(t, stream.Config{AllowPrivate: true, MaxBatch: 40})
	v, _ := e.create("acme", fmt.Sprintf(`{"name":"siem","kind":"syslog","address":"127.0.0.1:%d","tls":true,"ca_pem":%q,"hostname":"trail.test"}`,
		r.tlsPort, r.caPEM))
	if v.Format != "cef" {
		t.Fatalf("created %+v, want the cef format by default", v)
	}
	for range 5 {
		e.ingest("acme", 50)
	}
	n := e.size("acme")
	var seqs []int64
	var checkpoint string
	eventually(t, "every event and the whole log's checkpoint in rsyslog", func() bool {
		seqs, checkpoint = nil, ""
		for _, m := range r.read("tls") {
			if m.MsgID == "checkpoint" {
				p, err := m.cef()
				if err == nil {
					checkpoint = p.Extensions["msg"]
				}
				continue
			}
			p, err := m.cef()
			if err != nil {
				t.Fatalf("rsyslog could not parse %q: %v", m.Msg, err)
			}
			seq, _ := strconv.ParseInt(p.Extensions["cn1"], 10, 64)
			seqs = append(seqs, seq)
		}
		return len(seqs) >= int(n) && strings.Contains(checkpoint, fmt.Sprintf("\n%d\n", n))
	})
	seen := map[int64]bool{}
	for i, s := range seqs {
		if i > 0 && s < seqs[i-1] && !seen[s] {
			t.Fatalf("seq %d arrived after %d for the first time: out of order", s, seqs[i-1])
		}
		seen[s] = true
	}
	for s := int64(0); s < n; s++ {
		if !seen[s] {
			t.Fatalf("seq %d never arrived", s)
		}
	}
	eventually(t, "delivered_seq at the end", func() bool {
		got, err := e.m.Get(t.Context(), "acme", v.ID)
		return err == nil && got.DeliveredSeq == n-1 && got.State == "active"
	})
}

// TestSyslogRefusesPrivateAddress: without --stream-allow-private, a
// syslog destination on a loopback or private address is refused at
// creation.
func TestSyslogRefusesPrivateAddress(t *testing.T) {
	e := newIdleEnv(t, stream.Config{})
	for _, addr := range []string{"127.0.0.1:6514", "10.0.0.7:514", "[::1]:6514"} {
		_, _, err := e.m.Create(t.Context(), "acme", admin, []byte(`{"name":"siem","kind":"syslog","address":"`+addr+`"}`))
		var ae *audit.Error
		if !errors.As(err, &ae) || ae.Code != audit.CodeUnprocessable {
			t.Errorf("creating a syslog destination on %s: %v, want an unprocessable error", addr, err)
		}
	}
}
