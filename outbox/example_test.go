// SPDX-License-Identifier: Apache-2.0

package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/outbox"
	"github.com/trailaudit/trail/producer"
)

// The audit event is written in the action's transaction: rolled back, it
// is never sent; committed, the relay hands it to the producer, whose
// spool delivers it to Trail.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "outbox-example-")
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "app.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := outbox.CreateTable(ctx, db, outbox.SQLite); err != nil {
		log.Fatal(err)
	}

	for _, commit := range []bool{false, true} {
		tx, _ := db.BeginTx(ctx, nil)
		// … the action's own writes in tx …
		err := outbox.Add(ctx, tx, client.Event{
			Type:    "repo.create",
			Actor:   client.Actor{Type: "user", ID: "u_alice", Name: "alice"},
			Targets: []client.Target{{Type: "repo", ID: "r_1", Name: "acme/llama"}},
		}, outbox.Org("acme"))
		if err != nil {
			log.Fatal(err)
		}
		if commit {
			tx.Commit()
		} else {
			tx.Rollback()
		}
	}

	p, err := producer.Open(producer.Config{
		URL: "http://127.0.0.1:1", Key: "trail_example_key", Org: "acme",
		SpoolDir: filepath.Join(dir, "spool"), CloseTimeout: time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	relay := &outbox.Relay{DB: db, Producer: p}
	n, err := relay.Step(ctx) // Run(ctx) does this in a loop
	fmt.Println("relayed:", n, err)
	fmt.Println("in the producer's spool:", p.Pending())
	// Output:
	// relayed: 1 <nil>
	// in the producer's spool: 1
}
