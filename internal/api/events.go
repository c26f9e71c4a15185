// SPDX-License-Identifier: Apache-2.0

package api

import (
	"bufio"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/query"
)

// ingest serves POST /api/v1/orgs/{org}/events: a batch of 1 to
// Limits.MaxBatch events as {"events": [...]} (application/json or no
// Content-Type) or NDJSON (application/x-ndjson). The batch is stored
// whole or not at all; the reply is {"events": [{"id", "seq"}, ...]} in
// request order.
func (a *API) ingest(w http.ResponseWriter, r *http.Request, c caller) error {
	ndjson, err := batchFormat(r.Header.Get("Content-Type"))
	if err != nil {
		a.metrics.rejected(audit.ErrorCode(err), 0)
		return err
	}
	lim := a.svc.Limits()
	body, release, err := readBody(w, r, lim.MaxBody)
	if err != nil {
		a.metrics.rejected(audit.ErrorCode(err), 0)
		return err
	}
	defer release() // the events point into body until IngestBody returns
	acks, events, err := a.svc.IngestBody(r.Context(), c.Org, body, ndjson)
	if err != nil {
		a.metrics.rejected(audit.ErrorCode(err), events)
		return err
	}
	a.metrics.batchSize.Observe(float64(len(acks)))
	a.metrics.ingested.Add(float64(len(acks)))
	writeAcks(w, acks)
	return nil
}

// plainJSON reports whether s is written in JSON as it is, quoted:
// letters, digits, '_' and '-' only, as every event id.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ackBuffers are writeAcks' buffers: a 500-event reply is ~30 KB.
var ackBuffers = sync.Pool{New: func() any { return new([]byte) }}

