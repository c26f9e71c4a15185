// SPDX-License-Identifier: Apache-2.0

package sqlite

import (
	"database/sql"
	"fmt"
)

// schemaVersion is the version this binary writes; a newer database is
// refused rather than misread.
const schemaVersion = 1

// DailySchema is the table of events per org (its number), UTC day (of
// occurred_at, sqlite.DayOf) and category, for charts; the log engine's
// catalog has the same table.
const DailySchema = `CREATE TABLE IF NOT EXISTS daily (
		org      INTEGER NOT NULL,
		day      INTEGER NOT NULL,
		category TEXT NOT NULL,
		n        INTEGER NOT NULL,
		PRIMARY KEY (org, day, category)
	) WITHOUT ROWID`

var schema = []string{
	`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
	// size is the org's next seq: dense, advanced in the same transaction
	// as the events.
	`CREATE TABLE IF NOT EXISTS orgs (
		num  INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		size INTEGER NOT NULL DEFAULT 0
	)`,
	// k = org num << 40 | seq. data is the canonical bytes, served as is.
	// hash is the producer content hash for idempotent retries.
	`CREATE TABLE IF NOT EXISTS events (
		k        INTEGER PRIMARY KEY,
		org      INTEGER NOT NULL,
		id       TEXT NOT NULL,
		type     TEXT NOT NULL,
		category TEXT NOT NULL,
		country  TEXT NOT NULL,
		occurred INTEGER NOT NULL,
		received INTEGER NOT NULL,
		hash     BLOB,
		data     BLOB NOT NULL
	)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events (org, id)`,
	`CREATE INDEX IF NOT EXISTS events_type ON events (org, type, k)`,
	`CREATE INDEX IF NOT EXISTS events_category ON events (org, category, k)`,
	`CREATE INDEX IF NOT EXISTS events_country ON events (org, country, k)`,
	`CREATE INDEX IF NOT EXISTS events_occurred ON events (org, occurred, k)`,
	// refs holds the actor (kind 'a') and targets (kind 't') of each event,
	// by id and by name, for exact actor: and target: filters.
	`CREATE TABLE IF NOT EXISTS refs (
		org   INTEGER NOT NULL,
		kind  TEXT NOT NULL,
		value TEXT NOT NULL,
		k     INTEGER NOT NULL,
		PRIMARY KEY (org, kind, value, k)
	) WITHOUT ROWID`,
	// Free text: contentless, rowid = events.k. contentless_delete lets
	// retention and erasure delete rows without the original text (FTS5
	// refuses it together with columnsize=0).
	`CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(
		text, content='', contentless_delete=1,
		tokenize='unicode61 remove_diacritics 2'
	)`,
	// Events per org, UTC day (of occurred_at) and category, for charts.
	DailySchema,
	// Each org's Merkle tree: tlog stored hashes (idx = tlog.StoredHashIndex),
	// written with the events (tree.go).
	`CREATE TABLE IF NOT EXISTS tree (
		org  INTEGER NOT NULL,
		idx  INTEGER NOT NULL,
		hash BLOB NOT NULL,
		PRIMARY KEY (org, idx)
	) WITHOUT ROWID`,
	// Each org's latest signed checkpoint (checkpoint.go).
	`CREATE TABLE IF NOT EXISTS checkpoints (
		org    INTEGER PRIMARY KEY,
		size   INTEGER NOT NULL,
		root   BLOB NOT NULL,
		note   TEXT NOT NULL,
		signed INTEGER NOT NULL
	)`,
}

// checkSchema checks, without writing, that db has a schema version this
// binary reads.
func checkSchema(db *sql.DB) error {
	var v int
	err := db.QueryRow(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'`).Scan(&v)
	switch {
	case err != nil:
		return fmt.Errorf("sqlite: reading the schema version: %w", err)
	case v != schemaVersion:
		return fmt.Errorf("sqlite: the database has schema version %d but this trail binary reads %d", v, schemaVersion)
	}
	return nil
}

func migrate(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("sqlite: migrating: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(schema[0]); err != nil {
		return fmt.Errorf("sqlite: migrating: %w", err)
	}
	var v int
	err = tx.QueryRow(`SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'`).Scan(&v)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return fmt.Errorf("sqlite: reading schema version: %w", err)
	case v > schemaVersion:
		return fmt.Errorf("sqlite: the database has schema version %d but this trail binary knows up to %d: upgrade trail", v, schemaVersion)
	case v == schemaVersion:
		// MetaSchema is idempotent: tables added to it since the database
		// was made (streams) appear in it now.
		for _, stmt := range MetaSchema {
			if _, err := tx.Exec(stmt); err != nil {
				return fmt.Errorf("sqlite: migrating: %w", err)
			}
		}
		return tx.Commit()
	}
	for _, stmt := range append(schema[1:], MetaSchema...) {
		if _, err := tx.Exec(stmt); err != nil {
			return fmt.Errorf("sqlite: migrating: %w", err)
		}
	}
	if _, err := tx.Exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)`, schemaVersion); err != nil {
		return fmt.Errorf("sqlite: migrating: %w", err)
	}
	return tx.Commit()
}
