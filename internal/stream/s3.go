// SPDX-License-Identifier: Apache-2.0

package stream

// The s3 kind: each batch becomes one gzip'd NDJSON object in any
// S3-compatible store, named so that a listing sorts by seq:
//
//	PREFIX/ORG/YYYY/MM/DD/<first_seq>-<last_seq>.ndjson.gz
//
// (seqs zero-padded to 19 digits, the date the UTC day the batch's first
// event was received). Each line is one event as rendered by the format;
// when the batch carries a checkpoint, the object's last line is
// {"checkpoint":"<signed note>"}, so an object and its checkpoint land in
// one PUT. A batch with no events that carries a checkpoint (the log is
// idle) is the object PREFIX/ORG/YYYY/MM/DD/<size>-checkpoint.ndjson.gz.
// The same batch always gets the same name and the same bytes, so a retry
// overwrites the object with itself.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/trailaudit/trail/internal/sigv4"
)

func init() { RegisterKind("s3", s3Kind{}) }

// s3Settings are the s3 kind's stored settings.
type s3Settings struct {
	Endpoint        string `json:"endpoint,omitempty"`
	Region          string `json:"region"`
	Bucket          string `json:"bucket"`
	Prefix          string `json:"prefix,omitempty"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	PathStyle       bool   `json:"path_style,omitempty"`
}

type s3Kind struct{}

func (s3Kind) Formats() []string { return []string{"json", "ocsf"} }

var (
	s3BucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	s3PrefixPattern = regexp.MustCompile(`^[A-Za-z0-9!_.*'()/-]*$`)
	s3RegionPattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
)

func (s3Kind) Create(raw json.RawMessage) (Created, error) {
	var s s3Settings
	if err := cloudDecode(raw, &s); err != nil {
		return Created{}, err
	}
	if err := s.check(); err != nil {
		return Created{}, err
	}
	return Created{Settings: cloudEncode(s)}, nil
}

func (s *s3Settings) check() error {
	if !s3RegionPattern.MatchString(s.Region) {
		return &SettingError{Field: "region", Reason: "required: the bucket's region, e.g. us-east-1 (lower-case letters, digits and -)"}
	}
	if s.Endpoint == "" {
		s.Endpoint = "https://s3." + s.Region + ".amazonaws.com"
	}
	u, err := cloudURL("endpoint", s.Endpoint)
	if err != nil {
		return err
	}
	if u.Path != "" {
		return &SettingError{Field: "endpoint", Reason: "must have no path: https://host[:port]"}
	}
	s.Endpoint = u.String()
	if !s3BucketPattern.MatchString(s.Bucket) || strings.Contains(s.Bucket, "..") {
		return &SettingError{Field: "bucket", Reason: "required: a bucket name of 3 to 63 lower-case letters, digits, '.' and '-'"}
	}
	s.Prefix = strings.Trim(s.Prefix, "/")
	if len(s.Prefix) > 512 || !s3PrefixPattern.MatchString(s.Prefix) || strings.Contains(s.Prefix, "//") || hasDotSegment(s.Prefix) {
		return &SettingError{Field: "prefix", Reason: "at most 512 of A-Z a-z 0-9 ! _ . * ' ( ) - and '/' between non-empty segments other than . and .."}
	}
	if err := cloudRequired("access_key_id", s.AccessKeyID, "the access key id"); err != nil {
		return err
	}
	if err := cloudRequired("secret_access_key", s.SecretAccessKey, "the secret access key"); err != nil {
		return err
	}
	if strings.Contains(s.Bucket, ".") && !s.PathStyle && u.Scheme == "https" {
		return &SettingError{Field: "path_style", Reason: "a bucket name with '.' needs path_style: true over https (the certificate does not cover it)"}
	}
	return nil
}

func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func (s3Kind) Public(raw json.RawMessage) map[string]any {
	var s s3Settings
	if json.Unmarshal(raw, &s) != nil {
		return map[string]any{}
	}
	return map[string]any{"endpoint": s.Endpoint, "region": s.Region, "bucket": s.Bucket,
		"prefix": s.Prefix, "access_key_id": s.AccessKeyID, "path_style": s.PathStyle}
}

func (s3Kind) Open(raw json.RawMessage, env Env) (Sink, error) {
	var s s3Settings
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("s3: stored settings: %w", err)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("s3: stored settings: %w", err)
	}
	client := env.HTTP
	if client == nil {
		return nil, fmt.Errorf("s3: no HTTP client")
	}
	return &s3Sink{s: s, client: client, signer: sigv4.Signer{KeyID: s.AccessKeyID, Secret: s.SecretAccessKey, Region: s.Region, Service: "s3"},
		now: time.Now, keys: map[string]string{}}, nil
}

