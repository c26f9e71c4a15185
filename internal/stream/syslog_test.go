// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/stream"
)

var syslogEnv = stream.Env{Dial: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}

// openSyslog creates and opens a syslog destination as the engine does.
func openSyslog(t testing.TB, settings map[string]any) stream.Sink {
	t.Helper()
	return openSyslogEnv(t, settings, syslogEnv)
}

// openSyslogEnv is openSyslog with the given Env.
func openSyslogEnv(t testing.TB, settings map[string]any, env stream.Env) stream.Sink {
	t.Helper()
	kind, ok := stream.LookupKind("syslog")
	if !ok {
		t.Fatal("no syslog kind")
	}
	raw, _ := json.Marshal(settings)
	created, err := kind.Create(raw)
	if err != nil {
		t.Fatalf("Create(%s): %v", raw, err)
	}
	sink, err := kind.Open(created.Settings, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	return sink
}

// renderedBatch is a batch as the engine makes it: events rendered by format.
func renderedBatch(t testing.TB, format string, evs []storedEv) *stream.Batch {
	t.Helper()
	f, ok := stream.LookupFormat(format)
	if !ok {
		t.Fatalf("no format %s", format)
	}
	b := &stream.Batch{ID: fmt.Sprint("b-", evs[0].ev.Seq), Org: eventsOrg, Stream: "s1", Format: format,
		FirstSeq: evs[0].ev.Seq, LastSeq: evs[len(evs)-1].ev.Seq}
	for _, s := range evs {
		out, err := f(nil, s.ev)
		if err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, s.ev)
		b.Rendered = append(b.Rendered, out)
	}
	return b
}

func syslogDeliver(t testing.TB, sink stream.Sink, b *stream.Batch) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sink.Deliver(ctx, b); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
}

// syslogDeliverAll sends evs in batches of n on one sink.
func syslogDeliverAll(t testing.TB, sink stream.Sink, format string, evs []storedEv, n int) {
	t.Helper()
	for i := 0; i < len(evs); i += n {
		syslogDeliver(t, sink, renderedBatch(t, format, evs[i:min(i+n, len(evs))]))
	}
}

// TestSyslogCEFThroughRsyslog feeds every catalog type, and events whose
// values need escaping, through the syslog kind in CEF, over TCP and over
// TLS, to a real rsyslogd, and compares what rsyslog's RFC 5424 parser
// and its CEF parser (liblognorm, through mmnormalize) make of each
// message with the stored event.
func TestSyslogCEFThroughRsyslog(t *testing.T) {
	r := startRsyslog(t)
	evs := append(everyType(t), hardOnes(t)...)
	for _, mode := range []string{"tcp", "tls"} {
		t.Run(mode, func(t *testing.T) {
			settings := map[string]any{"address": fmt.Sprintf("127.0.0.1:%d", r.tcpPort), "hostname": "trail.test", "facility": "audit"}
			if mode == "tls" {
				settings = map[string]any{"address": fmt.Sprintf("127.0.0.1:%d", r.tlsPort), "tls": true, "ca_pem": r.caPEM, "hostname": "trail.test", "facility": "audit"}
			}
			syslogDeliverAll(t, openSyslog(t, settings), "cef", evs, 25)
			got := r.wait(mode, len(evs))
			for i, s := range evs {
				checkSyslogHeader(t, got[i], s, 13)
				checkCEF(t, got[i], s)
			}
		})
	}
}

// checkSyslogHeader compares rsyslog's RFC 5424 parse with the event.
func checkSyslogHeader(t *testing.T, m rsyslogMsg, s storedEv, facility int) {
	t.Helper()
	if m.ProtocolVersion != "1" || m.Hostname != "trail.test" || m.AppName != "trail" || m.MsgID != "audit" ||
		m.ProcID != "-" || m.StructuredData != "-" {
		t.Errorf("seq %d: rsyslog parsed %+v, want RFC 5424 with hostname trail.test, app trail, msgid audit, no procid, no SD", s.ev.Seq, m)
	}
	pri, err := strconv.Atoi(m.Pri)
	if err != nil || pri/8 != facility || pri%8 < 4 || pri%8 > 6 {
		t.Errorf("seq %d: PRI %q, want facility %d and severity 4 to 6", s.ev.Seq, m.Pri, facility)
	}
	at, err := time.Parse(time.RFC3339Nano, m.Timestamp)
	if err != nil || !at.Equal(s.doc.OccurredAt) {
		t.Errorf("seq %d: TIMESTAMP %q, want the occurred_at %s", s.ev.Seq, m.Timestamp, s.doc.OccurredAt)
	}
}

