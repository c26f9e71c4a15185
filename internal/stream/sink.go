// SPDX-License-Identifier: Apache-2.0

// Package stream delivers each org's log to the destinations its admins
// configure (webhook, syslog, S3, Splunk, Datadog, NATS): in seq order, at
// least once, with the org's signed checkpoint, so that a receiver can prove
// it holds every event.
//
// This file is the contract between the delivery engine and the kinds: a
// Kind validates a destination's settings and opens a Sink; a Format renders
// one stored event. Kinds and formats register themselves by name.
package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
)

// Event is one stored event: its seq and its exact stored bytes.
type Event struct {
	Seq  int64
	Data []byte
}

// Batch is one delivery to one destination. The delivery engine fills it;
// a Sink sends it.
type Batch struct {
	// ID identifies this delivery and stays the same across retries of the
	// same batch (the webhook-id header, an S3 object name's stem, a NATS
	// message id's prefix): a receiver dedupes on it.
	ID     string
	Org    string
	Stream string // the destination's id
	Format string // the destination's format name
	// FirstSeq and LastSeq bound the seqs this delivery covers, including
	// events the destination's filter left out. A delivery that only
	// carries a newer checkpoint (the stream is idle) has no Events and
	// FirstSeq = LastSeq+1.
	FirstSeq, LastSeq int64
	// Events are the matching events in ascending seq order, as stored.
	Events []Event
	// Rendered holds Events rendered by the destination's Format, one
	// entry per event, in the same order.
	Rendered [][]byte
	// Checkpoint is the org's newest signed checkpoint note (C2SP signed
	// note text) when it is newer than the last one the destination
	// acknowledged, else "".
	Checkpoint string
	// CheckpointSize is the size of the tree Checkpoint signs, 0 when
	// there is no Checkpoint.
	CheckpointSize int64
}

// A Sink sends batches to one destination. Deliver returns nil only when
// the destination acknowledged the whole batch; any error means the whole
// batch is sent again later (at least once). Deliver is never called
// concurrently for one Sink.
type Sink interface {
	Deliver(ctx context.Context, b *Batch) error
	Close() error
}

// Env is what the server gives every Sink. Sinks connect to destinations
// only through Dial or HTTP, which refuse loopback, private, link-local and
// other non-public addresses unless the server allows them, checked on the
// address actually connected to (DNS rebinding).
type Env struct {
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// HTTP is a client whose transport dials with Dial.
	HTTP *http.Client
}

// Created is a Kind's answer to a valid creation request.
type Created struct {
	// Settings are the kind's settings as stored (secrets included; they
	// never leave the server again).
	Settings json.RawMessage
	// Reveal is merged into the 201 reply once (e.g. a webhook's
	// generated "secret" or "public_key") and never shown again.
	Reveal map[string]any
}

// Kind is one kind of destination.
type Kind interface {
	// Formats lists the formats this kind accepts; the first is the default.
	Formats() []string
	// Create validates the kind's settings from a creation request (the
	// request object without name, kind, format and filter) and returns
	// what to store. An invalid setting is a *SettingError.
	Create(settings json.RawMessage) (Created, error)
	// Public returns the stored settings without secrets, for listings.
	Public(settings json.RawMessage) map[string]any
	// Open returns a Sink for a stored destination.
	Open(settings json.RawMessage, env Env) (Sink, error)
}

// SettingError is an invalid destination setting: which field, what was
// expected. The API answers it with 422.
type SettingError struct {
	Field  string
	Reason string
}

func (e *SettingError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// A Format renders one stored event for a destination, appending to dst.
type Format func(dst []byte, ev Event) ([]byte, error)

var (
	mu      sync.RWMutex
	kinds   = map[string]Kind{}
	formats = map[string]Format{}
)

// RegisterKind makes a kind available by name. It panics on a duplicate.
func RegisterKind(name string, k Kind) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := kinds[name]; dup {
		panic("stream: kind registered twice: " + name)
	}
	kinds[name] = k
}

// RegisterFormat makes a format available by name. It panics on a duplicate.
func RegisterFormat(name string, f Format) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := formats[name]; dup {
		panic("stream: format registered twice: " + name)
	}
	formats[name] = f
}

// LookupKind returns the kind registered under name.
func LookupKind(name string) (Kind, bool) {
	mu.RLock()
	defer mu.RUnlock()
	k, ok := kinds[name]
	return k, ok
}

// LookupFormat returns the format registered under name.
func LookupFormat(name string) (Format, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := formats[name]
	return f, ok
}

// KindNames returns the registered kinds, sorted.
func KindNames() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func init() {
	// json: each event's exact stored bytes.
	RegisterFormat("json", func(dst []byte, ev Event) ([]byte, error) {
		return append(dst, ev.Data...), nil
	})
}
