// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// tlsPollEvery is how often the certificate files are checked for change.
const tlsPollEvery = 2 * time.Second

// certReloader serves the certificate of a cert/key file pair and loads it
// again on SIGHUP and when either file changes. Connections keep the
// certificate they were made with, so a reload drops none; a pair that
// does not load (a renewal half written, a key that does not match) is
// logged and the previous certificate kept.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	mu                sync.RWMutex
	cert              *tls.Certificate
	seen              string // the files' sizes and times when last loaded or tried
}

// newCertReloader loads the pair once; an error here stops serve.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	c.seen = c.stamp()
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// load reads the pair and, if it is good, serves it from now on.
func (c *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.mu.Lock()
	c.cert = &cert
	c.mu.Unlock()
	return nil
}

// getCertificate is the tls.Config's GetCertificate.
func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cert, nil
}

// stamp sums up the files' sizes and modification times.
func (c *certReloader) stamp() string {
	s := ""
	for _, f := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprint(fi.Size(), fi.ModTime().UnixNano(), ";")
		}
	}
	return s
}

// watch reloads on SIGHUP and on a change of the files until ctx ends.
func (c *certReloader) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(tlsPollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			c.reload("SIGHUP")
		case <-tick.C:
			if s := c.stamp(); s != c.seen {
				c.seen = s
				c.reload("the files changed")
			}
		}
	}
}

func (c *certReloader) reload(why string) {
	if err := c.load(); err != nil {
		c.log.Error("TLS certificate not reloaded; still serving the previous one", "why", why, "err", err)
		return
	}
	c.log.Info("TLS certificate reloaded", "why", why, "cert", c.certFile)
}

// tlsConfig is the server's TLS configuration: TLS 1.2 or later, the
// reloader's certificate; ServeTLS adds HTTP/2.
func (c *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.getCertificate}
}
