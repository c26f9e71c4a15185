// SPDX-License-Identifier: Apache-2.0

package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ProductVersion is the Trail version the cef and ocsf formats name as the
// product's version. cmd/trail sets it from the build; tests and libraries
// see "dev".
var ProductVersion = "dev"

// storedRecord is a stored event decoded for the formats that reshape it (cef,
// ocsf). The json format never decodes: it sends the stored bytes.
type storedRecord struct {
	ID          string          `json:"id"`
	Org         string          `json:"org"`
	Seq         int64           `json:"seq"`
	Type        string          `json:"type"`
	Category    string          `json:"category"`
	Actor       recordRef       `json:"actor"`
	Targets     []recordRef     `json:"targets"`
	Description string          `json:"description"`
	Client      *recordClient   `json:"client"`
	Location    *recordLocation `json:"location"`
	OccurredAt  string          `json:"occurred_at"`
	ReceivedAt  string          `json:"received_at"`
	Metadata    json.RawMessage `json:"metadata"`
	RecordedBy  string          `json:"recorded_by"`

	occurred, received time.Time
}

type recordRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

type recordClient struct {
	IP          string `json:"ip"`
	IPPrefixLen int    `json:"ip_prefix_len"`
	UserAgent   string `json:"user_agent"`
}

type recordLocation struct {
	CountryCode string `json:"country_code"`
	Country     string `json:"country"`
	Region      string `json:"region"`
	City        string `json:"city"`
}

// decodeRecord decodes a stored event. Stored events are canonical JSON
// written by Trail, so an error here means the bytes are not a stored event.
func decodeRecord(ev Event) (*storedRecord, error) {
	var r storedRecord
	if err := json.Unmarshal(ev.Data, &r); err != nil {
		return nil, fmt.Errorf("stream: event %d is not a stored event: %w", ev.Seq, err)
	}
	var err error
	if r.occurred, err = time.Parse(time.RFC3339Nano, r.OccurredAt); err != nil {
		return nil, fmt.Errorf("stream: event %d: occurred_at: %w", ev.Seq, err)
	}
	if r.received, err = time.Parse(time.RFC3339Nano, r.ReceivedAt); err != nil {
		return nil, fmt.Errorf("stream: event %d: received_at: %w", ev.Seq, err)
	}
	if len(r.Metadata) == 0 || bytes.Equal(r.Metadata, []byte("null")) {
		r.Metadata = json.RawMessage("{}")
	}
	return &r, nil
}

// decodeHead decodes only what a message header needs (type, category,
// occurred_at): cheaper than decodeRecord when the body is rendered.
func decodeHead(ev Event) (*storedRecord, error) {
	var h struct {
		Type       string `json:"type"`
		Category   string `json:"category"`
		OccurredAt string `json:"occurred_at"`
	}
	if err := json.Unmarshal(ev.Data, &h); err != nil {
		return nil, fmt.Errorf("stream: event %d is not a stored event: %w", ev.Seq, err)
	}
	r := &storedRecord{Type: h.Type, Category: h.Category, OccurredAt: h.OccurredAt}
	var err error
	if r.occurred, err = time.Parse(time.RFC3339Nano, r.OccurredAt); err != nil {
		return nil, fmt.Errorf("stream: event %d: occurred_at: %w", ev.Seq, err)
	}
	return r, nil
}

// firstTarget returns the first target of one of the given types, or the
// first target of any type when types is empty, and whether there is one.
func (r *storedRecord) firstTarget(types ...string) (recordRef, bool) {
	for _, t := range r.Targets {
		if len(types) == 0 {
			return t, true
		}
		for _, want := range types {
			if t.Type == want {
				return t, true
			}
		}
	}
	return recordRef{}, false
}

// verb is the last dot-separated word of the event type: "create" for
// repo.create, "disable" for org.settings.sso.disable.
func (r *storedRecord) verb() string {
	return r.Type[strings.LastIndexByte(r.Type, '.')+1:]
}

// eventSeverity is how much an event matters to a security team, shared by the
// cef header, the syslog PRI and OCSF's severity_id.
type eventSeverity int

const (
	sevInfo   eventSeverity = iota // routine activity
	sevLow                         // access changes, deletions
	sevMedium                      // security controls weakened, the org deleted, a credential rotated
)

// mediumTypes are the events that weaken a security control or destroy
// the org: a SIEM should raise them.
var mediumTypes = map[string]bool{
	"org.delete": true, "org.rotate_token": true,
	"org.settings.security.2fa.disable":             true,
	"org.settings.sso.disable":                      true,
	"org.settings.network.ip_restriction.disable":   true,
	"org.settings.network.auth_enforcement.disable": true,
	"org.token_approval.disabled":                   true,
}

// severityOf classifies an event: medium for mediumTypes, low for
// membership and role changes and for deletions and removals, else info.
func severityOf(r *storedRecord) eventSeverity {
	if mediumTypes[r.Type] {
		return sevMedium
	}
	if r.Category == "membership" || strings.HasSuffix(r.Type, "change_role") {
		return sevLow
	}
	switch v := r.verb(); {
	case v == "delete", strings.HasPrefix(v, "remove"), v == "disable", v == "disabled", v == "cancel":
		return sevLow
	}
	return sevInfo
}

// jsonString is s as a JSON string.
func quoteJSON(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}
