// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/api"
)

// clientCalls maps every route of the table to the Go client method that
// calls it. TestClientCoversEveryRoute fails for a route missing here: a
// new route needs a client method.
var clientCalls = map[string]func(ctx context.Context, c *client.Client) error{
	"POST /api/v1/orgs/{org}/events": func(ctx context.Context, c *client.Client) error {
		_, err := c.Ingest(ctx, "acme", []client.Event{changeRole("", "carol")})
		return err
	},
	"GET /api/v1/orgs/{org}/events": func(ctx context.Context, c *client.Client) error {
		_, err := c.List(ctx, "acme", client.ListOptions{})
		return err
	},
	"GET /api/v1/orgs/{org}/events/{id}": func(ctx context.Context, c *client.Client) error {
		_, err := c.Event(ctx, "acme", "e1")
		return err
	},
	"GET /api/v1/orgs/{org}/export": func(ctx context.Context, c *client.Client) error {
		rc, _, err := c.ExportWith(ctx, "acme", client.ExportOptions{Format: "ndjson", Integrity: true})
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		return err
	},
	// Served once the Hub export alias (issue 13) is merged.
	"GET /api/organizations/{org}/audit-log/export": func(ctx context.Context, c *client.Client) error {
		rc, _, err := c.HubExport(ctx, "acme", "type:repo.create")
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		return err
	},
	"GET /api/v1/orgs/{org}/activity": func(ctx context.Context, c *client.Client) error {
		_, err := c.ActivityIn(ctx, "acme", "", "", "Europe/Paris")
		return err
	},
	"GET /api/v1/orgs/{org}/checkpoint": func(ctx context.Context, c *client.Client) error {
		_, err := c.Checkpoint(ctx, "acme")
		return err
	},
	"GET /api/v1/orgs/{org}/events/{id}/proof": func(ctx context.Context, c *client.Client) error {
		_, err := c.Proof(ctx, "acme", "e1")
		return err
	},
	"GET /api/v1/orgs/{org}/consistency": func(ctx context.Context, c *client.Client) error {
		_, err := c.Consistency(ctx, "acme", 1, -1)
		return err
	},
	"GET /api/v1/verifier-key": func(ctx context.Context, c *client.Client) error {
		_, err := c.VerifierKey(ctx)
		return err
	},
	"POST /api/v1/orgs/{org}/viewer-links": func(ctx context.Context, c *client.Client) error {
		_, err := c.CreateViewerLink(ctx, "acme", "u_alice", "alice")
		return err
	},
	"DELETE /api/v1/orgs/{org}/sessions": func(ctx context.Context, c *client.Client) error {
		_, err := c.EndSessions(ctx, "acme", "u_alice")
		return err
	},
	"GET /api/v1/orgs/{org}/policy": func(ctx context.Context, c *client.Client) error {
		_, err := c.Policy(ctx, "acme")
		return err
	},
	"PUT /api/v1/orgs/{org}/policy": func(ctx context.Context, c *client.Client) error {
		_, err := c.SetPolicy(ctx, "acme", client.Policy{Retention: "forever"})
		return err
	},
	"POST /api/v1/orgs/{org}/erasures": func(ctx context.Context, c *client.Client) error {
		_, err := c.StartErasure(ctx, "acme", "u_nobody", "route walk")
		return err
	},
	"GET /api/v1/orgs/{org}/erasures/{id}": func(ctx context.Context, c *client.Client) error {
		e, err := c.StartErasure(ctx, "acme", "u_nobody", "route walk")
		if err == nil {
			_, err = c.Erasure(ctx, "acme", e.ID)
		}
		return err
	},
	"POST /api/v1/orgs/{org}/streams": func(ctx context.Context, c *client.Client) error {
		_, err := routeStream(ctx, c)
		return err
	},
	"GET /api/v1/orgs/{org}/streams": func(ctx context.Context, c *client.Client) error {
		_, err := c.Streams(ctx, "acme")
		return err
	},
	"GET /api/v1/orgs/{org}/streams/{id}": func(ctx context.Context, c *client.Client) error {
		return withStream(ctx, c, func(id string) error { _, err := c.Stream(ctx, "acme", id); return err })
	},
	"POST /api/v1/orgs/{org}/streams/{id}/pause": func(ctx context.Context, c *client.Client) error {
		return withStream(ctx, c, func(id string) error { _, err := c.PauseStream(ctx, "acme", id); return err })
	},
	"POST /api/v1/orgs/{org}/streams/{id}/resume": func(ctx context.Context, c *client.Client) error {
		return withStream(ctx, c, func(id string) error { _, err := c.ResumeStream(ctx, "acme", id); return err })
	},
	"POST /api/v1/orgs/{org}/streams/{id}/replay": func(ctx context.Context, c *client.Client) error {
		return withStream(ctx, c, func(id string) error {
			_, err := c.ReplayStream(ctx, "acme", id, client.ReplayFrom{FromSeq: 0})
			return err
		})
	},
	"POST /api/v1/orgs/{org}/streams/{id}/test": func(ctx context.Context, c *client.Client) error {
		return withStream(ctx, c, func(id string) error { _, err := c.TestStream(ctx, "acme", id); return err })
	},
	"DELETE /api/v1/orgs/{org}/streams/{id}": func(ctx context.Context, c *client.Client) error {
		return withStream(ctx, c, func(id string) error { return c.DeleteStream(ctx, "acme", id) })
	},
	"GET /api/v1/orgs": func(ctx context.Context, c *client.Client) error {
		_, err := c.Orgs(ctx)
		return err
	},
	"POST /api/v1/keys": func(ctx context.Context, c *client.Client) error {
		_, _, err := c.CreateKey(ctx, client.NewKey{Scope: "read", Org: "acme", Name: "route walk"})
		return err
	},
	"GET /api/v1/keys": func(ctx context.Context, c *client.Client) error {
		_, err := c.Keys(ctx)
		return err
	},
	"DELETE /api/v1/keys/{id}": func(ctx context.Context, c *client.Client) error {
		k, _, err := c.CreateKey(ctx, client.NewKey{Scope: "ingest"})
		if err == nil {
			_, _, err = c.RevokeKey(ctx, k.ID)
		}
		return err
	},
	"GET /api/v1/catalog": func(ctx context.Context, c *client.Client) error {
		_, err := c.Catalog(ctx)
		return err
	},
	"GET /openapi.yaml": func(ctx context.Context, c *client.Client) error {
		_, err := c.OpenAPI(ctx)
		return err
	},
	"GET /healthz": func(ctx context.Context, c *client.Client) error { return c.Healthz(ctx) },
	"GET /readyz":  func(ctx context.Context, c *client.Client) error { return c.Ready(ctx) },
	"GET /metrics": func(ctx context.Context, c *client.Client) error {
		_, err := c.Metrics(ctx)
		return err
	},
}

