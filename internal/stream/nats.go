// SPDX-License-Identifier: Apache-2.0

package stream

// The nats kind publishes each event as one JetStream message on a
// subject, with the header Nats-Msg-Id: ORG:SEQ so that the stream drops a
// redelivered event within its duplicate window. A batch's checkpoint is
// one more message, {"checkpoint":"<note>"}, with Nats-Msg-Id
// ORG:checkpoint:SIZE and the header Trail-Checkpoint: SIZE. Deliver
// returns nil only when JetStream acknowledged (PubAck) every message.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/trailaudit/trail/internal/ledger"
)

func init() { RegisterKind("nats", natsKind{}) }

type natsSettings struct {
	URL     string `json:"url"`
	Subject string `json:"subject"`
	Token   string `json:"token,omitempty"` // secret
	Creds   string `json:"creds,omitempty"` // secret: a .creds file's content (JWT and NKey seed)
}

type natsKind struct{}

func (natsKind) Formats() []string { return []string{"json", "ocsf"} }

func (natsKind) Create(raw json.RawMessage) (Created, error) {
	var s natsSettings
	if err := cloudDecode(raw, &s); err != nil {
		return Created{}, err
	}
	if err := s.check(); err != nil {
		return Created{}, err
	}
	return Created{Settings: cloudEncode(s)}, nil
}

func (s *natsSettings) check() error {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Hostname() == "" || u.Opaque != "" {
		return &SettingError{Field: "url", Reason: "required: nats://host[:port] or tls://host[:port]"}
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return &SettingError{Field: "url", Reason: "must hold no user info (use token or creds), path or query"}
	}
	if !natsSubjectOK(s.Subject) {
		return &SettingError{Field: "subject", Reason: "required: a NATS subject of at most 255 characters, dot-separated non-empty tokens, no wildcards (* >) or spaces"}
	}
	if s.Token != "" && s.Creds != "" {
		return &SettingError{Field: "creds", Reason: "give either token or creds, not both"}
	}
	if len(s.Token) > 4096 {
		return &SettingError{Field: "token", Reason: "longer than 4096 bytes"}
	}
	if s.Creds != "" {
		if _, _, err := natsCreds(s.Creds); err != nil {
			return &SettingError{Field: "creds", Reason: "not the content of a NATS .creds file (a user JWT and an NKey seed): " + err.Error()}
		}
	}
	return nil
}

func natsSubjectOK(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n*>") {
			return false
		}
	}
	return true
}

func natsCreds(creds string) (jwt, seed string, err error) {
	jwt, err = nkeys.ParseDecoratedJWT([]byte(creds))
	if err != nil {
		return "", "", err
	}
	kp, err := nkeys.ParseDecoratedNKey([]byte(creds))
	if err != nil {
		return "", "", err
	}
	sb, err := kp.Seed()
	if err != nil {
		return "", "", err
	}
	return jwt, string(sb), nil
}

func (natsKind) Public(raw json.RawMessage) map[string]any {
	var s natsSettings
	if json.Unmarshal(raw, &s) != nil {
		return map[string]any{}
	}
	auth := "none"
	switch {
	case s.Token != "":
		auth = "token"
	case s.Creds != "":
		auth = "creds"
	}
	return map[string]any{"url": s.URL, "subject": s.Subject, "auth": auth}
}

func (natsKind) Open(raw json.RawMessage, env Env) (Sink, error) {
	var s natsSettings
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("nats: stored settings: %w", err)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("nats: stored settings: %w", err)
	}
	if env.Dial == nil {
		return nil, errors.New("nats: no dialer")
	}
	return &natsSink{s: s, dial: env.Dial}, nil
}

// natsSink connects on the first delivery (and again after the
// connection closed), so an unreachable server is a failed delivery.
type natsSink struct {
	s    natsSettings
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	nc   *nats.Conn
	js   jetstream.JetStream
}

