package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/trailaudit/trail/internal/api"
	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/web"
)

// serveConfig is what `trail serve` runs with.
type serveConfig struct {
	addr            string
	data            string
	store           string // --store: "" for SQLite in data, or a postgres:// URL
	geoip           string
	demo            bool
	catalog         string // --catalog: a platform catalog file (catalog.go)
	ipv4Prefix      int
	ipv6Prefix      int
	limits          audit.Limits
	viewer          viewerFlags   // link.go
	signing         *signingFlags // signing.go
	checkpointEvery time.Duration
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "[flags]", stderr)
	var c serveConfig
	fs.StringVar(&c.addr, "addr", env("TRAIL_ADDR", "127.0.0.1:8080"), "listen `address` (env TRAIL_ADDR)")
	data, storeURL := dataFlag(fs), storeFlag(fs)
	fs.StringVar(&c.geoip, "geoip", env("TRAIL_GEOIP", ""), "MaxMind-format `file`s (.mmdb) for IP geolocation, several separated by \":\", e.g. DB-IP Lite city-ipv4:city-ipv6 (env TRAIL_GEOIP); without it no location is stored")
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
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	c.data, c.store = *data, *storeURL
	if c.ipv4Prefix < 0 || c.ipv4Prefix > 32 || c.ipv6Prefix < 0 || c.ipv6Prefix > 128 {
		return usagef("--ipv4-prefix must be 0..32 and --ipv6-prefix 0..128")
	}
	return serve(ctx, c, stdout, newLogger(stderr))
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

	var locator audit.Locator
	var attribution web.Attribution
	if c.geoip != "" {
		db, err := geo.Open(c.geoip)
		if err != nil {
			return err
		}
		defer db.Close()
		locator = db
		attribution.Text, attribution.URL = db.Attribution()
		log.Info("IP geolocation enabled", "database", db.Description())
	} else {
		log.Warn("no IP geolocation database (--geoip): events are stored without location; see the README to get DB-IP Lite")
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
	a := api.New(api.Config{Logger: log, Ready: ready.Load, Viewers: viewers})
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
		Integrity: integrity, Catalog: cat,
	})
	defer svc.Close()
	a.SetService(svc)
	if err := startIntegrity(ctx, svc, log); err != nil {
		ln.Close()
		return err
	}
	pages := web.New(web.Config{Service: svc, Viewers: viewers, Attribution: attribution, Logger: log})

	srv := &http.Server{
		Handler:           pages.Wrap(a),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	log.Info("listening", "addr", ln.Addr().String())

	if c.demo {
		if err := loadDemo(ctx, svc, base, stdout, log); err != nil {
			srv.Close()
			a.Close()
			if errors.Is(err, errDemoInterrupted) {
				return nil // a requested stop, not a failure
			}
			return err
		}
		if err := printDemoLink(ctx, viewers, stdout); err != nil {
			srv.Close()
			a.Close()
			return err
		}
	}
	ready.Store(true)
	log.Info("ready")

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	a.Close() // wait for last-used writes before the store closes
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
