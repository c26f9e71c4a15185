// SPDX-License-Identifier: Apache-2.0

package producer

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/trailaudit/trail/client"
)

// Config configures a Producer. URL, Key, Org and SpoolDir are required;
// every other field's zero value means the default named in its comment.
type Config struct {
	URL      string // Trail's base URL, such as "http://127.0.0.1:8080"
	Key      string // an API key with scope ingest (or admin)
	Org      string // the org whose log Send writes to
	SpoolDir string // the spool directory, created if missing; one Producer per directory

	// MaxSpoolBytes bounds the spool: the bytes of events accepted by Send
	// and not yet acknowledged by Trail (default 64 MiB). When it is full,
	// Send blocks until Trail catches up (or its context ends), or, with
	// FailWhenFull, returns ErrSpoolFull at once. Nothing is ever dropped.
	MaxSpoolBytes int64
	FailWhenFull  bool

	// MaxBatch is the most events in one request (default 500; Trail
	// accepts up to 1000). MaxBatchBytes bounds a request's body (default
	// 4 MiB; Trail accepts 8 MiB). Linger is how long the sender waits for
	// a batch to fill once it has something to send (default 20ms).
	MaxBatch      int
	MaxBatchBytes int
	Linger        time.Duration

	// MinBackoff and MaxBackoff bound the wait between retries of a failed
	// request (defaults 100ms and 30s); each wait is drawn at random up to
	// an exponentially growing ceiling, and never shorter than the reply's
	// Retry-After.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// RequestTimeout bounds one request (default 30s).
	RequestTimeout time.Duration
	// CloseTimeout bounds how long Close waits for Trail to acknowledge
	// what is spooled (default 5s); the rest stays in the spool.
	CloseTimeout time.Duration

	// SegmentBytes is the size at which the spool starts a new file
	// (default 8 MiB).
	SegmentBytes int64

	// Compression is the Content-Encoding of request bodies: client.Gzip
	// (the default, when empty), client.Zstd, or Uncompressed. Trail
	// accepts both codings and applies its body limit to the decompressed
	// size, so MaxBatchBytes counts uncompressed bytes.
	Compression client.Compression

	// HTTPClient sends the requests (default: one with the transport of
	// http.DefaultTransport). ClientOptions are passed to client.New after
	// the producer's own (so a client.WithCompression there wins over
	// Compression); the client's retries stay off: the producer retries by
	// itself.
	HTTPClient    *http.Client
	ClientOptions []client.Option

	Logger *slog.Logger // default: discard
	Hooks  Hooks
}

// Hooks are called as events move through the producer: Queued and
// SpoolBytes from the goroutines calling Send (so concurrently), the
// others from the sender's goroutine, and Torn from Open. They must be
// quick and must not call the Producer. Nil hooks are skipped.
type Hooks struct {
	Queued       func(n int)            // events made durable in the spool by Send
	Sent         func(n int)            // events acknowledged by Trail
	Retried      func(n int, err error) // a request of n events failed and will be retried
	DeadLettered func(n int)            // events moved to the dead-letter file
	SpoolBytes   func(bytes int64)      // the spool's size after a change
	Torn         func(err error)        // a damaged stretch of the spool found (and skipped) by Open
}

// Uncompressed, as Config.Compression, sends request bodies as they are.
const Uncompressed client.Compression = "none"

// Defaults.
const (
	DefaultCompression    = client.Gzip
	DefaultMaxSpoolBytes  = 64 << 20
	DefaultMaxBatch       = 500
	DefaultMaxBatchBytes  = 4 << 20
	DefaultLinger         = 20 * time.Millisecond
	DefaultMinBackoff     = 100 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	DefaultCloseTimeout   = 5 * time.Second
	DefaultSegmentBytes   = 8 << 20
)

// Errors.
var (
	// ErrSpoolFull is returned by Send with FailWhenFull when the spool
	// holds MaxSpoolBytes.
	ErrSpoolFull = errors.New("producer: spool full (Trail is not keeping up or unreachable)")
	// ErrClosed is returned by Send and Flush after Close.
	ErrClosed = errors.New("producer: closed")
	// ErrLocked is returned by Open when another process (or Producer)
	// holds the spool directory.
	ErrLocked = errors.New("producer: spool directory in use by another producer")
)

func (c *Config) check() error {
	switch {
	case c.URL == "":
		return errors.New("producer: Config.URL is required (Trail's base URL)")
	case c.Key == "":
		return errors.New("producer: Config.Key is required (an API key with scope ingest)")
	case c.Org == "":
		return errors.New("producer: Config.Org is required")
	case c.SpoolDir == "":
		return errors.New("producer: Config.SpoolDir is required")
	case c.MaxBatch > 1000:
		return errors.New("producer: Config.MaxBatch must be at most 1000 (Trail's batch limit)")
	}
	switch c.Compression {
	case "", client.Gzip, client.Zstd, Uncompressed:
	default:
		return fmt.Errorf("producer: Config.Compression %q is not one of %q, %q or %q", c.Compression, client.Gzip, client.Zstd, Uncompressed)
	}
	return nil
}

func (c *Config) setDefaults() {
	def(&c.MaxSpoolBytes, DefaultMaxSpoolBytes)
	def(&c.MaxBatch, DefaultMaxBatch)
	def(&c.MaxBatchBytes, DefaultMaxBatchBytes)
	def(&c.Linger, DefaultLinger)
	def(&c.MinBackoff, DefaultMinBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	def(&c.RequestTimeout, DefaultRequestTimeout)
	def(&c.CloseTimeout, DefaultCloseTimeout)
	def(&c.SegmentBytes, DefaultSegmentBytes)
	if c.Compression == "" {
		c.Compression = DefaultCompression
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: http.DefaultTransport}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func def[T int | int64 | time.Duration](p *T, v T) {
	if *p <= 0 {
		*p = v
	}
}