// cefParse is liblognorm's CEF parse.
type cefParse struct {
	DeviceVendor, DeviceProduct, DeviceVersion, SignatureID, Name, Severity string
	Extensions                                                              map[string]string
}

// cef decodes the CEF parse, which rsyslog's jsonf writes as a string
// holding the JSON object.
func (m rsyslogMsg) cef() (cefParse, error) {
	var p cefParse
	var text string
	if err := json.Unmarshal(m.CEF, &text); err != nil {
		return p, err
	}
	err := json.Unmarshal([]byte(text), &p)
	return p, err
}

// checkCEF compares rsyslog's CEF parse of m with the stored event, field
// by field, with the mapping docs/streaming-formats.md documents.
func checkCEF(t *testing.T, m rsyslogMsg, s storedEv) {
	t.Helper()
	p, err := m.cef()
	if err != nil || p.Extensions == nil {
		t.Fatalf("seq %d: rsyslog's CEF parser did not parse %q: %s (%v)", s.ev.Seq, m.Msg, m.CEF, err)
	}
	// liblognorm 2.0.6 drops the first character of the first extension
	// key when the extension starts right after the last pipe, as the CEF
	// standard's own examples do (siem-receivers.md): Trail's first key is
	// rt.
	if v, ok := p.Extensions["t"]; ok {
		delete(p.Extensions, "t")
		p.Extensions["rt"] = v
	}
	d := s.doc
	pri, _ := strconv.Atoi(m.Pri)
	wantSev := map[int]string{6: "3", 5: "5", 4: "7"}[pri%8]
	head := cefParse{DeviceVendor: "Trail", DeviceProduct: "Trail", DeviceVersion: stream.ProductVersion,
		SignatureID: d.Type, Name: d.Description, Severity: wantSev}
	gotHead := p
	gotHead.Extensions = nil
	if !reflect.DeepEqual(gotHead, head) {
		t.Errorf("seq %d: CEF header %+v, want %+v", s.ev.Seq, gotHead, head)
	}
	want := wantExtensions(s)
	for _, k := range []string{"cs3", "cs4"} { // JSON: compared as values
		var got, exp any
		if err := json.Unmarshal([]byte(p.Extensions[k]), &got); err != nil {
			t.Errorf("seq %d: %s=%q is not JSON: %v", s.ev.Seq, k, p.Extensions[k], err)
		}
		_ = json.Unmarshal([]byte(want[k]), &exp)
		if !reflect.DeepEqual(got, exp) {
			t.Errorf("seq %d: %s=%s, want %s", s.ev.Seq, k, p.Extensions[k], want[k])
		}
		delete(p.Extensions, k)
		delete(want, k)
	}
	if !reflect.DeepEqual(p.Extensions, want) {
		for k := range cefMergeKeys(p.Extensions, want) {
			if p.Extensions[k] != want[k] {
				t.Errorf("seq %d: extension %s=%q, want %q", s.ev.Seq, k, p.Extensions[k], want[k])
			}
		}
	}
}

// wantExtensions is the documented CEF extension of a stored event.
func wantExtensions(s storedEv) map[string]string {
	d := s.doc
	targets, _ := json.Marshal(d.Targets)
	w := map[string]string{
		"rt": fmt.Sprint(d.ReceivedAt.UnixMilli()), "end": fmt.Sprint(d.OccurredAt.UnixMilli()),
		"externalId": d.ID, "act": d.Type, "cat": d.Category,
		"suser": d.Actor.Name, "suid": d.Actor.ID, "cs2Label": "actorType", "cs2": d.Actor.Type,
		"msg": d.Description, "cs1Label": "org", "cs1": d.Org, "cn1Label": "seq", "cn1": fmt.Sprint(d.Seq),
		"cs3Label": "targets", "cs3": string(targets), "cs4Label": "metadata", "cs4": string(d.Metadata),
	}
	for _, tg := range d.Targets {
		if tg.Type == "user" {
			w["duser"], w["duid"] = tg.Name, tg.ID
			break
		}
	}
	if c := d.Client; c != nil {
		if strings.Contains(c.IP, ":") {
			w["c6a2Label"], w["c6a2"] = "Source IPv6 Address", c.IP
		} else {
			w["src"] = c.IP
		}
		w["requestClientApplication"] = c.UserAgent
	}
	if l := d.Location; l != nil {
		var parts []string
		for _, p := range []string{l.City, l.Region, l.Country} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		w["cs5Label"], w["cs5"] = "location", strings.TrimSpace(strings.Join(parts, ", ")+" ("+l.CountryCode+")")
	}
	if d.RecordedBy != "" {
		w["cs6Label"], w["cs6"] = "recordedBy", d.RecordedBy
	}
	for k, v := range w {
		if v == "" {
			delete(w, k)
		}
	}
	return w
}

