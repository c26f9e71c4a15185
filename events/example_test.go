// SPDX-License-Identifier: Apache-2.0

package events_test

import (
	"encoding/json"
	"fmt"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/events"
)

func Example() {
	alice := client.Actor{Type: "user", ID: "u_alice", Name: "alice"}
	ev := events.OrgChangeRole(alice, client.Target{ID: "u_bob", Name: "bob"}, "admin")
	ev.Metadata["old_role"] = "write" // an optional key
	b, _ := json.Marshal(ev)
	fmt.Println(string(b))
	// Output:
	// {"type":"org.change_role","actor":{"type":"user","id":"u_alice","name":"alice"},"targets":[{"type":"user","id":"u_bob","name":"bob"}],"metadata":{"new_role":"admin","old_role":"write"}}
}
