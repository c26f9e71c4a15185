// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
)

// ListRequest asks for one page of an org's log.
type ListRequest struct {
	Filter Filter
	Limit  int    // 1..MaxPageSize; 0 means DefaultPageSize
	Cursor string // from a previous page's NextCursor
	// Query is the search string Filter came from. Cursors are bound to
	// it: a cursor made for one query is refused with another, which
	// would otherwise silently page through a different result.
	Query string
	Order Order
	// AfterSeq, with Asc, starts after this seq (-1: from the start). It
	// lets a consumer pull new events gap-free from its last seen seq.
	AfterSeq int64
}

// ListResult is one page; NextCursor is empty on the last page.
type ListResult struct {
	Events     [][]byte
	Seqs       []int64
	NextCursor string
	// PrunedBefore is P when retention pruned events 0 … P-1.
	PrunedBefore int64
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
		order, seq, qh, err := decodeCursor(req.Cursor)
		if err != nil || order != req.Order {
			return ListResult{}, Errorf(CodeInvalid, "cursor is not valid for this query: pass next_cursor from the previous page with the same order")
		}
		if qh != queryHash(req.Query) {
			return ListResult{}, Errorf(CodeInvalid, "cursor was made for another search string (q): pass next_cursor with the same q as the page it came from, or drop cursor to start the new search")
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
	if res.PrunedBefore, err = s.PrunedBefore(ctx, org); err != nil {
		return ListResult{}, err
	}
	if page.More && len(page.Seqs) > 0 {
		res.NextCursor = encodeCursor(req.Order, page.Seqs[len(page.Seqs)-1], req.Query)
	}
	return res, nil
}

// Cursors are opaque to clients: an order letter, the last seq served and
// a short hash of the search string, "d1234.0a1b2c3d4e5f6a7b".
func encodeCursor(o Order, seq int64, q string) string {
	prefix := "d"
	if o == Asc {
		prefix = "a"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + strconv.FormatInt(seq, 10) + "." + queryHash(q)))
}

// queryHash is the part of a cursor that binds it to its search string.
func queryHash(q string) string {
	h := sha256.Sum256([]byte(q))
	return hex.EncodeToString(h[:8])
}

func decodeCursor(c string) (o Order, seq int64, qhash string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 {
		return 0, 0, "", Errorf(CodeInvalid, "bad cursor")
	}
	num, qhash, _ := strings.Cut(string(b[1:]), ".")
	seq, err = strconv.ParseInt(num, 10, 64)
	if err != nil || seq < 0 {
		return 0, 0, "", Errorf(CodeInvalid, "bad cursor")
	}
	switch b[0] {
	case 'd':
		return Desc, seq, qhash, nil
	case 'a':
		return Asc, seq, qhash, nil
	}
	return 0, 0, "", Errorf(CodeInvalid, "bad cursor")
}
