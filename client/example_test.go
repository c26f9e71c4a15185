// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/trailaudit/trail/client"
)

func Example() {
	ctx := context.Background()
	c := client.New("http://127.0.0.1:8080", os.Getenv("TRAIL_KEY"))

	// Send one event; the ack is durable.
	acks, err := c.Ingest(ctx, "acme", []client.Event{{
		ID:       "evt-2026-0001", // optional: makes a retry idempotent
		Type:     "org.change_role",
		Actor:    client.Actor{Type: "user", ID: "u_alice", Name: "alice"},
		Targets:  []client.Target{{Type: "user", ID: "u_bob", Name: "bob"}},
		Client:   client.ClientInfo{IP: "81.2.69.160", UserAgent: "hub/1.0"},
		Metadata: map[string]any{"old_role": "read", "new_role": "admin"},
	}})
	var apiErr *client.APIError
	switch {
	case errors.As(err, &apiErr):
		for _, d := range apiErr.Details {
			fmt.Printf("event %d: %s: expected %s\n", d.Index, d.Field, d.Expected)
		}
		return
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println("stored at seq", acks[0].Seq)

	// Read the newest role changes.
	page, err := c.List(ctx, "acme", client.ListOptions{Query: "type:org.change_role", Limit: 10})
	if err != nil {
		log.Fatal(err)
	}
	for _, ev := range page.Events {
		fmt.Println(string(ev))
	}

	// Download the whole log.
	rc, name, err := c.Export(ctx, "acme", "json", "")
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, rc); err != nil {
		log.Fatal(err) // an incomplete export: do not keep the file
	}
}