func cefMergeKeys(a, b map[string]string) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// TestSyslogJSONThroughRsyslog sends the json format: each message's MSG
// is the event's exact stored bytes.
func TestSyslogJSONThroughRsyslog(t *testing.T) {
	r := startRsyslog(t)
	evs := everyType(t)
	sink := openSyslog(t, map[string]any{"address": fmt.Sprintf("127.0.0.1:%d", r.tcpPort), "hostname": "trail.test", "facility": "local3"})
	syslogDeliverAll(t, sink, "json", evs, 50)
	got := r.wait("tcp", len(evs))
	for i, s := range evs {
		checkSyslogHeader(t, got[i], s, 19)
		if got[i].Msg != string(s.ev.Data) {
			t.Errorf("seq %d: MSG %q, want the stored bytes %q", s.ev.Seq, got[i].Msg, s.ev.Data)
		}
	}
}

// TestSyslogCheckpoint sends a batch that carries a checkpoint, and an
// idle batch that carries only one: each is a message of its own with
// msgid "checkpoint", its note intact (line breaks escaped in CEF).
func TestSyslogCheckpoint(t *testing.T) {
	r := startRsyslog(t)
	note := "trail.test/acme\n3\nq8l2mZ3Yx1w0cEY3nS5b8sIh3Bq8p7kK2uWc4E0aX5k=\n\n— trail.test Az3p+example=\n"
	evs := everyType(t)[:3]
	cef := openSyslog(t, map[string]any{"address": fmt.Sprintf("127.0.0.1:%d", r.tcpPort), "hostname": "trail.test"})
	b := renderedBatch(t, "cef", evs)
	b.Checkpoint = note
	syslogDeliver(t, cef, b)
	syslogDeliver(t, cef, &stream.Batch{ID: "idle", Org: eventsOrg, Format: "cef", FirstSeq: 3, LastSeq: 2, Checkpoint: note})
	got := r.wait("tcp", 5)
	for _, m := range []rsyslogMsg{got[3], got[4]} {
		p, err := m.cef()
		if err != nil || m.MsgID != "checkpoint" || p.SignatureID != "checkpoint" {
			t.Fatalf("checkpoint message %+v, parsed %s", m, m.CEF)
		}
		if p.Extensions["msg"] != note || p.Extensions["cs1"] != eventsOrg {
			t.Errorf("checkpoint extensions %q, want msg %q and cs1 %q", p.Extensions, note, eventsOrg)
		}
	}
	js := openSyslog(t, map[string]any{"address": fmt.Sprintf("127.0.0.1:%d", r.tcpPort), "hostname": "trail.test"})
	syslogDeliver(t, js, &stream.Batch{ID: "idle2", Org: eventsOrg, Format: "json", FirstSeq: 3, LastSeq: 2, Checkpoint: note})
	m := r.wait("tcp", 6)[5]
	var body struct{ Org, Checkpoint string }
	if err := json.Unmarshal([]byte(m.Msg), &body); err != nil || body.Org != eventsOrg || body.Checkpoint != note {
		t.Errorf("json checkpoint message %q (%v), want org %s and the note", m.Msg, err, eventsOrg)
	}
}

