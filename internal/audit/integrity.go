// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"time"

	"github.com/trailaudit/trail/internal/ledger"
)

// Ledger keeps each org's Merkle tree and its latest signed checkpoint.
//
// The tree is written by Append: in the same transaction as the events,
// a store writes the tlog stored hashes of each new event (leaf seq is
// ledger.LeafHash of the event's exact stored bytes), so that the stored
// hashes of an org always describe exactly its committed events.
type Ledger interface {
	// ReadHashes returns org's stored tree hashes at the given tlog stored
	// hash indexes, in the order asked. Every index must belong to the
	// tree of the org's committed size; a missing hash is a CodeInternal
	// error naming it (the store is damaged or the index is out of range).
	ReadHashes(ctx context.Context, org string, indexes []int64) ([]ledger.Hash, error)

	// SaveCheckpoint keeps c as org's latest checkpoint unless a checkpoint
	// of a larger size is stored already; it reports whether it kept c.
	// The org must have at least c.Size events.
	SaveCheckpoint(ctx context.Context, org string, c SignedCheckpoint) (bool, error)

	// LatestCheckpoint returns org's kept checkpoint, or ErrNotFound.
	LatestCheckpoint(ctx context.Context, org string) (SignedCheckpoint, error)
}

// SignedCheckpoint is a checkpoint of an org's tree and its signed note.
type SignedCheckpoint struct {
	Size     int64
	Root     ledger.Hash
	Note     string // the C2SP signed note: checkpoint text, blank line, signature
	SignedAt time.Time
}

// hashReader adapts a Ledger to tlog.HashReader for one org.
type hashReader struct {
	ctx   context.Context
	store Ledger
	org   string
}

func (r hashReader) ReadHashes(indexes []int64) ([]ledger.Hash, error) {
	return r.store.ReadHashes(r.ctx, r.org, indexes)
}

// HashReader returns a tlog.HashReader over org's stored hashes.
func HashReader(ctx context.Context, l Ledger, org string) ledger.HashReader {
	return hashReader{ctx, l, org}
}
