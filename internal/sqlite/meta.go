// SPDX-License-Identifier: Apache-2.0

package sqlite

import "database/sql"

// Meta is the small mutable state an embedded engine keeps in SQLite
// beside its events: API keys (keys.go), viewer links and sessions
// (viewer.go), stream destinations and their cursors (stream.go). Store
// embeds it; the log engine (internal/logstore) embeds it over its own
// catalog database, so both run the same code.
type Meta struct {
	w *sql.DB // one connection: every write goes through it
	r *sql.DB // read-only connections
}

// NewMeta returns a Meta over w (a single-connection pool that writes,
// from OpenDB) and r (read-only connections). The database must hold the
// tables of MetaSchema.
func NewMeta(w, r *sql.DB) Meta { return Meta{w: w, r: r} }

// MetaSchema creates the tables Meta uses; each statement is idempotent.
var MetaSchema = []string{
	`CREATE TABLE IF NOT EXISTS keys (
		id        TEXT PRIMARY KEY,
		hash      BLOB NOT NULL UNIQUE,
		name      TEXT NOT NULL,
		scope     TEXT NOT NULL,
		org       TEXT NOT NULL,
		created   INTEGER NOT NULL,
		expires   INTEGER NOT NULL,
		last_used INTEGER NOT NULL,
		revoked   INTEGER NOT NULL
	)`,
	// Viewer links and sessions (viewer.go), by the SHA-256 of their
	// secret; times in Unix microseconds, 0 for never.
	`CREATE TABLE IF NOT EXISTS viewer_links (
		hash      BLOB PRIMARY KEY,
		org       TEXT NOT NULL,
		user_id   TEXT NOT NULL,
		user_name TEXT NOT NULL,
		created   INTEGER NOT NULL,
		expires   INTEGER NOT NULL,
		used      INTEGER NOT NULL
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS sessions (
		hash      BLOB PRIMARY KEY,
		org       TEXT NOT NULL,
		user_id   TEXT NOT NULL,
		user_name TEXT NOT NULL,
		created   INTEGER NOT NULL,
		expires   INTEGER NOT NULL,
		viewed    INTEGER NOT NULL
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS sessions_user ON sessions (org, user_id)`,
	// Stream destinations and their cursors (stream.go); times in Unix
	// microseconds, 0 for never.
	`CREATE TABLE IF NOT EXISTS streams (
		org             TEXT NOT NULL,
		id              TEXT NOT NULL,
		name            TEXT NOT NULL,
		kind            TEXT NOT NULL,
		format          TEXT NOT NULL,
		filter          TEXT NOT NULL,
		settings        TEXT NOT NULL,
		paused          INTEGER NOT NULL,
		created         INTEGER NOT NULL,
		delivered_seq   INTEGER NOT NULL DEFAULT -1,
		checkpoint_size INTEGER NOT NULL DEFAULT 0,
		epoch           INTEGER NOT NULL DEFAULT 0,
		failures        INTEGER NOT NULL DEFAULT 0,
		last_error      TEXT NOT NULL DEFAULT '',
		last_error_at   INTEGER NOT NULL DEFAULT 0,
		last_success_at INTEGER NOT NULL DEFAULT 0,
		lease_holder    TEXT NOT NULL DEFAULT '',
		lease_until     INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (org, id),
		UNIQUE (org, name)
	) WITHOUT ROWID`,
}
