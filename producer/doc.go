// SPDX-License-Identifier: Apache-2.0

// Package producer sends audit events to Trail without losing any: Send
// returns once the event is durable in a local spool, and a background
// sender delivers the spool to Trail in Send order, exactly once, through
// Trail outages, process crashes and restarts.
//
//	p, err := producer.Open(producer.Config{
//		URL: "http://127.0.0.1:8080", Key: ingestKey, Org: "acme",
//		SpoolDir: "/var/lib/myapp/trail-spool",
//	})
//	…
//	defer p.Close()
//	err = p.Send(ctx, events.RepoCreate(actor, repo)) // nil: it will arrive
//
// The spool is a directory of append-only segment files of CRC-framed
// records; concurrent Sends share one fsync. It is bounded (MaxSpoolBytes):
// when full, Send waits or, with FailWhenFull, fails; it never drops. One
// Producer holds a directory at a time (a kernel lock). Open picks up what
// an earlier process left, and skips damaged records (a torn last write),
// reporting them and copying them to the dead-letter file.
//
// Events get an id and a time before they are spooled, so that every retry
// is the same event to Trail, which stores an id once. The sender batches
// by count, bytes and a short linger, compresses each request with gzip
// (Config.Compression picks zstd or none), retries network errors, 429 and 5xx
// with backoff and jitter (never sooner than Retry-After), and moves the
// events Trail refuses as invalid to the dead-letter file so that the rest
// go on. Hooks report queued, sent, retried and dead-lettered events and
// the spool's size; Config.Logger takes a slog.Logger.
//
// docs/producers.md in the repository describes the spool format and the
// guarantees, with the outbox (package outbox) for apps that keep their
// own database.
package producer