type s3Sink struct {
	s      s3Settings
	client *http.Client
	signer sigv4.Signer
	now    func() time.Time

	mu   sync.Mutex
	keys map[string]string // batch id → object key, for batches named by delivery time
}

// ObjectKey returns the key under which the s3 kind stores a batch.
func (k *s3Sink) objectKey(b *Batch) string {
	day := time.Time{}
	if len(b.Events) > 0 {
		day = eventTime(b.Events[0].Data, "received_at")
	}
	name := fmt.Sprintf("%019d-%019d.ndjson.gz", b.FirstSeq, b.LastSeq)
	if len(b.Events) == 0 {
		name = fmt.Sprintf("%019d-checkpoint.ndjson.gz", b.LastSeq+1)
	}
	if day.IsZero() {
		// Not from the events: the day of the first attempt, kept for
		// retries of the same batch.
		k.mu.Lock()
		defer k.mu.Unlock()
		if key, ok := k.keys[b.ID]; ok {
			return key
		}
		day = k.now().UTC()
		clear(k.keys)
		defer func() { k.keys[b.ID] = s3Join(k.s.Prefix, b.Org, day.Format("2006/01/02"), name) }()
	}
	return s3Join(k.s.Prefix, b.Org, day.Format("2006/01/02"), name)
}

func s3Join(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "/")
}

// s3Object renders a batch as the object's bytes: gzip'd NDJSON, the
// checkpoint line last. Equal batches give equal bytes.
func s3Object(b *Batch) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	for i, line := range b.Rendered {
		if bytes.IndexByte(line, '\n') >= 0 {
			return nil, fmt.Errorf("s3: event seq %d renders with a newline: not NDJSON", b.Events[i].Seq)
		}
		zw.Write(line)
		zw.Write([]byte{'\n'})
	}
	if b.Checkpoint != "" {
		zw.Write(checkpointLine(b))
		zw.Write([]byte{'\n'})
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (k *s3Sink) Deliver(ctx context.Context, b *Batch) error {
	if err := checkRendered("s3", b); err != nil {
		return err
	}
	if len(b.Events) == 0 && b.Checkpoint == "" {
		return nil // every event left out by the filter: nothing to write
	}
	body, err := s3Object(b)
	if err != nil {
		return err
	}
	return k.put(ctx, k.objectKey(b), body)
}

// objectURL returns the URL of key in the bucket.
func (k *s3Sink) objectURL(key string) *url.URL {
	u, _ := url.Parse(k.s.Endpoint)
	path := "/" + key
	if k.s.PathStyle {
		path = "/" + k.s.Bucket + path
	} else {
		u.Host = k.s.Bucket + "." + u.Host
	}
	u.Path, u.RawPath = path, sigv4.Escape(path, false)
	return u
}

func (k *s3Sink) put(ctx context.Context, key string, body []byte) error {
	u := k.objectURL(key)
	req, err := http.NewRequest(http.MethodPut, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	req.URL = u
	req.Header.Set("Content-Type", "application/gzip")
	// Buckets with S3 Object Lock (write once, read many: a common home
	// for audit logs) refuse a PUT without an integrity header.
	sum := md5.Sum(body)
	req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	k.signer.Sign(req, sigv4.PayloadHash(body), k.now())
	if err := cloudSend(ctx, k.client, "s3", req, s3ErrorBody); err != nil {
		return fmt.Errorf("PUT s3://%s/%s: %w", k.s.Bucket, key, err)
	}
	return nil
}

// s3ErrorBody reads S3's <Error><Code>…</Code><Message>…</Message></Error>.
func s3ErrorBody(body []byte) (string, string) {
	var e struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &e) != nil {
		return "", ""
	}
	return e.Code, e.Message
}

func (k *s3Sink) Close() error { return nil }
