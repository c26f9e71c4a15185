// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The webhook kind POSTs each delivery to an HTTPS URL, signed per the
// Standard Webhooks specification (https://www.standardwebhooks.com):
// headers webhook-id (the Batch ID, stable across retries),
// webhook-timestamp (Unix seconds of the attempt) and webhook-signature,
// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" with the whsec_
// secret's key, or "v1a,<base64 Ed25519(id.timestamp.body)>". Body:
// {"org", "stream", "first_seq", "last_seq", "events": [...], "checkpoint"}.

// Webhook signing schemes.
const (
	SigningHMAC    = "hmac-sha256"
	SigningEd25519 = "ed25519"
)

// Secret prefixes of the Standard Webhooks specification.
const (
	secretPrefix     = "whsec_" // a symmetric secret
	publicKeyPrefix  = "whpk_"  // an Ed25519 public key
	privateKeyPrefix = "whsk_"  // an Ed25519 private key (seed)
)

// MaxURLLen bounds a webhook URL.
const MaxURLLen = 2048

// webhookSettings are a webhook destination's stored settings.
type webhookSettings struct {
	URL        string `json:"url"`
	Signing    string `json:"signing"`
	Secret     string `json:"secret,omitempty"`      // whsec_…, for hmac-sha256
	PrivateKey string `json:"private_key,omitempty"` // whsk_…, for ed25519
	PublicKey  string `json:"public_key,omitempty"`  // whpk_…, for ed25519
}

type webhookKind struct{}

func init() { RegisterKind("webhook", webhookKind{}) }

func (webhookKind) Formats() []string { return []string{"json", "ocsf"} }

