// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"
)

// Export formats.
const (
	FormatJSON   = "json"
	FormatNDJSON = "ndjson"
	FormatCSV    = "csv"
)

// ExportFormatVersion names the JSON export document's format.
const ExportFormatVersion = "trail.export/v1"

// ExportRequest describes one export.
type ExportRequest struct {
	Format string // json (default), ndjson or csv
	Filter Filter
	Query  string // the search string Filter came from, recorded in metadata
	Actor  Actor  // who exports; recorded in the org.audit_log.export event
	// Integrity adds the integrity block as the last line of an NDJSON
	// export (JSON exports always carry it when Trail signs).
	Integrity bool
}

// Export is a started export: its size N is fixed, and it is recorded.
type Export struct {
	s      *Service
	org    string
	req    ExportRequest
	Size   int64     // N: the export covers seq 0 … N-1
	Pruned int64     // P: events 0 … P-1 were pruned; the export starts at P
	At     time.Time // when N was fixed
	Logged Ack       // the org.audit_log.export event recording this export

	checkpoint *SignedCheckpoint // signed at Size; nil when Trail signs nothing
	leaves     *leafSpool        // the streamed events' leaf hashes (export_leaves.go), or nil
}

// ParseFormat validates an export format name; "" means json.
func ParseFormat(f string) (string, error) {
	switch f {
	case "", FormatJSON:
		return FormatJSON, nil
	case FormatNDJSON, FormatCSV:
		return f, nil
	}
	return "", Errorf(CodeInvalid, "unknown export format %q: expected json, ndjson or csv", f)
}

// StartExport fixes N, the org's log size now, and records the export as
// an org.audit_log.export event (seq N or later, so outside the export).
func (s *Service) StartExport(ctx context.Context, org string, req ExportRequest) (*Export, error) {
	format, err := ParseFormat(req.Format)
	if err != nil {
		return nil, err
	}
	req.Format = format
	n, err := s.store.Size(ctx, org)
	if err != nil {
		return nil, err
	}
	pruned, err := s.PrunedBefore(ctx, org)
	if err != nil {
		return nil, err
	}
	x := &Export{s: s, org: org, req: req, Size: n, Pruned: min(pruned, n), At: s.now().UTC()}
	meta := map[string]any{"format": format, "size": json.Number(strconv.FormatInt(n, 10))}
	if req.Query != "" {
		meta["filter"] = req.Query
	}
	if x.Logged, err = s.Record(ctx, org, "org.audit_log.export", req.Actor, meta); err != nil {
		return nil, err
	}
	if err := x.signExport(ctx); err != nil {
		return nil, err
	}
	return x, nil
}

// Filename is the attachment name, e.g. acme-audit-log-2026-11-22.json.
func (x *Export) Filename() string { return ExportFilename(x.org, x.req.Format, x.At) }

// ExportFilename is the attachment name of an export of org in format
// started at t, e.g. acme-audit-log-2026-11-22.json.
func ExportFilename(org, format string, t time.Time) string {
	return org + "-audit-log-" + t.UTC().Format("2006-01-02") + "." + format
}

// ContentType is the media type of the export's format.
func (x *Export) ContentType() string { return FormatContentType(x.req.Format) }

// FormatContentType is the media type of an export format.
func FormatContentType(format string) string {
	switch format {
	case FormatNDJSON:
		return "application/x-ndjson"
	case FormatCSV:
		return "text/csv; charset=utf-8"
	}
	return "application/json"
}

// WriteTo streams the export to w in constant memory. progress, if not
// nil, is called now and then with the number of events written.
func (x *Export) WriteTo(ctx context.Context, w io.Writer, progress func(n int64)) (int64, error) {
	bw := bufio.NewWriterSize(w, firstBatchBytes)
	if err := x.header(bw); err != nil {
		return 0, err
	}
	if x.leavesFromEvents() {
		x.leaves = newLeafSpool(x.Size - x.Pruned)
		defer func() { x.leaves.close(); x.leaves = nil }()
	}
	count, err := x.writeEvents(ctx, w, bw, progress) // export_stream.go
	if err != nil {
		return count, err
	}
	return count, x.writeEnd(ctx, bw, count, progress)
}

