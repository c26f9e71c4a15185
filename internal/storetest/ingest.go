// SPDX-License-Identifier: Apache-2.0

package storetest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/trailaudit/trail/internal/audit"
)

// The ingest path decodes a batch into memory it reuses for the next
// batches once the batch is committed (audit.Service.Ingest), and in test
// binaries overwrites it then: a store that keeps a string or a byte
// slice of a Pending after Append (instead of a copy) reads garbage here.
var ingestTests = []test{
	{"ThroughService", func(h *harness) {
		svc := audit.NewService(audit.Config{Store: h.s, Logger: slog.New(slog.DiscardHandler)})
		defer svc.Close()
		raws := func(from, n int, desc string) []json.RawMessage {
			var out []json.RawMessage
			for i := from; i < from+n; i++ {
				id := fmt.Sprintf(`"id":"ing-%d",`, i)
				if i%3 == 0 {
					id = "" // Trail makes one
				}
				out = append(out, json.RawMessage(fmt.Sprintf(`{%s"type":"repo.create","actor":{"type":"user","id":"u-%d","name":"user %d"},`+
					`"targets":[{"type":"repo","id":"r-%d","name":"acme/model-%d"}],"description":"%s %d",`+
					`"client":{"ip":"203.0.113.%d","user_agent":"storetest/%d"},"occurred_at":"2026-01-10T09:00:%02d.000001Z"}`,
					id, i, i, i, i, desc, i, i%250, i, i%60)))
			}
			return out
		}
		ingest := func(batch []json.RawMessage) []audit.Ack {
			acks, err := svc.Ingest(h.ctx, "acme", batch)
			if err != nil {
				h.t.Fatalf("Ingest: %v", err)
			}
			return slices.Clone(acks)
		}
		first := raws(0, 120, "zebraword")
		acks := ingest(first)
		ingest(raws(120, 200, "otherword")) // takes the memory of the first batch
		h.wantSize("acme", 320)
		// A retry is recognised by its ids (Trail's are new each time).
		var retry []json.RawMessage
		var retried []audit.Ack
		for i, raw := range first {
			if i%3 != 0 {
				retry, retried = append(retry, raw), append(retried, acks[i])
			}
		}
		if again := ingest(retry); !slices.Equal(again, retried) {
			h.t.Errorf("retry acks %v, want the first %v", again, retried)
		}
		h.wantSize("acme", 320)
		changed := json.RawMessage(strings.Replace(string(first[1]), "zebraword", "changed", 1))
		if _, err := svc.Ingest(h.ctx, "acme", []json.RawMessage{changed}); audit.ErrorCode(err) != audit.CodeConflict {
			h.t.Errorf("same id, other content: err = %v, want a conflict", err)
		}
		for i, a := range acks {
			seq, data, err := h.s.Event(h.ctx, "acme", a.ID)
			if err != nil || seq != a.Seq {
				h.t.Fatalf("Event(%s) = %d, %v; acked seq %d", a.ID, seq, err, a.Seq)
			}
			d := decode(h.t, data)
			if d.ID != a.ID || d.Seq != a.Seq || !strings.Contains(string(data), fmt.Sprintf(`"description":"zebraword %d"`, i)) ||
				!strings.Contains(string(data), fmt.Sprintf(`"name":"acme/model-%d"`, i)) {
				h.t.Fatalf("event %d (%+v) stored as %s", i, a, data)
			}
		}
		for _, f := range []audit.Filter{
			{Terms: []audit.Term{text("zebraword")}},
			{Terms: []audit.Term{actor("u-7")}},
			{Terms: []audit.Term{target("acme/model-7")}},
			{Terms: []audit.Term{typ("repo.create"), text("zebraword")}},
		} {
			p := h.query("acme", all(f))
			want := 120
			if f.Terms[0].Field != audit.FieldText && f.Terms[0].Field != audit.FieldType {
				want = 1
			}
			if len(p.Events) != want {
				h.t.Errorf("%+v: %d events, want %d", f, len(p.Events), want)
			}
		}
	}},
}