// routeStream creates a webhook stream of acme to a closed port (the
// discard port: deliveries fail, which the route walk does not mind).
func routeStream(ctx context.Context, c *client.Client) (*client.Stream, error) {
	return c.CreateStream(ctx, "acme", client.NewStream{
		Name: "route walk " + fmt.Sprint(time.Now().UnixNano()), Kind: "webhook",
		Settings: map[string]any{"url": "http://127.0.0.1:9/trail"},
	})
}

// withStream calls fn with a new stream's id.
func withStream(ctx context.Context, c *client.Client, fn func(id string) error) error {
	st, err := routeStream(ctx, c)
	if err != nil {
		return err
	}
	return fn(st.ID)
}

// TestClientCoversEveryRoute walks the route table: each route has a
// client method, and calling it succeeds and reaches that route.
func TestClientCoversEveryRoute(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("e1", "bob"), repoCreate("e2", "llama"))
	c := e.client(e.Admin)
	for _, rt := range api.RouteTable() {
		name := rt.Method + " " + rt.Pattern
		call, ok := clientCalls[name]
		if !ok {
			t.Errorf("route %s has no Go client method (add one to client/ and to clientCalls)", name)
			continue
		}
		before := routeHits(t, e, name)
		if err := call(t.Context(), c); err != nil {
			t.Errorf("client call for %s: %v", name, err)
			continue
		}
		if routeHits(t, e, name) != before+1 {
			t.Errorf("the client call for %s did not reach that route once", name)
		}
	}
}

// routeHits counts the request log lines of route.
func routeHits(t *testing.T, e *env, route string) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(string(e.Logs.Bytes()), "\n") {
		var rec struct{ Msg, Route string }
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "request" && rec.Route == route {
			n++
		}
	}
	return n
}
