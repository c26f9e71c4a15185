// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	_ "modernc.org/sqlite"

	"github.com/trailaudit/trail/outbox"
)

// schema is the app's own data; the outbox table is created beside it.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS orgs (name TEXT PRIMARY KEY, plan TEXT NOT NULL DEFAULT 'free')`,
	`CREATE TABLE IF NOT EXISTS members (org TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (org, user))`,
	`CREATE TABLE IF NOT EXISTS repos (org TEXT NOT NULL, name TEXT NOT NULL, private INTEGER NOT NULL, PRIMARY KEY (org, name))`,
	`CREATE TABLE IF NOT EXISTS settings (org TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (org, key))`,
	`CREATE TABLE IF NOT EXISTS secrets (org TEXT NOT NULL, repo TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (org, repo, name))`,
}

// openDB opens (creating) the app's SQLite database with its tables and
// the outbox table.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serializes anyway
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("creating tables: %w", err)
		}
	}
	if err := outbox.CreateTable(ctx, db, outbox.SQLite); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// errNotFound and errConflict become 404 and 409.
var (
	errNotFound  = errors.New("not found")
	errConflict  = errors.New("already exists")
	errForbidden = errors.New("forbidden")
)

// roleOf returns user's role in org within tx, or errForbidden.
func roleOf(ctx context.Context, tx *sql.Tx, org, user string) (string, error) {
	var role string
	err := tx.QueryRowContext(ctx, `SELECT role FROM members WHERE org = $1 AND user = $2`, org, user).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errForbidden
	}
	return role, err
}

// need checks that user has one of roles in org.
func need(ctx context.Context, tx *sql.Tx, org, user string, roles ...string) error {
	role, err := roleOf(ctx, tx, org, user)
	if err != nil {
		return err
	}
	for _, r := range roles {
		if r == role {
			return nil
		}
	}
	return errForbidden
}

// changed turns "no row affected" into errNotFound.
func changed(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errNotFound
	}
	return nil
}
