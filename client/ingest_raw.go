// SPDX-License-Identifier: Apache-2.0

package client

import (
	"bytes"
	"context"
	"encoding/json"
)

// IngestRaw is Ingest for events already encoded as JSON objects: the
// bytes are sent as they are, so an event spooled once is re-sent byte for
// byte on every retry (metadata numbers keep their exact digits). Each
// element must be one JSON object in the shape of Event.
func (c *Client) IngestRaw(ctx context.Context, org string, events []json.RawMessage) ([]Ack, error) {
	var b bytes.Buffer
	b.WriteString(`{"events":[`)
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e)
	}
	b.WriteString(`]}`)
	return c.postEvents(ctx, org, b.Bytes())
}
