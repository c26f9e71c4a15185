// SPDX-License-Identifier: Apache-2.0

package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/postgres"
	"github.com/trailaudit/trail/internal/postgres/pgtest"
	"github.com/trailaudit/trail/internal/storetest"
)

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m))
}

var schemas atomic.Int64

// openFresh opens a store in a new schema of the run's database.
func openFresh(t *testing.T) *postgres.Store {
	t.Helper()
	url := pgtest.URL(t)
	schema := fmt.Sprintf("s%d", schemas.Add(1))
	s, err := postgres.Open(t.Context(), url, postgres.Options{Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestPostgresConformance(t *testing.T) {
	pgtest.URL(t) // skip the whole suite at once without PostgreSQL
	storetest.Run(t, func(t *testing.T) audit.Store { return openFresh(t) })
}

func TestPostgresNewerSchemaIsRefused(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	var schema string
	if err := s.Pool().QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, postgres.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(ctx, pgtest.URL(t), postgres.Options{Schema: schema})
	if err == nil {
		t.Fatal("Open of a newer schema: no error")
	}
	want := fmt.Sprintf("schema version %d but this trail binary knows up to %d: upgrade trail", postgres.SchemaVersion()+1, postgres.SchemaVersion())
	if !contains(err.Error(), want) {
		t.Errorf("Open of a newer schema: %v; want it to say %q", err, want)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}
