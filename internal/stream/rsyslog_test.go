// SPDX-License-Identifier: Apache-2.0

package stream_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rsyslog is a real rsyslogd (Debian's package) run by a test as a child
// process, listening on loopback for RFC 5424 over plain TCP and over TLS
// (the gtls driver), writing one JSON object per received message with
// rsyslog's own RFC 5424 fields and its CEF parse (mmnormalize with
// liblognorm's cef parser).
type rsyslog struct {
	t       testing.TB
	dir     string
	tcpPort int
	tlsPort int
	caPEM   string
	bin     string
	cmd     *exec.Cmd
	exited  chan error
	log     lockedBuffer
}

// lockedBuffer is rsyslogd's output, written by exec's copying goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// received is one message as rsyslog parsed it.
type rsyslogMsg struct {
	ProtocolVersion string          `json:"protocol_version"`
	Pri             string          `json:"pri"`
	Timestamp       string          `json:"timestamp"`
	Hostname        string          `json:"hostname"`
	AppName         string          `json:"app_name"`
	ProcID          string          `json:"procid"`
	MsgID           string          `json:"msgid"`
	StructuredData  string          `json:"structured_data"`
	Msg             string          `json:"msg"`
	Raw             string          `json:"raw"`
	CEF             json.RawMessage `json:"cef"`
	Input           string          `json:"input"`
}

const rsyslogConf = `global(
  workDirectory="{{DIR}}/work"
  maxMessageSize="256k"
  defaultNetstreamDriverCAFile="{{DIR}}/ca.pem"
  defaultNetstreamDriverCertFile="{{DIR}}/server.pem"
  defaultNetstreamDriverKeyFile="{{DIR}}/server.key"
)
module(load="imtcp" maxSessions="64")
module(load="mmnormalize")
template(name="j" type="list" option.jsonf="on") {
  property(outname="protocol_version" name="protocol-version" format="jsonf")
  property(outname="pri" name="pri" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app_name" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="structured_data" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
  property(outname="raw" name="rawmsg" format="jsonf")
  property(outname="cef" name="$!cef" format="jsonf")
  property(outname="input" name="inputname" format="jsonf")
}
ruleset(name="recv") {
  action(type="mmnormalize" rule=["rule=:%cef:cef%"] useRawMsg="off")
  action(type="omfile" file="{{DIR}}/received.jsonl" template="j")
}
input(type="imtcp" address="127.0.0.1" port="{{TCP}}" ruleset="recv" name="tcp")
input(type="imtcp" address="127.0.0.1" port="{{TLS}}" ruleset="recv" name="tls"
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
`

// startRsyslog starts rsyslogd on two free loopback ports, or skips the
// test when rsyslogd or its modules are not installed (.ci/run installs
// them).
func startRsyslog(t testing.TB) *rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		bin = "/usr/sbin/rsyslogd"
		if _, err := os.Stat(bin); err != nil {
			t.Skip("rsyslogd is not installed: apt-get install rsyslog rsyslog-gnutls (.ci/run does)")
		}
	}
	for _, mod := range []string{"imtcp.so", "mmnormalize.so", "lmnsd_gtls.so"} {
		if m, _ := filepath.Glob("/usr/lib/*/rsyslog/" + mod); len(m) == 0 {
			t.Skipf("rsyslog module %s is not installed: apt-get install rsyslog rsyslog-gnutls (.ci/run does)", mod)
		}
	}
	r := &rsyslog{t: t, dir: t.TempDir(), bin: bin}
	if err := os.Mkdir(filepath.Join(r.dir, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.caPEM = writeTLSFiles(t, r.dir)
	for attempt := 0; ; attempt++ {
		r.tcpPort, r.tlsPort = rsyslogFreePort(t), rsyslogFreePort(t)
		err := r.start(bin)
		if err == nil {
			break
		}
		if attempt == 2 {
			t.Fatalf("rsyslogd did not start: %v\n%s", err, r.log.String())
		}
	}
	t.Cleanup(r.stop)
	return r
}

// start writes the config and runs rsyslogd until both ports accept.
func (r *rsyslog) start(bin string) error {
	conf := strings.NewReplacer("{{DIR}}", r.dir, "{{TCP}}", fmt.Sprint(r.tcpPort), "{{TLS}}", fmt.Sprint(r.tlsPort)).Replace(rsyslogConf)
	path := filepath.Join(r.dir, "rsyslog.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return err
	}
	r.log.Reset()
	r.cmd = exec.Command(bin, "-n", "-f", path, "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = &r.log, &r.log
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.exited = make(chan error, 1)
	go func(c *exec.Cmd, done chan<- error) { done <- c.Wait() }(r.cmd, r.exited)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-r.exited:
			r.cmd = nil
			return fmt.Errorf("rsyslogd exited: %v", err)
		default:
		}
		if rsyslogAccepts(r.tcpPort) && rsyslogAccepts(r.tlsPort) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.stop()
	return fmt.Errorf("rsyslogd did not listen on %d and %d within 15 s", r.tcpPort, r.tlsPort)
}

// stop ends rsyslogd (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (r *rsyslog) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
	r.cmd = nil
}

// restart stops rsyslogd and starts it again on the same ports.
func (r *rsyslog) restart() {
	r.t.Helper()
	r.stop()
	var err error
	for attempt := 0; attempt < 20; attempt++ { // the ports may linger briefly
		if err = r.start(r.bin); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("rsyslogd did not restart: %v\n%s", err, r.log.String())
}

// rsyslogAccepts reports whether a TCP connection to the loopback port succeeds.
func rsyslogAccepts(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// wait returns the received messages of one input once there are want of
// them (failing after 30 s, or when there are more).
func (r *rsyslog) wait(input string, want int) []rsyslogMsg {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := r.read(input)
		if len(got) > want {
			r.t.Fatalf("rsyslog received %d messages on %s, want %d", len(got), input, want)
		}
		if len(got) == want {
			return got
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("rsyslog received %d messages on %s within 30 s, want %d\n%s", len(got), input, want, r.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// read returns every message received so far on input.
func (r *rsyslog) read(input string) []rsyslogMsg {
	r.t.Helper()
	f, err := os.Open(filepath.Join(r.dir, "received.jsonl"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	var out []rsyslogMsg
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var m rsyslogMsg
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			// omfile may be in the middle of writing the last line.
			break
		}
		if m.Input == input {
			out = append(out, m)
		}
	}
	return out
}

func rsyslogFreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeTLSFiles writes a fresh CA and a server certificate for 127.0.0.1
// (ECDSA P-256) into dir as ca.pem, server.pem and server.key, and returns
// the CA's PEM.
func writeTLSFiles(t testing.TB, dir string) string {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Trail test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	files := map[string][]byte{
		"ca.pem":     caPEM,
		"server.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"server.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return string(caPEM)
}
