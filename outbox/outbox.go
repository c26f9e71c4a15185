// SPDX-License-Identifier: Apache-2.0

// Package outbox writes audit events in an application's own database
// transaction, so that an action and its audit event commit or roll back
// together, and relays committed events to Trail through a producer.
//
// The application adds the event in the transaction of the action:
//
//	tx, _ := db.BeginTx(ctx, nil)
//	// … the action's own writes …
//	outbox.Add(ctx, tx, client.Event{Type: "repo.create", …}, outbox.Org("acme"))
//	tx.Commit()
//
// and runs one Relay beside it, which reads committed rows in order, hands
// them to a producer.Producer (whose spool makes them durable and delivers
// them to Trail) and marks them sent. Add gives every event its id and
// time, so a row relayed twice (a crash between handing it off and
// marking it) is stored once by Trail.
//
// The package works with any database/sql driver whose SQL accepts $1
// placeholders (PostgreSQL drivers, SQLite drivers); it is tested with
// PostgreSQL (pgx) and SQLite (modernc.org/sqlite). The table it needs is
// in Schema.
package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/producer"
)

// Table is the outbox table's name.
const Table = "trail_outbox"

// Dialect selects the DDL of Schema.
type Dialect int

// Dialects.
const (
	SQLite Dialect = iota
	PostgreSQL
)

// Schema returns the statements that create the outbox table and its
// index, if missing. The columns: id orders the rows (the relay ships in
// id order), org is the log the event goes to ("" for the producer's
// Config.Org), event is the event's JSON, and sent_at is set once the
// relay has handed the row to the producer. Rows with sent_at set may be
// deleted at will.
func Schema(d Dialect) []string {
	id := "id INTEGER PRIMARY KEY AUTOINCREMENT"
	ts := "TIMESTAMP"
	if d == PostgreSQL {
		id, ts = "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "TIMESTAMPTZ"
	}
	return []string{
		fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (%s, org TEXT NOT NULL, event TEXT NOT NULL, sent_at %s)", Table, id, ts),
		fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s_unsent ON %s (id) WHERE sent_at IS NULL", Table, Table),
	}
}

// CreateTable runs Schema(d) on db.
func CreateTable(ctx context.Context, db *sql.DB, d Dialect) error {
	for _, stmt := range Schema(d) {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("outbox: creating %s: %w", Table, err)
		}
	}
	return nil
}

// Execer is what Add writes with: a *sql.Tx (or a *sql.DB or *sql.Conn
// when there is no transaction to join).
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Option qualifies Add.
type Option func(*addOptions)

type addOptions struct{ org string }

// Org sends the event to org's log instead of the producer's Config.Org.
func Org(org string) Option { return func(o *addOptions) { o.org = org } }

// Add writes ev into the outbox within tx: it is relayed to Trail if and
// only if tx commits. ev gets an id and an occurred_at now when it has
// none (producer.Stamp), so that relaying it again is harmless.
func Add(ctx context.Context, tx Execer, ev client.Event, opts ...Option) error {
	var o addOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := producer.Stamp(&ev); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("outbox: encoding event %s: %w", ev.ID, err)
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO "+Table+" (org, event) VALUES ($1, $2)", o.org, string(raw))
	if err != nil {
		return fmt.Errorf("outbox: adding event %s: %w", ev.ID, err)
	}
	return nil
}
