// SPDX-License-Identifier: Apache-2.0

// Package demo makes a realistic audit-log history for a demo
// organization, so that `trail serve --demo` shows a lived-in log.
//
// The org is Acme AI (`acme` by default): a dozen people in France,
// Germany, the United Kingdom, the United States, Japan, India and Brazil,
// their models, datasets and Spaces, resource groups, access tokens, CI
// jobs and a subscription. The history tells a few stories (the org's
// founding, members invited and later removed, an upgrade to Enterprise,
// a bumpy SSO rollout, an org deleted by mistake and restored) over an
// everyday background of settings changes, SSO sign-ins, new repositories,
// Space hardware, secrets and variables, and jobs. People act in their own
// office hours, mostly on weekdays, from their office, their home or a
// trip abroad, over IPv4 and IPv6; CI tokens act from the cloud and the
// platform itself renews the subscription and runs scheduled jobs.
//
// Every type of the built-in catalog appears at least once, and every
// event passes its type's rules. Secret and variable events carry names
// only. The output depends only on Options: the same options give the
// same bytes, and event ids ("demo-000000" …) make loading it twice
// idempotent.
package demo

import (
	"encoding/json"
	"fmt"
	"iter"
	"time"
)

// Options says what history to make. The zero value of a field means its
// default.
type Options struct {
	Org    string    // the org's identifier (org targets name it); default "acme"
	Events int       // how many events; default 24000. At least one of every type and the stories are always made.
	Days   int       // the events fall in the Days days before Now; default 180
	Now    time.Time // the end of the history; default time.Now()
	Seed   int64     // the same seed (with the same other options) gives the same history
}

// Defaults.
const (
	DefaultOrg    = "acme"
	DefaultEvents = 24000
	DefaultDays   = 180
	// BatchSize is the most events Batches yields at once.
	BatchSize = 500
)

func (o Options) withDefaults() Options {
	if o.Org == "" {
		o.Org = DefaultOrg
	}
	if o.Events <= 0 {
		o.Events = DefaultEvents
	}
	if o.Days <= 0 {
		o.Days = DefaultDays
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	return o
}

// Batches yields the demo history, oldest first, in batches of at most
// BatchSize events. Each event is the JSON object the ingest API takes:
// id, type, actor, targets, client {ip, user_agent} (absent for the
// platform's own events), occurred_at (RFC 3339, UTC, in the past) and
// metadata. Descriptions are left to the catalog's templates.
//
// The whole history is planned when iteration starts (about a tenth of a
// second for the default size); events are encoded batch by batch.
func Batches(opts Options) iter.Seq[[]json.RawMessage] {
	o := opts.withDefaults()
	return func(yield func([]json.RawMessage) bool) {
		events := plan(o)
		org := ref{Type: "org", ID: orgID, Name: o.Org}
		for i := 0; i < len(events); i += BatchSize {
			batch := make([]json.RawMessage, 0, min(BatchSize, len(events)-i))
			for j := i; j < min(i+BatchSize, len(events)); j++ {
				batch = append(batch, encode(j, events[j], org))
			}
			if !yield(batch) {
				return
			}
		}
	}
}

// Admin returns the demo org's admin, the member a viewer link opens the
// page for.
func Admin() (id, name string) {
	m := newMembers()[0]
	return m.id, m.name
}

// EventID returns the id of the n-th event of the history (from 0).
func EventID(n int) string { return fmt.Sprintf("demo-%06d", n) }

// wire is an event as the ingest API takes it.
type wire struct {
	ID         string         `json:"id"`
	Type       string         `json:"type"`
	Actor      ref            `json:"actor"`
	Targets    []ref          `json:"targets"`
	Client     *client        `json:"client,omitempty"`
	OccurredAt string         `json:"occurred_at"`
	Metadata   map[string]any `json:"metadata"`
}

// encode returns the JSON of the n-th event. Org targets carry the org's
// identifier as their name.
func encode(n int, e *event, org ref) json.RawMessage {
	targets := make([]ref, len(e.targets))
	for i, t := range e.targets {
		if t.Type == "org" {
			t = org
		}
		targets[i] = t
	}
	b, err := json.Marshal(wire{
		ID: EventID(n), Type: e.typ, Actor: e.actor, Targets: targets, Client: e.client,
		OccurredAt: e.at.UTC().Format("2006-01-02T15:04:05.000Z"), Metadata: e.meta,
	})
	if err != nil {
		panic("demo: encoding an event: " + err.Error()) // only plain values are ever encoded
	}
	return b
}
