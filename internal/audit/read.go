// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"encoding/base64"
	"strconv"
)

// ListRequest asks for one page of an org's log.
type ListRequest struct {
	Filter Filter
	Limit  int    // 1..MaxPageSize; 0 means DefaultPageSize
	Cursor string // from a previous page's NextCursor
	Order  Order
	// AfterSeq, with Asc, starts after this seq (-1: from the start). It
	// lets a consumer pull new events gap-free from its last seen seq.
	AfterSeq int64
}

// ListResult is one page; NextCursor is empty on the last page.
type ListResult struct {
	Events     [][]byte
	Seqs       []int64
	NextCursor string
}

// Page sizes.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// List returns a page of org's events, newest first unless req.Order is
// Asc. Errors are *Error with CodeInvalid for a bad limit or cursor.
func (s *Service) List(ctx context.Context, org string, req ListRequest) (ListResult, error) {
	limit := req.Limit
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return ListResult{}, Errorf(CodeInvalid, "limit must be between 1 and %d", MaxPageSize)
	}
	q := Query{Filter: req.Filter, Order: req.Order, Limit: limit, Before: -1, After: req.AfterSeq}
	if req.Order == Desc && req.AfterSeq >= 0 {
		return ListResult{}, Errorf(CodeInvalid, "after_seq needs order=asc")
	}
	if req.Cursor != "" {
		order, seq, err := decodeCursor(req.Cursor)
		if err != nil || order != req.Order {
			return ListResult{}, Errorf(CodeInvalid, "cursor is not valid for this query: pass next_cursor from the previous page with the same order")
		}
		if order == Desc {
			q.Before = seq
		} else {
			q.After = seq
		}
	}
	page, err := s.store.Query(ctx, org, q)
	if err != nil {
		return ListResult{}, err
	}
	res := ListResult{Events: page.Events, Seqs: page.Seqs}
	if page.More && len(page.Seqs) > 0 {
		res.NextCursor = encodeCursor(req.Order, page.Seqs[len(page.Seqs)-1])
	}
	return res, nil
}

// Cursors are opaque to clients: an order letter and the last seq served.
func encodeCursor(o Order, seq int64) string {
	prefix := "d"
	if o == Asc {
		prefix = "a"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (Order, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 {
		return 0, 0, Errorf(CodeInvalid, "bad cursor")
	}
	seq, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil || seq < 0 {
		return 0, 0, Errorf(CodeInvalid, "bad cursor")
	}
	switch b[0] {
	case 'd':
		return Desc, seq, nil
	case 'a':
		return Asc, seq, nil
	}
	return 0, 0, Errorf(CodeInvalid, "bad cursor")
}
