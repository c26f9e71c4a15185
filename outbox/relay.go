// SPDX-License-Identifier: Apache-2.0

package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/producer"
)

// Relay ships the committed rows of the outbox to a Producer, in id order,
// and marks them sent. Run one per database: several are safe (ids make
// duplicates harmless) but may interleave the order.
type Relay struct {
	DB       *sql.DB
	Producer *producer.Producer
	// Interval is how often Run looks for new rows (default 200ms).
	Interval time.Duration
	// Batch is the most rows one step reads (default 500).
	Batch  int
	Logger *slog.Logger // default: discard
}

// Run relays until ctx ends, then returns ctx's error. A failing step
// (the database or the spool) is logged and retried at the next interval.
func (r *Relay) Run(ctx context.Context) error {
	interval := r.Interval
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for {
		n, err := r.Step(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("outbox: relaying failed; retrying", "error", err)
		}
		if n > 0 && err == nil {
			continue // there may be more
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// row is one unsent outbox row.
type row struct {
	id    int64
	org   string
	event client.Event
}

// Step relays one batch of committed, unsent rows and returns how many it
// marked sent. Each row is durable in the producer's spool before it is
// marked.
func (r *Relay) Step(ctx context.Context) (int, error) {
	rows, err := r.unsent(ctx)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	ids := make([]int64, 0, len(rows))
	for _, rw := range rows {
		var err error
		if rw.org == "" {
			err = r.Producer.Send(ctx, rw.event)
		} else {
			err = r.Producer.SendTo(ctx, rw.org, rw.event)
		}
		if err != nil {
			return r.markSent(ctx, ids, fmt.Errorf("outbox: spooling row %d: %w", rw.id, err))
		}
		ids = append(ids, rw.id)
	}
	return r.markSent(ctx, ids, nil)
}

func (r *Relay) unsent(ctx context.Context) ([]row, error) {
	limit := r.Batch
	if limit <= 0 {
		limit = 500
	}
	q := "SELECT id, org, event FROM " + Table + " WHERE sent_at IS NULL ORDER BY id LIMIT " + strconv.Itoa(limit)
	rs, err := r.DB.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("outbox: reading %s: %w", Table, err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var rw row
		var raw string
		if err := rs.Scan(&rw.id, &rw.org, &raw); err != nil {
			return nil, fmt.Errorf("outbox: reading %s: %w", Table, err)
		}
		// Numbers stay json.Number, so metadata keeps its exact digits.
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&rw.event); err != nil {
			return nil, fmt.Errorf("outbox: row %d holds no event: %w", rw.id, err)
		}
		out = append(out, rw)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("outbox: reading %s: %w", Table, err)
	}
	return out, nil
}

// markSent marks ids sent and returns how many, with cause (the error that
// stopped the step early) when there is one.
func (r *Relay) markSent(ctx context.Context, ids []int64, cause error) (int, error) {
	if len(ids) == 0 {
		return 0, cause
	}
	var b strings.Builder
	args := []any{time.Now().UTC()}
	b.WriteString("UPDATE " + Table + " SET sent_at = $1 WHERE id IN (")
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		args = append(args, id)
		b.WriteString("$" + strconv.Itoa(i+2))
	}
	b.WriteByte(')')
	if _, err := r.DB.ExecContext(ctx, b.String(), args...); err != nil {
		// The rows are spooled; relaying them again is harmless.
		return 0, fmt.Errorf("outbox: marking rows sent: %w", err)
	}
	return len(ids), cause
}
