// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"time"
)

// Streams deliver each org's log to destinations its admins configure
// (internal/stream). The store keeps each destination's configuration and
// its durable cursor, so that delivery resumes where it stopped after a
// restart, on any replica.

// Stream is one destination of one org's log.
type Stream struct {
	ID     string
	Org    string
	Name   string
	Kind   string // webhook, syslog, s3, …
	Format string // json, cef, ocsf, …
	Filter string // a search string; "" sends every event
	// Settings are the kind's settings as JSON, secrets included: they
	// never leave the server.
	Settings  []byte
	Paused    bool
	CreatedAt time.Time
	Cursor    StreamCursor
}

// StreamCursor is a destination's delivery state.
type StreamCursor struct {
	// DeliveredSeq is the highest seq the destination acknowledged
	// (filtered-out events included), -1 before the first delivery.
	DeliveredSeq int64
	// CheckpointSize is the size of the last signed checkpoint the
	// destination acknowledged, 0 for none.
	CheckpointSize int64
	// Epoch changes with every replay, so that a delivery started before
	// a replay cannot move the cursor afterwards.
	Epoch         int64
	Failures      int64     // consecutive failed deliveries; 0 after a success
	LastError     string    // the last failure's message, kept after a success
	LastErrorAt   time.Time // zero: never failed
	LastSuccessAt time.Time // zero: never delivered
}

// MaxStreamsPerOrg bounds the destinations one org may have.
const MaxStreamsPerOrg = 20

// StreamStore keeps stream destinations and their cursors. Every method
// takes the org explicitly: no method of one org reads or changes another
// org's streams, and a stream of another org is ErrNotFound. Every method
// is safe for concurrent use, across processes sharing the store.
type StreamStore interface {
	// CreateStream stores s (its Cursor is ignored: a new stream starts at
	// DeliveredSeq -1, epoch 0, no failures). An existing id, or a name
	// the org already uses, is a CodeConflict *Error; an org that has
	// MaxStreamsPerOrg streams already gets CodeUnprocessable.
	CreateStream(ctx context.Context, s Stream) error
	// Streams returns org's streams, oldest first.
	Streams(ctx context.Context, org string) ([]Stream, error)
	// AllStreams returns every org's streams, by org then oldest first,
	// for the delivery engine.
	AllStreams(ctx context.Context) ([]Stream, error)
	// Stream returns one of org's streams, or ErrNotFound.
	Stream(ctx context.Context, org, id string) (Stream, error)
	// SetStreamPaused pauses or resumes a stream; ErrNotFound when absent.
	SetStreamPaused(ctx context.Context, org, id string, paused bool) error
	// DeleteStream deletes a stream and its cursor; ErrNotFound when absent.
	DeleteStream(ctx context.Context, org, id string) error
	// AdvanceStream records a delivery the destination acknowledged:
	// DeliveredSeq becomes seq and CheckpointSize checkpoint (each only
	// if larger: the cursor never moves back), Failures 0, LastSuccessAt
	// at. It returns ErrStreamMoved when the stream's epoch is no longer
	// epoch (a replay happened meanwhile) and ErrNotFound when the stream
	// is gone; then nothing changes.
	AdvanceStream(ctx context.Context, org, id string, epoch, seq, checkpoint int64, at time.Time) error
	// StreamFailed records a failed delivery (Failures+1, LastError msg,
	// LastErrorAt at) and returns the new count of consecutive failures.
	// ErrStreamMoved and ErrNotFound as AdvanceStream.
	StreamFailed(ctx context.Context, org, id string, epoch int64, msg string, at time.Time) (int64, error)
	// ReplayStream moves the cursor to delivered (which may be lower than
	// today's: the one way back), forgets the last checkpoint delivered,
	// clears Failures and starts a new epoch. It returns the new cursor.
	ReplayStream(ctx context.Context, org, id string, delivered int64) (StreamCursor, error)
	// LeaseStream makes holder the one sender of a stream until now+ttl,
	// if no other holder's lease runs past now, and reports whether
	// holder has it. A holder renews its lease the same way.
	LeaseStream(ctx context.Context, org, id, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseStream ends holder's lease, if it holds one, so that another
	// replica may take over at once.
	ReleaseStream(ctx context.Context, org, id, holder string) error
}

// ErrStreamMoved is the answer to a delivery recorded against an epoch
// that a replay ended.
var ErrStreamMoved = &Error{Code: CodeConflict, Message: "the stream was replayed since this delivery started"}

// ErrTooManyStreams refuses a stream past MaxStreamsPerOrg.
var ErrTooManyStreams = Errorf(CodeUnprocessable, "an org may have at most %d stream destinations; delete one first", MaxStreamsPerOrg)
