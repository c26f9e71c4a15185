// SPDX-License-Identifier: Apache-2.0

package producer_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/producer"
)

// A producer accepts events even while Trail is unreachable: Send returns
// once the event is on disk, and the background sender delivers it when
// Trail is back, in this process or the next one that opens the spool.
func Example() {
	spool, _ := os.MkdirTemp("", "spool-")
	defer os.RemoveAll(spool)

	p, err := producer.Open(producer.Config{
		URL:      "http://127.0.0.1:1", // nothing listens here: Trail is "down"
		Key:      "trail_example_key",  // a key with scope ingest
		Org:      "acme",
		SpoolDir: spool,
		// Close waits this long for Trail, then keeps the rest spooled.
		CloseTimeout: 100 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	err = p.Send(context.Background(), client.Event{
		Type:     "org.change_role",
		Actor:    client.Actor{Type: "user", ID: "u_alice", Name: "alice"},
		Targets:  []client.Target{{Type: "user", ID: "u_bob", Name: "bob"}},
		Metadata: map[string]any{"old_role": "read", "new_role": "admin"},
	})
	if err != nil {
		log.Fatal(err) // only a nil error means the event will arrive
	}
	fmt.Println("spooled:", p.Pending())
	p.Close()

	// The next Open of the same directory sends it first.
	p, _ = producer.Open(producer.Config{URL: "http://127.0.0.1:1", Key: "k", Org: "acme", SpoolDir: spool, CloseTimeout: time.Millisecond})
	fmt.Println("still spooled after a restart:", p.Pending())
	p.Close()
	// Output:
	// spooled: 1
	// still spooled after a restart: 1
}