func (webhookKind) Create(raw json.RawMessage) (Created, error) {
	var req struct {
		URL     *string `json:"url"`
		Signing string  `json:"signing"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Created{}, &SettingError{Field: "settings", Reason: "a webhook takes url and signing only: " + err.Error()}
	}
	if req.URL == nil {
		return Created{}, &SettingError{Field: "url", Reason: "required: the https:// URL deliveries are POSTed to"}
	}
	if err := checkWebhookURL(*req.URL); err != nil {
		return Created{}, err
	}
	s := webhookSettings{URL: *req.URL, Signing: req.Signing}
	reveal := map[string]any{}
	switch req.Signing {
	case "", SigningHMAC:
		s.Signing = SigningHMAC
		key := make([]byte, 32)
		rand.Read(key)
		s.Secret = secretPrefix + base64.StdEncoding.EncodeToString(key)
		reveal["secret"] = s.Secret
	case SigningEd25519:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return Created{}, err
		}
		s.PrivateKey = privateKeyPrefix + base64.StdEncoding.EncodeToString(priv.Seed())
		s.PublicKey = publicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
		reveal["public_key"] = s.PublicKey
	default:
		return Created{}, &SettingError{Field: "signing", Reason: `expected "hmac-sha256" (the default) or "ed25519"`}
	}
	stored, err := json.Marshal(s)
	return Created{Settings: stored, Reveal: reveal}, err
}

// checkWebhookURL accepts https:// URLs, and http:// ones to a loopback
// host (tests, a receiver beside Trail).
func checkWebhookURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case len(s) > MaxURLLen:
		return &SettingError{Field: "url", Reason: fmt.Sprintf("at most %d bytes", MaxURLLen)}
	case err != nil || u.Host == "" || u.Opaque != "":
		return &SettingError{Field: "url", Reason: "an absolute URL such as https://siem.example.com/trail"}
	case u.Fragment != "" || u.User != nil:
		return &SettingError{Field: "url", Reason: "no #fragment and no user:password@ (the signature authenticates Trail)"}
	case u.Scheme == "https":
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
	default:
		return &SettingError{Field: "url", Reason: "an https:// URL (http:// only to a loopback address)"}
	}
	return nil
}

func loopbackHost(h string) bool {
	ip, err := netip.ParseAddr(h)
	return h == "localhost" || (err == nil && ip.IsLoopback())
}

func (webhookKind) Public(raw json.RawMessage) map[string]any {
	var s webhookSettings
	if json.Unmarshal(raw, &s) != nil {
		return map[string]any{}
	}
	out := map[string]any{"url": redactURL(s.URL), "signing": s.Signing}
	if s.PublicKey != "" {
		out["public_key"] = s.PublicKey
	}
	return out
}

// redactURL drops a URL's query values, which often carry tokens.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

func (webhookKind) Open(raw json.RawMessage, env Env) (Sink, error) {
	var s webhookSettings
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("webhook: reading settings: %w", err)
	}
	w := &webhookSink{url: s.URL, http: env.HTTP}
	switch s.Signing {
	case SigningHMAC:
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s.Secret, secretPrefix))
		if err != nil || len(key) == 0 {
			return nil, fmt.Errorf("webhook: the stored secret is not whsec_<base64>")
		}
		w.hmacKey = key
	case SigningEd25519:
		seed, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s.PrivateKey, privateKeyPrefix))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("webhook: the stored private key is not whsk_<base64 seed>")
		}
		w.edKey = ed25519.NewKeyFromSeed(seed)
	default:
		return nil, fmt.Errorf("webhook: unknown signing %q", s.Signing)
	}
	return w, nil
}

// webhookSink POSTs batches to one URL.
type webhookSink struct {
	url     string
	http    *http.Client
	hmacKey []byte
	edKey   ed25519.PrivateKey
	body    []byte // reused between deliveries
}

func (w *webhookSink) Deliver(ctx context.Context, b *Batch) error {
	w.body = AppendJSONBody(w.body[:0], b)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(w.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Trail")
	req.Header.Set("webhook-id", b.ID)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", w.sign(b.ID, ts, w.body))
	resp, err := w.http.Do(req)
	if err != nil {
		// Not the *url.Error's text: it holds the whole URL, whose query
		// may carry a token, and this error is logged and shown.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook: POST %s: %w", redactURL(w.url), err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook: the receiver answered %s: %s", resp.Status, strings.ToValidUTF8(string(snippet), "?"))
	}
	return nil
}

// sign returns the webhook-signature header value.
func (w *webhookSink) sign(id, ts string, body []byte) string {
	if w.edKey != nil {
		msg := make([]byte, 0, len(id)+len(ts)+2+len(body))
		msg = append(append(append(append(append(msg, id...), '.'), ts...), '.'), body...)
		return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(w.edKey, msg))
	}
	h := hmac.New(sha256.New, w.hmacKey)
	h.Write([]byte(id + "." + ts + "."))
	h.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func (w *webhookSink) Close() error { return nil }

// AppendJSONBody appends the JSON body of a delivery: {"org", "stream",
// "first_seq", "last_seq", "events", "checkpoint" (only when the batch
// carries one)}, where events are the rendered events as they are (each
// must be JSON: formats json and ocsf).
func AppendJSONBody(dst []byte, b *Batch) []byte {
	dst = append(dst, `{"org":`...)
	dst = appendJSONString(dst, b.Org)
	dst = append(dst, `,"stream":`...)
	dst = appendJSONString(dst, b.Stream)
	dst = append(dst, `,"first_seq":`...)
	dst = strconv.AppendInt(dst, b.FirstSeq, 10)
	dst = append(dst, `,"last_seq":`...)
	dst = strconv.AppendInt(dst, b.LastSeq, 10)
	dst = append(dst, `,"events":[`...)
	for i, r := range b.Rendered {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, r...)
	}
	dst = append(dst, ']')
	if b.Checkpoint != "" {
		dst = append(dst, `,"checkpoint":`...)
		dst = appendJSONString(dst, b.Checkpoint)
	}
	return append(dst, '}')
}

func appendJSONString(dst []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(dst, q...)
}
