// SPDX-License-Identifier: Apache-2.0

package client

import (
	"context"
)

// OpenAPI returns the server's OpenAPI document (YAML).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	return c.getBytes(ctx, "/openapi.yaml")
}

// Healthz returns nil while the server process is up.
func (c *Client) Healthz(ctx context.Context) error {
	_, err := c.getBytes(ctx, "/healthz")
	return err
}

// Ready returns nil once the server takes traffic, else an *APIError with
// Status 503 (after the client's retries, see WithRetries).
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.getBytes(ctx, "/readyz")
	return err
}

// Metrics returns the server's Prometheus exposition.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	return c.getBytes(ctx, "/metrics")
}
