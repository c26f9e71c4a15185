// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// Timeouts of a syslog delivery when its context has no deadline.
const (
	syslogIOTimeout = 30 * time.Second
	// syslogProbe is how long Deliver waits, before writing on a
	// connection it already holds, to see whether the receiver closed it,
	// when it cannot look at the socket (peek).
	syslogProbe = time.Millisecond
	// syslogTicketProbe is how long it lets TLS read what the receiver
	// sent after the handshake (session tickets) before writing.
	syslogTicketProbe = 50 * time.Millisecond
)

// syslogSeverity maps a severity to the RFC 5424 severity of the PRI:
// informational (6), notice (5), warning (4).
var syslogSeverity = [...]int{sevInfo: 6, sevLow: 5, sevMedium: 4}

// syslogSink holds one connection to a receiver, opened by the first
// Deliver and again after any error.
type syslogSink struct {
	s        syslogSettings
	env      Env
	tls      *tls.Config // nil: plain TCP
	facility int
	hostname string

	raw  net.Conn // the TCP connection
	conn net.Conn // raw, or the TLS connection over it
	buf  []byte
}

func newSyslogSink(s syslogSettings, env Env) (*syslogSink, error) {
	fac, _ := facilityCode(s.Facility)
	k := &syslogSink{s: s, env: env, facility: fac, hostname: s.Hostname}
	if k.hostname == "" {
		k.hostname = localHostname()
	}
	if s.TLS {
		host, _, _ := net.SplitHostPort(s.Address)
		k.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if s.ServerName != "" {
			k.tls.ServerName = s.ServerName
		}
		if s.CAPEM != "" {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM([]byte(s.CAPEM)) // checked by parseSyslogSettings
			k.tls.RootCAs = pool
		}
	}
	return k, nil
}

// Deliver sends one message per event, then one with the checkpoint when
// the batch has one. It returns nil once every message is written to the
// connection (ack "write"), or once the receiver has closed the connection
// after reading them all (ack "close"). On any error the connection is
// closed; the next Deliver reconnects and the engine sends the whole batch
// again.
func (k *syslogSink) Deliver(ctx context.Context, b *Batch) error {
	msgs, err := k.frame(b)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := k.send(ctx, msgs); err != nil {
		k.drop()
		if ctx.Err() != nil {
			return fmt.Errorf("syslog %s: %w", k.s.Address, context.Cause(ctx))
		}
		return fmt.Errorf("syslog %s: %w", k.s.Address, err)
	}
	return nil
}

// frame renders the batch as RFC 6587 octet-counted RFC 5424 messages.
func (k *syslogSink) frame(b *Batch) ([]byte, error) {
	render := b.Rendered
	if len(render) != len(b.Events) {
		f, ok := LookupFormat(b.Format)
		if !ok || (b.Format != "cef" && b.Format != "json") {
			return nil, fmt.Errorf("stream: syslog: format %q not supported (cef or json)", b.Format)
		}
		render = make([][]byte, len(b.Events))
		for i, ev := range b.Events {
			var err error
			if render[i], err = f(nil, ev); err != nil {
				return nil, err
			}
		}
	}
	buf := k.buf[:0]
	for i, ev := range b.Events {
		r, err := decodeHead(ev)
		if err != nil {
			return nil, err
		}
		buf = k.appendMessage(buf, syslogSeverity[severityOf(r)], r.occurred, "audit", render[i])
	}
	if b.Checkpoint != "" {
		buf = k.appendMessage(buf, syslogSeverity[sevInfo], time.Now(), "checkpoint", checkpointMessage(b))
	}
	k.buf = buf
	return buf, nil
}

// appendMessage appends "LEN SP <PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID - MSG".
func (k *syslogSink) appendMessage(dst []byte, sev int, at time.Time, msgid string, msg []byte) []byte {
	var head [512]byte
	h := append(head[:0], '<')
	h = strconv.AppendInt(h, int64(k.facility*8+sev), 10)
	h = append(h, ">1 "...)
	h = at.UTC().AppendFormat(h, "2006-01-02T15:04:05.000000Z")
	h = append(h, ' ')
	h = append(h, k.hostname...)
	h = append(h, ' ')
	h = append(h, k.s.AppName...)
	h = append(h, " - "...)
	h = append(h, msgid...)
	h = append(h, " - "...)
	dst = strconv.AppendInt(dst, int64(len(h)+len(msg)), 10)
	dst = append(dst, ' ')
	dst = append(dst, h...)
	return append(dst, msg...)
}