// TestSyslogReconnects stops the receiver between deliveries: the delivery
// while it is down fails, and once it is back the next delivery reconnects
// and every message of it arrives (the sink notices the closed connection
// instead of writing into it).
func TestSyslogReconnects(t *testing.T) {
	evs := everyType(t)
	for _, mode := range []string{"tcp", "tls"} {
		t.Run(mode, func(t *testing.T) {
			r := startRsyslog(t)
			port, settings := r.tcpPort, map[string]any{"hostname": "trail.test"}
			if mode == "tls" {
				port, settings = r.tlsPort, map[string]any{"hostname": "trail.test", "tls": true, "ca_pem": r.caPEM}
			}
			settings["address"] = fmt.Sprintf("127.0.0.1:%d", port)
			var dialed connList
			sink := openSyslogEnv(t, settings, stream.Env{Dial: dialed.dial})
			before := len(r.read(mode))
			if err := sink.Deliver(context.Background(), renderedBatch(t, "cef", evs[:10])); err != nil {
				t.Fatalf("Deliver: %v\nrsyslogd: %s", err, r.log.String())
			}
			r.wait(mode, before+10)
			r.stop()
			// The receiver is down for the sink once its close has reached
			// the sink's socket: until then nothing on this side can tell,
			// and a write succeeds. rsyslogd's exit sends the FIN, but on a
			// loaded machine the kernel may hand it to the socket after the
			// process is reaped, so wait for that, not for a while.
			dialed.waitPeerClosed(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := sink.Deliver(ctx, renderedBatch(t, "cef", evs[10:20]))
			cancel()
			if err == nil {
				t.Fatal("Deliver with the receiver down succeeded")
			}
			r.restart()
			// As the engine would, retry while the restarted daemon's
			// listener may not be up yet; a failed attempt sends nothing
			// (it fails to connect).
			for attempt := 0; ; attempt++ {
				err := sink.Deliver(context.Background(), renderedBatch(t, "cef", evs[10:30]))
				if err == nil {
					break
				}
				if attempt == 10 {
					t.Fatalf("Deliver after the restart: %v\nrsyslogd: %s", err, r.log.String())
				}
				time.Sleep(200 * time.Millisecond)
			}
			got := r.wait(mode, before+30)
			for i, m := range got[before:] {
				if !strings.Contains(m.Msg, "externalId="+evs[i].doc.ID+" ") {
					t.Errorf("message %d after the restart is %q, want event %s", i, m.Msg, evs[i].doc.ID)
				}
			}
		})
	}
}

// connList is a Dial that keeps every connection it made.
type connList struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (l *connList) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := syslogEnv.Dial(ctx, network, addr)
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

// waitPeerClosed waits until every connection made has the peer's close
// (peerCloseArrived), failing the test after 10 s.
func (l *connList) waitPeerClosed(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	conns := slices.Clone(l.conns)
	l.mu.Unlock()
	if len(conns) == 0 {
		t.Fatal("the sink made no connection")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if !slices.ContainsFunc(conns, func(c net.Conn) bool { return !peerCloseArrived(c) }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the receiver's close never reached the sink's connection within 10 s")
		}
	}
}

// TestSyslogAckClose: with "ack": "close", Deliver half-closes and returns
// once rsyslog has closed its side, so every message is already read.
func TestSyslogAckClose(t *testing.T) {
	r := startRsyslog(t)
	evs := everyType(t)
	for _, mode := range []string{"tcp", "tls"} {
		t.Run(mode, func(t *testing.T) {
			settings := map[string]any{"address": fmt.Sprintf("127.0.0.1:%d", r.tcpPort), "hostname": "trail.test", "ack": "close"}
			if mode == "tls" {
				settings = map[string]any{"address": fmt.Sprintf("127.0.0.1:%d", r.tlsPort), "hostname": "trail.test", "ack": "close", "tls": true, "ca_pem": r.caPEM}
			}
			sink := openSyslog(t, settings)
			syslogDeliverAll(t, sink, "cef", evs, 40)
			r.wait(mode, len(evs))
		})
	}
}

// TestSyslogRefusesUntrustedServer: TLS with a CA that did not sign the
// receiver's certificate fails the handshake and delivers nothing.
func TestSyslogRefusesUntrustedServer(t *testing.T) {
	r := startRsyslog(t)
	other := writeTLSFiles(t, t.TempDir())
	sink := openSyslog(t, map[string]any{"address": fmt.Sprintf("127.0.0.1:%d", r.tlsPort), "tls": true, "ca_pem": other})
	err := sink.Deliver(context.Background(), renderedBatch(t, "cef", everyType(t)[:1]))
	var uerr x509.UnknownAuthorityError
	if err == nil || !errors.As(err, &uerr) {
		t.Fatalf("Deliver to a server signed by another CA: %v, want an unknown authority error", err)
	}
}

// TestSyslogDeliverHonoursContext: a receiver that accepts but never reads
// fills the socket buffers; Deliver then returns the context's error
// instead of blocking, and the next Deliver starts on a new connection.
func TestSyslogDeliverHonoursContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	sink := openSyslog(t, map[string]any{"address": l.Addr().String()})
	small := renderedBatch(t, "cef", everyType(t))
	big := &stream.Batch{ID: "big", Org: eventsOrg, Format: "cef"}
	for len(big.Events) < 20000 { // over 10 MB: more than the socket buffers hold
		big.Events = append(big.Events, small.Events...)
		big.Rendered = append(big.Rendered, small.Rendered...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // cancel once the sink is connected and writing
		for ; ; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			n := len(conns)
			mu.Unlock()
			if n > 0 {
				time.Sleep(300 * time.Millisecond)
				cancel()
				return
			}
		}
	}()
	err = sink.Deliver(ctx, big)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Deliver to a receiver that never reads: %v, want the context's error", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if err := sink.Deliver(ctx2, renderedBatch(t, "cef", everyType(t)[:1])); err != nil {
		t.Fatalf("small Deliver after the failed one: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(conns)
		mu.Unlock()
		if n == 2 {
			break
		}
		if n > 2 || time.Now().After(deadline) {
			t.Fatalf("%d connections, want 2 (the failed one is not reused)", n)
		}
	}
}
