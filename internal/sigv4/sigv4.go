// SPDX-License-Identifier: Apache-2.0

// Package sigv4 signs HTTP requests with AWS Signature Version 4, header
// based, with the payload's SHA-256
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
// Hand-written for the s3 stream kind, which sends single PUT (and its
// tests GET and CreateBucket) requests: one page here, where the AWS SDK
// would add dozens of modules.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Signer signs requests for one access key, region and service ("s3").
type Signer struct {
	KeyID, Secret, Region, Service string
}

const sigV4Algorithm = "AWS4-HMAC-SHA256"

// Sign adds the X-Amz-Date, X-Amz-Content-Sha256 and Authorization
// headers to req, whose body hashes to payloadHash (hex SHA-256, see
// PayloadHash). Every header already set on req is signed (but
// User-Agent). req.URL.RawPath must be the path's S3 encoding (Escape).
func (s Signer) Sign(req *http.Request, payloadHash string, now time.Time) {
	now = now.UTC()
	amzDate := now.Format("20060102T150405Z")
	day := now.Format("20060102")
	req.Header.Set("X-Amz-Date", amzDate)
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	names := []string{"host"}
	values := map[string]string{"host": host}
	for name, vs := range req.Header {
		l := strings.ToLower(name)
		if l == "authorization" || l == "user-agent" {
			continue
		}
		names = append(names, l)
		values[l] = strings.Join(trimAll(vs), ",")
	}
	sort.Strings(names)
	var canonHeaders strings.Builder
	for _, n := range names {
		canonHeaders.WriteString(n + ":" + values[n] + "\n")
	}
	signed := strings.Join(names, ";")
	canonical := strings.Join([]string{
		req.Method,
		req.URL.EscapedPath(),
		canonicalQuery(req.URL.Query()),
		canonHeaders.String(),
		signed,
		payloadHash,
	}, "\n")
	scope := day + "/" + s.Region + "/" + s.Service + "/aws4_request"
	toSign := sigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + PayloadHash([]byte(canonical))
	key := hmacSHA256([]byte("AWS4"+s.Secret), day)
	key = hmacSHA256(key, s.Region)
	key = hmacSHA256(key, s.Service)
	key = hmacSHA256(key, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	req.Header.Set("Authorization", sigV4Algorithm+" Credential="+s.KeyID+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
}

func trimAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.Join(strings.Fields(v), " ")
	}
	return out
}

// canonicalQuery sorts the query by name and value and encodes both the
// way SigV4 wants (Escape with '/' escaped too).
func canonicalQuery(q map[string][]string) string {
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, Escape(k, true)+"="+Escape(v, true))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// Escape percent-encodes every byte but the unreserved characters
// (A-Z a-z 0-9 - _ . ~) and, unless escapeSlash, '/'.
func Escape(s string, escapeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !escapeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// PayloadHash is the hex SHA-256 of a request body.
func PayloadHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