// writeAcks writes {"events": [{"id", "seq"}, ...]} as writeJSON would
// (json.Marshal's bytes and a newline), without reflection. Ids are
// event ids ([A-Za-z0-9_-]); any other goes through json.Marshal.
func writeAcks(w http.ResponseWriter, acks []audit.Ack) {
	bp := ackBuffers.Get().(*[]byte)
	b := append((*bp)[:0], `{"events":`...)
	if acks == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, a := range acks {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			if plainJSON(a.ID) {
				b = append(append(append(b, '"'), a.ID...), '"')
			} else {
				id, _ := json.Marshal(a.ID)
				b = append(b, id...)
			}
			b = append(b, `,"seq":`...)
			b = strconv.AppendInt(b, a.Seq, 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	if cap(b) <= 1<<20 {
		*bp = b
		ackBuffers.Put(bp)
	}
}

// batchFormat tells NDJSON from a JSON envelope by Content-Type.
func batchFormat(contentType string) (ndjson bool, err error) {
	if contentType == "" {
		return false, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil:
	case mt == "application/json":
		return false, nil
	case mt == "application/x-ndjson":
		return true, nil
	}
	return false, audit.Errorf(audit.CodeUnsupported, "unsupported Content-Type: send application/json ({\"events\": [...]}) or application/x-ndjson (one event per line)")
}

// list serves GET /api/v1/orgs/{org}/events: one page of the org's log,
// newest first unless order=asc. The reply is {"events": [...],
// "next_cursor": "..."} with each event's stored bytes verbatim;
// next_cursor is absent on the last page. Reads are not recorded.
func (a *API) list(w http.ResponseWriter, r *http.Request, c caller) error {
	req, err := a.listRequest(r)
	if err != nil {
		return err
	}
	res, err := a.svc.List(r.Context(), c.Org, req)
	if err != nil {
		return err
	}
	if res.NextCursor != "" {
		w.Header().Set("Link", nextLink(r, res.NextCursor))
	}
	writeEvents(w, res)
	return nil
}

// listRequest reads q, limit, cursor, order and after_seq.
func (a *API) listRequest(r *http.Request) (audit.ListRequest, error) {
	if err := checkParams(r, "q", "limit", "cursor", "order", "after_seq", "tz"); err != nil {
		return audit.ListRequest{}, err
	}
	loc, err := tzParam(r)
	if err != nil {
		return audit.ListRequest{}, err
	}
	v := r.URL.Query()
	req := audit.ListRequest{Cursor: v.Get("cursor"), Query: v.Get("q"), AfterSeq: -1}
	if req.Cursor != "" && v.Has("after_seq") {
		return req, audit.Errorf(audit.CodeInvalid, "cursor and after_seq cannot be combined: pass next_cursor alone to continue a listing, or after_seq alone (with order=asc) to start after a seq")
	}
	if req.Filter, err = a.parseQuery(v.Get("q"), loc); err != nil {
		return req, err
	}
	if loc != time.UTC {
		req.Query = loc.String() + " " + req.Query // the cursor is bound to the zone too
	}
	if req.Limit, err = parseLimit(v.Get("limit")); err != nil {
		return req, err
	}
	if req.Order, err = parseOrder(v.Get("order")); err != nil {
		return req, err
	}
	if s := v.Get("after_seq"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return req, audit.Errorf(audit.CodeInvalid, "after_seq must be a seq: an integer >= 0")
		}
		req.AfterSeq = n
	}
	return req, nil
}

// parseQuery parses a search string against the service's catalog, with
// date-only bounds as days of loc. The parser bounds its length (1024
// bytes) and number of terms.
func (a *API) parseQuery(q string, loc *time.Location) (audit.Filter, error) {
	cat := a.svc.Catalog()
	return query.Parse(q, query.Options{
		KnownType:     func(s string) bool { _, ok := cat.Lookup(s); return ok },
		KnownCategory: func(s string) bool { _, ok := cat.Category(s); return ok },
		Now:           a.now,
		Location:      loc,
	})
}

func parseLimit(s string) (int, error) {
	if s == "" {
		return audit.DefaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > audit.MaxPageSize {
		return 0, audit.Errorf(audit.CodeInvalid, "limit must be an integer from 1 to %d", audit.MaxPageSize)
	}
	return n, nil
}

func parseOrder(s string) (audit.Order, error) {
	switch s {
	case "", "desc":
		return audit.Desc, nil
	case "asc":
		return audit.Asc, nil
	}
	return 0, audit.Errorf(audit.CodeInvalid, "order must be desc (newest first, the default) or asc")
}

// nextLink is the RFC 8288 Link header of a page that has a next one, as
// GitHub sends it: the request's own path and parameters with cursor set
// to next_cursor, as a reference relative to the request's URL.
func nextLink(r *http.Request, cursor string) string {
	v := r.URL.Query()
	v.Set("cursor", cursor)
	v.Del("after_seq") // the cursor carries the position
	return "<" + r.URL.EscapedPath() + "?" + v.Encode() + `>; rel="next"`
}

// writeEvents writes a page by copying the stored bytes of each event
// into the response: events are never decoded and re-encoded.
func writeEvents(w http.ResponseWriter, res audit.ListResult) {
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString(`{"events":[`)
	for i, ev := range res.Events {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(ev)
	}
	bw.WriteByte(']')
	if res.NextCursor != "" {
		cur, _ := json.Marshal(res.NextCursor)
		bw.WriteString(`,"next_cursor":`)
		bw.Write(cur)
	}
	if res.PrunedBefore > 0 {
		bw.WriteString(`,"pruned_before_seq":` + strconv.FormatInt(res.PrunedBefore, 10))
	}
	bw.WriteString("}\n")
	bw.Flush()
}

// event serves GET /api/v1/orgs/{org}/events/{id}: the stored bytes of
// one event, or 404.
func (a *API) event(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := checkParams(r); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !audit.ValidEventID(id) {
		return audit.Errorf(audit.CodeNotFound, "no event with this id")
	}
	_, data, err := a.store.Event(r.Context(), c.Org, id)
	if audit.ErrorCode(err) == audit.CodeNotFound {
		return audit.Errorf(audit.CodeNotFound, "no event with this id")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
	return nil
}