// checkpointMessage is the checkpoint in the batch's format: a CEF line
// with act=checkpoint and the note in msg, or {"org":…,"checkpoint":…}.
func checkpointMessage(b *Batch) []byte {
	if b.Format == "cef" {
		m := []byte("CEF:0|")
		for _, h := range []string{cefVendor, cefProduct, ProductVersion, "checkpoint", "Signed checkpoint"} {
			m = appendCEFHeader(m, h)
			m = append(m, '|')
		}
		m = append(m, "1|act=checkpoint cs1Label=org cs1="...)
		m = appendCEFValue(m, b.Org)
		m = append(m, " msg="...)
		return appendCEFValue(m, b.Checkpoint)
	}
	m := append([]byte(`{"org":`), quoteJSON(b.Org)...)
	m = append(m, `,"checkpoint":`...)
	m = append(m, quoteJSON(b.Checkpoint)...)
	return append(m, '}')
}

// send writes msgs on the connection, connecting first when needed.
func (k *syslogSink) send(ctx context.Context, msgs []byte) error {
	if k.conn != nil && k.peerClosed() {
		k.drop()
	}
	if k.conn == nil {
		if err := k.connect(ctx); err != nil {
			return err
		}
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(syslogIOTimeout)
	}
	if err := k.conn.SetDeadline(deadline); err != nil {
		return err
	}
	raw := k.raw // drop may clear k.raw while the callback runs
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := k.conn.Write(msgs); err != nil {
		return err
	}
	if k.s.Ack == "close" {
		return k.closeAndWait()
	}
	return k.conn.SetDeadline(time.Time{})
}

func (k *syslogSink) connect(ctx context.Context) error {
	raw, err := k.env.Dial(ctx, "tcp", k.s.Address)
	if err != nil {
		return err
	}
	k.raw, k.conn = raw, raw
	if k.tls == nil {
		return nil
	}
	tc := tls.Client(raw, k.tls)
	k.conn = tc
	if err := tc.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	return nil
}

// closeAndWait half-closes the connection and reads until the receiver
// closes its side: it has then read every byte sent (a syslog receiver
// sends nothing back).
func (k *syslogSink) closeAndWait() error {
	cw, ok := k.conn.(interface{ CloseWrite() error })
	if !ok {
		return errors.New(`ack "close": the connection cannot be half-closed`)
	}
	if err := cw.CloseWrite(); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, k.conn)
	if errors.Is(err, io.ErrUnexpectedEOF) { // TLS peer closed without close_notify
		err = nil
	}
	k.drop()
	return err
}

// peekState is what peek learns of a connection's receive side.
type peekState int

const (
	peekUnknown peekState = iota // no access to the socket
	peekOpen                     // nothing pending: the peer is there
	peekData                     // the peer sent bytes
	peekClosed                   // the peer closed or reset the connection
)

// peerClosed reports whether the receiver closed the connection (or sent
// data, which a syslog receiver never does, except TLS post-handshake
// messages): such a connection is not written to. A TCP write to a closed
// peer can succeed, so without this check the first batch after the
// receiver restarts would be lost.
func (k *syslogSink) peerClosed() bool {
	switch peek(k.raw) {
	case peekOpen:
		return false
	case peekClosed:
		return true
	case peekData:
		if k.tls == nil {
			return true
		}
		// TLS 1.3 session tickets: let crypto/tls consume them.
		return k.readProbe(syslogTicketProbe)
	}
	return k.readProbe(syslogProbe)
}

// readProbe reads through the connection (TLS included) for up to d and
// reports whether anything but the deadline came back. Without socket
// access it is the only probe; under heavy load its deadline can pass
// before the read looks, and it then misses a close.
func (k *syslogSink) readProbe(d time.Duration) bool {
	if err := k.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return true
	}
	var one [1]byte
	_, err := k.conn.Read(one[:])
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	return k.conn.SetReadDeadline(time.Time{}) != nil
}

// drop closes the connection (if any) and forgets it.
func (k *syslogSink) drop() {
	if k.conn != nil {
		_ = k.conn.Close()
	}
	k.conn, k.raw = nil, nil
}

// Close closes the connection. For TLS it sends close_notify first.
func (k *syslogSink) Close() error {
	if k.conn == nil {
		return nil
	}
	err := k.conn.Close()
	k.conn, k.raw = nil, nil
	return err
}