// writeEnd writes what follows the events: the JSON document's end with
// its count and integrity block, or the NDJSON integrity line.
func (x *Export) writeEnd(ctx context.Context, bw *bufio.Writer, count int64, progress func(n int64)) error {
	if err := x.checkNotPruned(ctx); err != nil {
		return err
	}
	if x.req.Format == FormatJSON {
		bw.WriteString(`],"count":`)
		bw.WriteString(strconv.FormatInt(count, 10))
		if err := x.writeIntegrity(ctx, bw); err != nil {
			return err
		}
		bw.WriteString("}\n")
	}
	if x.req.Format == FormatNDJSON {
		if err := x.writeIntegrityLine(ctx, bw, count); err != nil {
			return err
		}
	}
	if progress != nil {
		progress(count)
	}
	return bw.Flush()
}

func (x *Export) header(bw *bufio.Writer) error {
	switch x.req.Format {
	case FormatJSON:
		b := []byte(`{"format":`)
		b = appendString(b, ExportFormatVersion)
		b = append(b, `,"org":`...)
		b = appendString(b, x.org)
		b = append(b, `,"exported_at":`...)
		b = appendString(b, x.At.Format(TimeFormat))
		b = append(b, `,"size":`...)
		b = strconv.AppendInt(b, x.Size, 10)
		b = x.appendPrunedBefore(b)
		if x.req.Query != "" {
			b = append(b, `,"filter":`...)
			b = appendString(b, x.req.Query)
		}
		b = append(b, `,"events":[`...)
		_, err := bw.Write(b)
		return err
	case FormatCSV:
		_, err := bw.WriteString(strings.Join(csvHeader, ",") + "\n")
		return err
	}
	return nil
}

var csvHeader = []string{
	"seq", "id", "occurred_at", "received_at", "type", "category",
	"actor_type", "actor_id", "actor_name", "targets", "description",
	"ip", "ip_prefix_len", "user_agent", "country_code", "country", "region", "city",
	"metadata", "recorded_by",
}

// storedEvent is the decoding of canonical bytes, for CSV.
type storedEvent struct {
	ID          string          `json:"id"`
	Seq         int64           `json:"seq"`
	Type        string          `json:"type"`
	Category    string          `json:"category"`
	Actor       Actor           `json:"actor"`
	Targets     []Target        `json:"targets"`
	Description string          `json:"description"`
	Client      *Client         `json:"client"`
	Location    *Location       `json:"location"`
	OccurredAt  string          `json:"occurred_at"`
	ReceivedAt  string          `json:"received_at"`
	Metadata    json.RawMessage `json:"metadata"`
	RecordedBy  string          `json:"recorded_by"`
}

func csvRow(data []byte) ([]string, error) {
	var e storedEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	targets := make([]string, len(e.Targets))
	for i, t := range e.Targets {
		targets[i] = t.Type + ":" + firstNonEmpty(t.Name, t.ID)
	}
	var c Client
	if e.Client != nil {
		c = *e.Client
	}
	var l Location
	if e.Location != nil {
		l = *e.Location
	}
	prefix := ""
	if c.IP != "" {
		prefix = strconv.Itoa(c.IPPrefixLen)
	}
	row := []string{
		strconv.FormatInt(e.Seq, 10), e.ID, e.OccurredAt, e.ReceivedAt, e.Type, e.Category,
		e.Actor.Type, e.Actor.ID, e.Actor.Name, strings.Join(targets, "; "), e.Description,
		c.IP, prefix, c.UserAgent, l.CountryCode, l.Country, l.Region, l.City,
		string(e.Metadata), e.RecordedBy,
	}
	for i, cell := range row {
		row[i] = CSVSafe(cell)
	}
	return row, nil
}

// CSVSafe neutralises a cell that a spreadsheet would run as a formula: a
// cell starting with = + - @, tab or carriage return gets a leading quote.
func CSVSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
