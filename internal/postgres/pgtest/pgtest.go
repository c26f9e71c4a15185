// SPDX-License-Identifier: Apache-2.0

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
	"syscall"
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
	unlock := lockServer(false)
	defer unlock()
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

// NewDatabase creates a fresh database for one test on EnvVar's server,
// dropped when the test ends, and returns its URL; it skips t when EnvVar
// is unset. For packages whose TestMain does not call Main.
func NewDatabase(t testing.TB) string {
	t.Helper()
	server := os.Getenv(EnvVar)
	if server == "" {
		t.Skip("PostgreSQL is missing: set " + EnvVar + "=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable to run the PostgreSQL tests")
	}
	if !exclusive {
		t.Cleanup(lockServer(false))
	}
	name, u, err := createDB(server)
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", EnvVar, err)
	}
	t.Cleanup(func() {
		if err := drop(server, name); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	return u
}

// lockPath is a file whose flock tells test processes apart: every test
// binary using the server holds it shared; a test that restarts the
// server holds it exclusive, so it never pulls the server from under
// another package's tests running at the same time.
const lockPath = "/tmp/trail-test-postgres.lock"

func lockServer(exclusive bool) (unlock func()) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return func() {}
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}

// LockServerExclusive waits until no other test process uses the server
// (each holds the lock shared) and keeps them out until the test ends:
// for a test that stops or restarts PostgreSQL. The caller must not hold
// the shared lock itself: call it before NewDatabase.
func LockServerExclusive(t testing.TB) {
	t.Helper()
	unlock := lockServer(true)
	exclusive = true
	t.Cleanup(func() {
		exclusive = false
		unlock()
	})
}

// exclusive is set while this process holds the lock exclusive.
var exclusive bool

func create(server string) (string, error) {
	name, u, err := createDB(server)
	dbURL = u
	return name, err
}

func createDB(server string) (name, dbURL string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [6]byte
	rand.Read(b[:])
	name = "trail_test_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", "", err
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", "", err
	}
	u.Path = "/" + name
	dbURL = u.String()
	return name, dbURL, nil
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
