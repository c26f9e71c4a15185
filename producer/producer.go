// SPDX-License-Identifier: Apache-2.0

package producer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/trailaudit/trail/client"
)

// Producer sends events to one org of one Trail server through a durable
// spool. It is safe for concurrent use.
type Producer struct {
	cfg      Config
	c        *client.Client
	sp       *spool
	dl       *deadLetters
	log      *slog.Logger
	ctx      context.Context // cancelled when Close gives up waiting
	cancel   context.CancelFunc
	kick     chan struct{} // a Flush wants the sender not to linger
	flushing atomic.Int32
	batchCap atomic.Int64 // the most events per request, lowered by 413s
	closed   atomic.Bool
	done     chan struct{} // closed when the sender has stopped
	once     sync.Once
	closeErr error
}

var orgPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,96}$`)

// Open locks cfg.SpoolDir, loads what an earlier process left in it (those
// events are sent first) and starts the background sender. It fails with
// ErrLocked when another Producer holds the directory.
func Open(cfg Config) (*Producer, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if !orgPattern.MatchString(cfg.Org) {
		return nil, fmt.Errorf("producer: Config.Org %q is not an org name ([A-Za-z0-9_.-]{1,96})", cfg.Org)
	}
	cfg.setDefaults()
	p := &Producer{
		cfg: cfg, log: cfg.Logger,
		dl:   &deadLetters{path: filepath.Join(cfg.SpoolDir, DeadLetterFile)},
		kick: make(chan struct{}, 1), done: make(chan struct{}),
	}
	// The sender retries by itself (backoff, Retry-After, hooks), so the
	// client's own retries are off: one failed attempt is one Retried hook.
	opts := append([]client.Option{
		client.WithHTTPClient(cfg.HTTPClient), client.WithUserAgent("trail-go-producer/1"),
		client.WithCompression(clientCompression(cfg.Compression)),
	}, cfg.ClientOptions...)
	opts = append(opts, client.WithRetries(0))
	p.c = client.New(cfg.URL, cfg.Key, opts...)
	sp, err := openSpool(cfg.SpoolDir, &p.cfg, p.dl, p.torn)
	if err != nil {
		return nil, err
	}
	p.sp = sp
	n, bytes, _ := sp.state()
	if n > 0 {
		p.log.Info("producer: spooled events from an earlier run will be sent first", "events", n, "bytes", bytes)
	}
	p.spoolBytes(bytes)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.batchCap.Store(int64(cfg.MaxBatch))
	go p.run()
	return p, nil
}

// clientCompression maps Config.Compression (defaults set) to the
// client's coding.
func clientCompression(c client.Compression) client.Compression {
	if c == Uncompressed {
		return client.NoCompression
	}
	return c
}

// torn reports a damaged stretch of the spool found by Open.
func (p *Producer) torn(err error) {
	p.log.Warn("producer: damaged spool record skipped; copied to the dead-letter file", "error", err)
	if p.cfg.Hooks.Torn != nil {
		p.cfg.Hooks.Torn(err)
	}
}

// Send makes ev durable in the spool and returns; the sender delivers it
// to Config.Org's log in Send order. An empty ev.ID gets a UUIDv7 and a
// zero OccurredAt the current time (see Stamp), so that every retry of the
// event is the same event to Trail. Send fails with ErrSpoolFull (with
// FailWhenFull), the context's error while waiting for room in a full
// spool, ErrClosed, or an I/O error of the spool; only a nil error means
// the event will arrive.
func (p *Producer) Send(ctx context.Context, ev client.Event) error {
	return p.SendTo(ctx, p.cfg.Org, ev)
}

// SendTo is Send to the log of another org than Config.Org, for a
// platform's backend whose key serves every org. Events are delivered in
// SendTo order, each to its org.
func (p *Producer) SendTo(ctx context.Context, org string, ev client.Event) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if !orgPattern.MatchString(org) {
		return fmt.Errorf("producer: org %q is not an org name ([A-Za-z0-9_.-]{1,96})", org)
	}
	if err := Stamp(&ev); err != nil {
		return err
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("producer: encoding event %s: %w", ev.ID, err)
	}
	if err := p.sp.append(ctx, org, raw); err != nil {
		return err
	}
	if h := p.cfg.Hooks.Queued; h != nil {
		h(1)
	}
	_, bytes, _ := p.sp.state()
	p.spoolBytes(bytes)
	return nil
}

// Stamp prepares ev to be stored before it is sent: it checks that it has
// a type, gives it a UUIDv7 ID when it has none and the current time as
// OccurredAt when it is zero. An event stamped once is the same event to
// Trail on every retry (Trail would otherwise take its own id and time).
func Stamp(ev *client.Event) error {
	if ev.Type == "" {
		return errors.New("producer: event has no type")
	}
	if ev.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("producer: making an event id: %w", err)
		}
		ev.ID = id.String()
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	return nil
}

// Flush returns once every event spooled before the call has been
// acknowledged by Trail (or moved to the dead-letter file), or with ctx's
// error.
func (p *Producer) Flush(ctx context.Context) error {
	if p.closed.Load() {
		return ErrClosed
	}
	return p.flush(ctx)
}

func (p *Producer) flush(ctx context.Context) error {
	_, _, target := p.sp.state()
	p.flushing.Add(1)
	defer p.flushing.Add(-1)
	select {
	case p.kick <- struct{}{}:
	default:
	}
	if err := p.sp.waitAcked(ctx, target); err != nil {
		return fmt.Errorf("producer: flush: %w", err)
	}
	return nil
}

// Pending returns the number of events in the spool not yet acknowledged.
func (p *Producer) Pending() int {
	n, _, _ := p.sp.state()
	return n
}

// Close stops Send, waits up to Config.CloseTimeout for Trail to
// acknowledge the spool, stops the sender and releases the directory.
// Events not acknowledged by then stay in the spool for the next Open;
// that is not an error.
func (p *Producer) Close() error {
	p.once.Do(func() {
		p.closed.Store(true)
		p.sp.stopAppends()
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.CloseTimeout)
		if err := p.flush(ctx); err != nil {
			p.log.Warn("producer: closing with events not yet acknowledged; they stay in the spool for the next Open", "events", p.Pending())
		}
		cancel()
		p.cancel()
		<-p.done
		p.closeErr = p.sp.close()
	})
	return p.closeErr
}

func (p *Producer) spoolBytes(n int64) {
	if h := p.cfg.Hooks.SpoolBytes; h != nil {
		h(n)
	}
}
