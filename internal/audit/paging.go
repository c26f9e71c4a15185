// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bytes"
	"context"
	"errors"
)

// RowsFunc is an engine's one primitive read: it runs q, asking for
// q.Limit+1 rows, calls fn with each row's seq and stored bytes (valid only
// during the call) and returns the number of rows read. fn may return
// ErrStop to end the loop early without an error.
type RowsFunc func(ctx context.Context, org string, q Query, fn func(seq int64, data []byte) error) (int, error)

// ErrStop ends a RowsFunc loop early; the RowsFunc returns no error.
var ErrStop = errors.New("audit: stop")

// ScanChunk is how many events one query of a Scan reads: each chunk is
// its own short read, so no transaction is held for the whole scan.
const ScanChunk = 10000

// CollectPage implements EventStore.Query on top of an engine's RowsFunc.
func CollectPage(ctx context.Context, rows RowsFunc, org string, q Query) (Page, error) {
	var page Page
	_, err := rows(ctx, org, q, func(seq int64, data []byte) error {
		if len(page.Events) == q.Limit {
			page.More = true
			return ErrStop
		}
		page.Events = append(page.Events, bytes.Clone(data))
		page.Seqs = append(page.Seqs, seq)
		return nil
	})
	if err != nil {
		return Page{}, err
	}
	return page, nil
}

// ScanChunks implements EventStore.Scan on top of an engine's RowsFunc:
// ascending queries of ScanChunk events each, in constant memory.
func ScanChunks(ctx context.Context, rows RowsFunc, org string, from, to int64, f Filter, fn func(int64, []byte) error) error {
	after := from - 1
	for after+1 < to {
		// The RowsFunc asks for Limit+1 rows; read them all.
		q := Query{Filter: f, Order: Asc, After: after, Before: to, Limit: ScanChunk - 1}
		n, err := rows(ctx, org, q, func(seq int64, data []byte) error {
			after = seq
			return fn(seq, data)
		})
		if err != nil || n < ScanChunk {
			return err
		}
	}
	return nil
}
