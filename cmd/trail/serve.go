// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/trailaudit/trail/internal/api"
	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/httpx"
	"github.com/trailaudit/trail/internal/ratelimit"
	"github.com/trailaudit/trail/internal/stream"
	"github.com/trailaudit/trail/internal/web"
)

// serveConfig is what `trail serve` runs with.
type serveConfig struct {
	addr            string
	data            string
	store           string // --store: "" for the log engine in data (store.go)
	geoip           string
	demo            bool
	catalog         string // --catalog: a platform catalog file (catalog.go)
	ipv4Prefix      int
	ipv6Prefix      int
	limits          audit.Limits
	viewer          viewerFlags   // link.go
	signing         *signingFlags // signing.go
	checkpointEvery time.Duration
	net             netFlags       // serve_net.go: TLS, timeouts, rate limits
	retention       retentionFlags // retention.go
	streamPrivate   bool           // --stream-allow-private
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "[flags]", stderr)
	var c serveConfig
	fs.StringVar(&c.addr, "addr", env("TRAIL_ADDR", "127.0.0.1:8080"), "listen `address` (env TRAIL_ADDR)")
	data, storeURL := dataFlag(fs), storeFlag(fs)
	fs.StringVar(&c.geoip, "geoip", env("TRAIL_GEOIP", ""), geoipHelp)
	fs.BoolVar(&c.demo, "demo", false, "load a demo org \"acme\" with 180 days of history (once) and print a read and an ingest key")
	fs.IntVar(&c.ipv4Prefix, "ipv4-prefix", 24, "leading `bits` of an IPv4 client address kept when anonymizing")
	fs.StringVar(&c.catalog, "catalog", env("TRAIL_CATALOG", ""), catalogHelp)
	fs.IntVar(&c.ipv6Prefix, "ipv6-prefix", 48, "leading `bits` of an IPv6 client address kept when anonymizing")
	fs.Int64Var(&c.limits.MaxBody, "max-body", audit.DefaultMaxBody, "largest ingest request body in `bytes`")
	fs.IntVar(&c.limits.MaxBatch, "max-batch", audit.DefaultMaxBatch, "most `events` in one ingest request")
	fs.IntVar(&c.limits.MaxEvent, "max-event", audit.DefaultMaxEvent, "largest event in `bytes` of JSON")
	fs.IntVar(&c.limits.MaxDescription, "max-description", audit.DefaultMaxDescription, "longest description in `bytes`")
	c.viewer.register(fs)
	c.signing = addSigningFlags(fs)
	fs.DurationVar(&c.checkpointEvery, "checkpoint-interval", audit.DefaultCheckpointEvery, "sign a checkpoint of each org that grew at most this often (also on demand: proofs, exports)")
	c.net.register(fs)
	c.retention.register(fs)
	c.retention.registerInterval(fs)
	fs.BoolVar(&c.streamPrivate, "stream-allow-private", env("TRAIL_STREAM_ALLOW_PRIVATE", "") == "true",
		"let stream destinations be loopback, private or link-local addresses (tests, on-premises SIEMs); by default only public addresses are reached (env TRAIL_STREAM_ALLOW_PRIVATE=true)")
	memLimit := memoryLimitFlag(fs) // memlimit.go
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	mem, err := resolveMemoryLimit(*memLimit, os.Getenv("GOMEMLIMIT"), systemMemory)
	if err != nil {
		return err
	}
	c.data, c.store = *data, *storeURL
	if c.ipv4Prefix < 0 || c.ipv4Prefix > 32 || c.ipv6Prefix < 0 || c.ipv6Prefix > 128 {
		return usagef("--ipv4-prefix must be 0..32 and --ipv6-prefix 0..128")
	}
	if err := c.net.check(); err != nil {
		return err
	}
	if err := c.retention.check(); err != nil {
		return err
	}
	c.viewer.tls = c.net.tlsCert != ""
	log := newLogger(stderr)
	// Packages that log on their own (the log engine's background sealer)
	// use the default logger: make it the server's, so that every line of
	// the server's log has one format.
	slog.SetDefault(log)
	applyMemoryLimit(mem, log)
	return serve(ctx, c, stdout, log)
}

