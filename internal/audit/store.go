// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"crypto/sha256"
	"time"
)

// Store is what a storage engine implements. Every method takes the org
// explicitly; an org that has no events behaves as an empty log. Methods
// are safe for concurrent use. The conformance suite in internal/storetest
// states the contract in tests; SQLite and PostgreSQL must both pass it.
type Store interface {
	EventStore
	KeyStore
	ViewerStore
	StreamStore // stream destinations and their cursors (stream.go)
	Ledger      // the Merkle tree and checkpoints (integrity.go)
	PolicyStore // retention policies (policy.go)
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	Close() error
}

// EventStore keeps each org's log: events in seq order, as exact bytes.
type EventStore interface {
	// Append commits the batches in one transaction and one durable sync.
	// For each batch, in order, it resolves ids already in the org's log
	// (same Hash: the original seq is the result and nothing is stored;
	// different Hash: the batch fails with a CodeConflict *Error naming the
	// index), assigns the remaining events consecutive seqs after the org's
	// current size, encodes them with Pending.Encode, and stores the bytes,
	// their index entries and the per-day counts. A batch that fails sets
	// its Err and stores nothing, without failing the other batches. The
	// returned error means the transaction failed: nothing of any batch was
	// stored. Results are valid only when both errors are nil.
	Append(ctx context.Context, batches []*Batch) error

	// Query returns up to q.Limit events of org matching q, as stored bytes,
	// in q.Order, and whether more follow.
	Query(ctx context.Context, org string, q Query) (Page, error)

	// Scan calls fn for each event of org with from <= seq < to that matches
	// f, in ascending seq order. It reads in chunks, with no transaction held
	// across the whole scan. data is valid only during the call.
	Scan(ctx context.Context, org string, from, to int64, f Filter, fn func(seq int64, data []byte) error) error

	// Size returns the number of events in org's log (the next seq).
	Size(ctx context.Context, org string) (int64, error)

	// Event returns the stored bytes of the event with the given id, or
	// ErrNotFound.
	Event(ctx context.Context, org, id string) (seq int64, data []byte, err error)

	// DailyCounts returns the number of events per (UTC day, category) of
	// occurred_at, for every day that overlaps [from, to), in ascending day
	// order. Pass midnight UTC bounds for an exact range.
	DailyCounts(ctx context.Context, org string, from, to time.Time) ([]DayCount, error)

	// Orgs returns every org that has at least one event, sorted.
	Orgs(ctx context.Context) ([]string, error)
}

// BatchPreparer is a Store that does part of its Append's work on each
// event (what needs neither the seq nor received_at) before the group
// commit, in the caller's goroutine, several batches at once, rather than
// in the one goroutine that commits: the Service calls PrepareBatch on
// every batch before queueing it. PrepareBatch may set each Pending's
// Prepared, and must keep no pointer into the batch's memory (it is
// reused once the batch is committed); Append must take a Pending that
// was not prepared (a store's Append called directly).
type BatchPreparer interface {
	PrepareBatch(b *Batch)
}

// Batch is one ingest request's events for one org, all-or-nothing.
type Batch struct {
	Org     string
	Events  []*Pending
	Results []Ack // set by Append, one per event, in order
	Err     error // set by Append when this batch alone failed
}

// Pending is a validated, enriched event waiting for its seq.
type Pending struct {
	Event Event
	// Hash identifies the producer's content for idempotent retries: the
	// same id with the same Hash is a retry, with another Hash a conflict.
	Hash [sha256.Size]byte
	// FreshID is set when Trail made the event's id for this request (the
	// producer sent none): a random UUIDv7 that no stored event has, so a
	// store need not look it up for a retry.
	FreshID bool
	// defaultOccurred is set when the producer sent no occurred_at: the
	// event then occurred when Trail received it.
	defaultOccurred bool
	// descriptionRendered is set when Trail rendered the description (the
	// producer sent none); hashed when Hash is the content hash of the
	// event's bytes under these two bits (HashBits).
	descriptionRendered, hashed bool
	// Prepared is set by a BatchPreparer store's PrepareBatch for its
	// Append; nil otherwise.
	Prepared any

	// Set by the fast ingest path (fastpath.go): the canonical bytes
	// without seq (at seqAt), received_at (at recvAt) and, when
	// defaultOccurred, occurred_at (at occAt, else -1); Encode fills them
	// in, into out.
	pre                  []byte
	seqAt, occAt, recvAt int
	out                  *arena
}

// Encode fixes the event's seq and returns its canonical bytes. Stores call
// it once, inside the transaction that assigns seq. For events of the
// ingest path, the bytes and the Event's strings share memory chunks with
// the other events of their batch (never written again): a store that keeps
// a few of them long after the batch should copy them, or it keeps the
// whole chunk alive.
func (p *Pending) Encode(seq int64) []byte {
	p.Event.Seq = seq
	if p.defaultOccurred {
		p.Event.OccurredAt = p.Event.ReceivedAt
	}
	if p.pre != nil {
		return p.encodeFast(seq)
	}
	return p.Event.AppendCanonical(make([]byte, 0, 512))
}

// Ack is the reply for one ingested event.
type Ack struct {
	ID  string `json:"id"`
	Seq int64  `json:"seq"`
}

// Order is the direction of a query.
type Order int

const (
	Desc Order = iota // newest first (the default)
	Asc
)

// Query selects a page of events. Both bounds apply in either order: only
// events with seq < Before (when Before >= 0) and seq > After (when After
// >= 0). Use -1 for "no bound": the zero Query (Before 0) matches nothing.
type Query struct {
	Filter Filter
	Order  Order
	Before int64
	After  int64
	Limit  int
}

// Page is one page of a query.
type Page struct {
	Events [][]byte // canonical bytes, in the query's order
	Seqs   []int64  // the seq of each event
	More   bool     // more events match past the last one
}

// DayCount is the number of events of one category on one UTC day.
type DayCount struct {
	Day      time.Time // midnight UTC
	Category string
	Count    int64
}
