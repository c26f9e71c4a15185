// Package pgtest gives tests a fresh PostgreSQL database per test binary
// run: TRAIL_TEST_POSTGRES_URL names a server (any database on it); Main
// creates trail_test_<random> there and drops it after the run. Without
// the variable, tests that need PostgreSQL skip with a message.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the server the PostgreSQL tests use.
const EnvVar = "TRAIL_TEST_POSTGRES_URL"

var (
	dbURL   string // the run's database
	dbError error
)

// Main creates the run's database (when EnvVar is set), runs the tests
// and drops it. Use it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	server := os.Getenv(EnvVar)
	if server == "" {
		return m.Run()
	}
	name, err := create(server)
	if err != nil {
		dbError = err
		return m.Run()
	}
	code := m.Run()
	if err := drop(server, name); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: dropping %s: %v\n", name, err)
	}
	return code
}

// URL returns the run's database URL, or skips t when EnvVar is unset.
func URL(t testing.TB) string {
	t.Helper()
	if os.Getenv(EnvVar) == "" {
		t.Skip("PostgreSQL is missing: set " + EnvVar + "=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable to run the PostgreSQL tests")
	}
	if dbError != nil {
		t.Fatalf("PostgreSQL at %s: %v", EnvVar, dbError)
	}
	if dbURL == "" {
		t.Fatal("pgtest: call pgtest.Main from TestMain")
	}
	return dbURL
}

// Server returns EnvVar's URL (the server's maintenance database), or
// skips t.
func Server(t testing.TB) string {
	t.Helper()
	URL(t)
	return os.Getenv(EnvVar)
}

func create(server string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [6]byte
	rand.Read(b[:])
	name := "trail_test_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	dbURL = u.String()
	// Every test schema shares the extension, kept in public.
	db, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public"); err != nil {
		return "", err
	}
	return name, nil
}

func drop(server, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	return err
}
