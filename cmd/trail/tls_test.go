// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCert makes a self-signed certificate for 127.0.0.1 with the given
// serial and writes it and its key as PEM files in dir.
func testCert(t *testing.T, dir string, serial int64) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "trail test " + fmt.Sprint(serial)},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	// Written beside, then renamed: a reload never sees half a file.
	for path, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(path+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{keyFile, certFile} {
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	cert, _ = x509.ParseCertificate(der)
	return certFile, keyFile, cert
}

// servedSerial opens a new TLS connection and returns the serial of the
// certificate the server presents (0 if the handshake failed).
func servedSerial(addr string, roots *x509.CertPool) int64 {
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots})
	if err != nil {
		return 0
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestServeTLS: serve --tls-cert/--tls-key speaks TLS 1.2+ (1.1 refused)
// and HTTP/2; page cookies are Secure with the __Host- prefix; the
// certificate is reloaded when its files change and on SIGHUP, and a
// connection made before a reload keeps working.
func TestServeTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := trailBinary(t)
	data, dir := t.TempDir(), t.TempDir()
	certFile, keyFile, first := testCert(t, dir, 1)
	admin := createKeyCLI(t, bin, data, "--scope", "admin")
	p := launch(t, bin, nil, "serve", "--addr", "127.0.0.1:0", "--data", data, "--geoip", "off",
		"--tls-cert", certFile, "--tls-key", keyFile)
	addr := strings.TrimPrefix(p.listening(t), "http://")
	base := "https://" + addr
	roots := x509.NewCertPool()
	roots.AddCert(first)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	waitReadyWith(t, client, base)

	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("GET /healthz over TLS: %s, TLS %+v; want HTTP/2 over TLS 1.2+", resp.Proto, resp.TLS)
	}
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Error("a TLS 1.1 handshake succeeded; want TLS 1.2 or later only")
	}

	// Page cookies over TLS: Secure, __Host- prefixed.
	req, _ := http.NewRequest("POST", base+"/api/v1/orgs/acme/viewer-links", strings.NewReader(`{"user":{"id":"u1","name":"alice"}}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var link struct{ URL string }
	json.NewDecoder(resp.Body).Decode(&link)
	resp.Body.Close()
	if !strings.HasPrefix(link.URL, base+"/") {
		t.Fatalf("viewer link %q; want it under %s", link.URL, base)
	}
	noRedirect := *client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noRedirect.Post(link.URL, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	if !strings.HasPrefix(cookie, "__Host-trail_session=") || !strings.Contains(cookie, "; Secure") || !strings.Contains(cookie, "; HttpOnly") {
		t.Errorf("session cookie over TLS: %d %q; want __Host-trail_session, Secure, HttpOnly", resp.StatusCode, cookie)
	}

	// A connection made before the reload, kept open (HTTP/1.1 keep-alive).
	old, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldReader := bufio.NewReader(old)
	getOn := func() int {
		fmt.Fprintf(old, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		r, err := http.ReadResponse(oldReader, nil)
		if err != nil {
			return 0
		}
		r.Body.Close()
		return r.StatusCode
	}
	if s := getOn(); s != 200 {
		t.Fatalf("the kept connection before the reload: %d", s)
	}

	_, _, second := testCert(t, dir, 2)
	roots.AddCert(second)
	deadline := time.Now().Add(time.Minute)
	for servedSerial(addr, roots) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the new certificate files were not picked up\nlog:\n%s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := getOn(); s != 200 {
		t.Errorf("the connection made before the reload: %d after it; want it kept", s)
	}

	// A pair that does not load (here: a certificate file cut short) is
	// refused; the server keeps the certificate it has.
	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\nMIIB"), 0o600); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(p.stderr.String(), "TLS certificate not reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("a broken certificate file was not reported\nlog:\n%s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := servedSerial(addr, roots); got != 2 {
		t.Errorf("after a broken renewal the server presents serial %d; want the previous certificate (2)", got)
	}
	_, _, third := testCert(t, dir, 3)
	roots.AddCert(third)

	p.cmd.Process.Signal(syscall.SIGHUP)
	for !strings.Contains(p.stderr.String(), `"why":"SIGHUP"`) {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reload the certificate\nlog:\n%s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for servedSerial(addr, roots) != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the certificate written after the broken one was not picked up\nlog:\n%s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.terminate(t); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
}

// TestServeNetFlags: TLS, timeout and limit flags are checked, and an
// http public URL is refused with TLS (the cookies must be Secure).
func TestServeNetFlags(t *testing.T) {
	bin := trailBinary(t)
	cert, key, _ := testCert(t, t.TempDir(), 1)
	for _, args := range [][]string{
		{"--tls-cert", "cert.pem"},
		{"--tls-key", "key.pem"},
		{"--rate-ingest", "-1"},
		{"--read-timeout", "0s"},
		{"--trusted-proxies", "10.0.0.0/8,not-an-address"},
		{"--tls-cert", cert, "--tls-key", key, "--public-url", "http://audit.example.com"},
	} {
		res := runTrail(t, bin, nil, append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, args...)...)
		if res.code != 2 {
			t.Errorf("serve %v: exit %d, %q; want 2, a usage error", args, res.code, res.stderr)
		}
	}
}

// waitReadyWith polls base/readyz with client until it answers 200.
func waitReadyWith(t *testing.T, client *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz never answered 200: %v", base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLinkDefaultsToHTTPSWithTLS: with TRAIL_TLS_CERT set, as for the
// server, `trail link` builds https links by default.
func TestLinkDefaultsToHTTPSWithTLS(t *testing.T) {
	bin := trailBinary(t)
	data := t.TempDir()
	mustRun(t, bin, nil, "keys", "create", "--data", data, "--scope", "read") // only serve and keys create make a data directory
	res := mustRun(t, bin, []string{"TRAIL_TLS_CERT=/etc/trail/cert.pem", "TRAIL_ADDR=127.0.0.1:8443"}, "link", "--data", data, "--org", "acme", "--user", "u1")
	if !strings.HasPrefix(res.stdout, "https://127.0.0.1:8443/") {
		t.Errorf("trail link with TRAIL_TLS_CERT: %q; want an https link", res.stdout)
	}
}