// natsDialer connects through Env.Dial, so the server's address rules
// apply to every (re)connection.
type natsDialer struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (d natsDialer) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.dial(ctx, network, addr)
}

func (k *natsSink) connect() (jetstream.JetStream, error) {
	if k.nc != nil && !k.nc.IsClosed() {
		return k.js, nil
	}
	opts := []nats.Option{nats.Name("trail stream"), nats.SetCustomDialer(natsDialer{k.dial}), nats.Timeout(10 * time.Second)}
	switch {
	case k.s.Token != "":
		opts = append(opts, nats.Token(k.s.Token))
	case k.s.Creds != "":
		jwt, seed, err := natsCreds(k.s.Creds)
		if err != nil {
			return nil, fmt.Errorf("nats: creds: %w", err)
		}
		opts = append(opts, nats.UserJWTAndSeed(jwt, seed))
	}
	nc, err := nats.Connect(k.s.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connecting to %s: %w", k.s.URL, err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(natsWindow*2))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: %w", err)
	}
	k.nc, k.js = nc, js
	return js, nil
}

// natsWindow is how many messages are in flight before Deliver waits for
// their acknowledgements.
const natsWindow = 1000

// natsAckTimeout bounds the wait for one window's acknowledgements.
const natsAckTimeout = 30 * time.Second

func (k *natsSink) Deliver(ctx context.Context, b *Batch) error {
	if err := checkRendered("nats", b); err != nil {
		return err
	}
	js, err := k.connect()
	if err != nil {
		return err
	}
	msgs := make([]*nats.Msg, 0, len(b.Events)+1)
	for i, ev := range b.Events {
		seq := strconv.FormatInt(ev.Seq, 10)
		m := nats.NewMsg(k.s.Subject)
		m.Data = b.Rendered[i]
		m.Header.Set(jetstream.MsgIDHeader, b.Org+":"+seq)
		m.Header.Set("Trail-Org", b.Org)
		m.Header.Set("Trail-Seq", seq)
		msgs = append(msgs, m)
	}
	if b.Checkpoint != "" {
		size, err := checkpointSize(b.Checkpoint)
		if err != nil {
			return fmt.Errorf("nats: %w", err)
		}
		m := nats.NewMsg(k.s.Subject)
		m.Data = checkpointLine(b)
		m.Header.Set(jetstream.MsgIDHeader, b.Org+":checkpoint:"+size)
		m.Header.Set("Trail-Org", b.Org)
		m.Header.Set("Trail-Checkpoint", size)
		msgs = append(msgs, m)
	}
	for len(msgs) > 0 {
		n := min(len(msgs), natsWindow)
		if err := k.publish(ctx, js, msgs[:n]); err != nil {
			return err
		}
		msgs = msgs[n:]
	}
	return nil
}

// publish sends msgs and waits until JetStream acknowledged each.
func (k *natsSink) publish(ctx context.Context, js jetstream.JetStream, msgs []*nats.Msg) error {
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("nats: publishing %s %s: %w", jetstream.MsgIDHeader, m.Header.Get(jetstream.MsgIDHeader), err)
		}
		futures = append(futures, f)
	}
	timeout := time.NewTimer(natsAckTimeout)
	defer timeout.Stop()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("nats: JetStream did not acknowledge %s %s: %w", jetstream.MsgIDHeader, f.Msg().Header.Get(jetstream.MsgIDHeader), err)
		case <-timeout.C:
			return fmt.Errorf("nats: no JetStream acknowledgement within %v (is a stream bound to subject %q?)", natsAckTimeout, k.s.Subject)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// checkpointSize returns a signed checkpoint's size, as text.
func checkpointSize(note string) (string, error) {
	text, _, ok := ledger.SplitNote(note)
	if !ok {
		return "", errors.New("the batch's checkpoint is not a signed note")
	}
	c, err := ledger.ParseCheckpoint(text)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(c.Size, 10), nil
}

func (k *natsSink) Close() error {
	if k.nc != nil {
		k.nc.Close()
	}
	return nil
}