// serve runs the server until ctx is done.
func serve(ctx context.Context, c serveConfig, stdout io.Writer, log *slog.Logger) error {
	cat, err := loadCatalog(c.catalog, log) // a bad file stops startup before anything opens
	if err != nil {
		return err
	}
	store, err := openStore(ctx, c.data, c.store)
	if err != nil {
		return err
	}
	defer store.Close()
	engine, where := storeLabel(c.data, c.store)
	log.Info("store opened", "engine", engine, "path", where)

	locator, attribution, closeGeo, err := openLocator(c.geoip, log) // geoip.go
	if err != nil {
		return err
	}
	defer closeGeo()

	var certs *certReloader
	if c.net.tlsCert != "" {
		if certs, err = newCertReloader(c.net.tlsCert, c.net.tlsKey, log); err != nil {
			return err
		}
		go certs.watch(ctx)
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.addr, err)
	}
	viewers, err := c.viewer.viewers(store, ln.Addr())
	if err != nil {
		ln.Close()
		return err
	}
	var ready atomic.Bool
	guard := ratelimit.New(c.net.limits)
	a := api.New(api.Config{Logger: log, Ready: ready.Load, Viewers: viewers, Limits: guard})
	integrity, err := c.signing.integrity(c.data, true, log)
	if err == nil {
		err = agreeSigner(ctx, store, integrity) // store.go
	}
	if err != nil {
		ln.Close()
		return err
	}
	integrity.Every = c.checkpointEvery
	svc := audit.NewService(audit.Config{
		Store: store, Locator: locator, Logger: log, Metrics: a.Metrics(),
		IPv4Prefix: c.ipv4Prefix, IPv6Prefix: c.ipv6Prefix, Limits: c.limits,
		Integrity: integrity, Catalog: cat, Retention: c.retention.retention,
	})
	defer svc.Close()
	if err := c.retention.checkStore(svc); err != nil {
		ln.Close()
		return err
	}
	a.SetService(svc)
	if err := startIntegrity(ctx, svc, log); err != nil {
		ln.Close()
		return err
	}
	scfg := stream.Config{Service: svc, AllowPrivate: c.streamPrivate, Logger: log}
	if !isPostgres(c.store) {
		// One server at a time holds an embedded store: after a crash,
		// the restarted one takes its streams back at once instead of
		// waiting for the dead process's leases to expire.
		scfg.Holder = "embedded"
	}
	streams := stream.New(scfg)
	a.SetStreams(streams)
	streamCtx, stopStreams := context.WithCancel(ctx)
	streamsDone := make(chan struct{})
	go func() { streams.Run(streamCtx); close(streamsDone) }()
	// Delivery stops before the service and the store close.
	defer func() { stopStreams(); <-streamsDone }()
	pages := web.New(web.Config{Service: svc, Viewers: viewers, Attribution: attribution, Logger: log, Limits: guard, Streams: streams})

	srv := c.net.server(httpx.WithWriteStall(pages.Wrap(a), c.net.stall), log)
	errc := make(chan error, 1)
	base := "http://" + ln.Addr().String()
	if certs != nil {
		srv.TLSConfig = certs.tlsConfig()
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
		base = "https://" + ln.Addr().String()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	log.Info("listening", "addr", ln.Addr().String(), "url", base)
	unannounce, err := announceURL(store, where, base) // export_server.go
	if err != nil {
		srv.Close()
		a.Close()
		return err
	}
	defer unannounce()

	if c.demo {
		if err := loadDemo(ctx, svc, base, stdout, log); err != nil {
			srv.Close()
			a.Close()
			if errors.Is(err, errDemoInterrupted) {
				return nil // a requested stop, not a failure
			}
			return err
		}
		if err := printDemoLink(ctx, viewers, stdout, c.data, c.store); err != nil {
			srv.Close()
			a.Close()
			return err
		}
	}
	c.retention.startPruner(ctx, svc, log)
	ready.Store(true)
	log.Info("ready")

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	// Running exports are cut (a client sees a truncated transfer, never
	// a complete-looking file); in-flight ingests finish and are acked.
	guard.StopExports()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), c.net.shutdown)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	if err != nil {
		log.Warn("requests still running after --shutdown-timeout; cutting them", "err", err)
		srv.Close()
	}
	a.Close() // wait for last-used writes before the store closes
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
