// SPDX-License-Identifier: Apache-2.0

package trailtest

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
)

// Stored is what tests read of a stored event.
type Stored struct {
	ID          string          `json:"id"`
	Seq         int64           `json:"seq"`
	Type        string          `json:"type"`
	Description string          `json:"description"`
	Actor       client.Actor    `json:"actor"`
	Targets     []client.Target `json:"targets"`
	Metadata    map[string]any  `json:"metadata"`
}

// All returns every event of org, oldest first, read with a key that may
// read it.
func All(t testing.TB, base, key, org string) []Stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := client.New(base, key)
	var out []Stored
	opts := client.ListOptions{Order: client.Asc, Limit: 1000}
	for {
		page, err := c.List(ctx, org, opts)
		if err != nil {
			t.Fatalf("listing %s: %v", org, err)
		}
		for _, raw := range page.Events {
			var s Stored
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber() // metadata numbers keep their digits
			if err := dec.Decode(&s); err != nil {
				t.Fatalf("decoding %s: %v", raw, err)
			}
			out = append(out, s)
		}
		if page.NextCursor == "" {
			return out
		}
		opts.Cursor = page.NextCursor
	}
}
