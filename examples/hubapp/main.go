// SPDX-License-Identifier: Apache-2.0

// Command hubapp is a small Hub-like web app (organizations, members with
// roles, repositories, settings, secrets by name, billing plan) that
// records an audit event in Trail for every change, the way a platform
// should: each handler writes its event in its own database transaction
// (package outbox), and a relay hands committed events to a spooling
// producer (package producer), which delivers them to Trail even across
// crashes and Trail outages.
//
//	hubapp --addr 127.0.0.1:8090 --db hub.db --spool hub-spool \
//	       --trail http://127.0.0.1:8080 --trail-key "$INGEST_KEY"
//
// See README.md for its HTTP API.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/trailaudit/trail/outbox"
	"github.com/trailaudit/trail/producer"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "hubapp:", err)
		os.Exit(1)
	}
}

// config is what hubapp runs with.
type config struct {
	addr, db, spool, trail, key string
}

func run(ctx context.Context, args []string) error {
	var c config
	fs := flag.NewFlagSet("hubapp", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8090", "listen `address`")
	fs.StringVar(&c.db, "db", "hub.db", "the app's SQLite `file`")
	fs.StringVar(&c.spool, "spool", "hub-spool", "the producer's spool `directory`")
	fs.StringVar(&c.trail, "trail", "http://127.0.0.1:8080", "Trail's base `URL`")
	fs.StringVar(&c.key, "trail-key", os.Getenv("TRAIL_KEY"), "a Trail API `key` with scope ingest that serves every org (env TRAIL_KEY)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	h, closeApp, err := start(ctx, c, log)
	if err != nil {
		return err
	}
	defer closeApp()
	srv := &http.Server{Addr: c.addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	log.Info("listening", "addr", c.addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// start opens the database and the producer and starts the relay; the
// returned func stops them.
func start(ctx context.Context, c config, log *slog.Logger) (http.Handler, func(), error) {
	db, err := openDB(ctx, c.db)
	if err != nil {
		return nil, nil, err
	}
	p, err := producer.Open(producer.Config{URL: c.trail, Key: c.key, Org: "hub", SpoolDir: c.spool, Logger: log})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	relayCtx, stopRelay := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&outbox.Relay{DB: db, Producer: p, Logger: log}).Run(relayCtx)
	}()
	return (&app{db: db}).routes(), func() {
		stopRelay()
		<-done
		p.Close()
		db.Close()
	}, nil
}
