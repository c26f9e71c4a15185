// SPDX-License-Identifier: Apache-2.0

package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/geo/geotest"
	"github.com/trailaudit/trail/internal/logstore"
)

// testNow is the clock of the services under test.
var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// openStore opens the log engine (Trail's embedded store) in dir.
func openStore(t testing.TB, dir string) *logstore.Store {
	t.Helper()
	store, err := logstore.Open(dir, logstore.Options{})
	if err != nil {
		t.Fatalf("logstore.Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// newService starts a service on store, with the test geolocation
// database when withGeo is set.
func newService(t testing.TB, store audit.Store, withGeo bool) *audit.Service {
	t.Helper()
	cfg := audit.Config{Store: store, Now: func() time.Time { return testNow }}
	if withGeo {
		db, err := geo.Open(geotest.WriteDB(t, t.TempDir()))
		if err != nil {
			t.Fatalf("geo.Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		cfg.Locator = db
	}
	svc := audit.NewService(cfg)
	t.Cleanup(svc.Close)
	return svc
}

// event returns the JSON of a valid org.change_role event with fields
// replaced by the given raw JSON values; an empty value removes the field.
func event(fields map[string]string) string {
	base := map[string]string{
		"type":     `"org.change_role"`,
		"actor":    `{"type":"user","id":"u1","name":"alice"}`,
		"targets":  `[{"type":"user","id":"u2","name":"bob"}]`,
		"metadata": `{"old_role":"read","new_role":"admin"}`,
	}
	maps.Copy(base, fields)
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(base)) {
		if v := base[k]; v != "" {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func raws(events ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(events))
	for i, e := range events {
		out[i] = json.RawMessage(e)
	}
	return out
}

func size(t testing.TB, store audit.Store, org string) int64 {
	t.Helper()
	n, err := store.Size(context.Background(), org)
	if err != nil {
		t.Fatalf("Size(%s): %v", org, err)
	}
	return n
}

// stored returns the stored event with the given id, decoded.
func stored(t testing.TB, store audit.Store, org, id string) (int64, map[string]any) {
	t.Helper()
	seq, data, err := store.Event(context.Background(), org, id)
	if err != nil {
		t.Fatalf("Event(%s, %s): %v", org, id, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("stored event is not valid JSON: %v: %s", err, data)
	}
	return seq, m
}

func rfc3339(t time.Time) string { return `"` + t.Format(time.RFC3339Nano) + `"` }

// TestIngestRejectsBadEvents puts each bad event third in a batch of
// valid ones: the batch fails with a detail naming the event and the
// field, and nothing of it is stored.
func TestIngestRejectsBadEvents(t *testing.T) {
	store := openStore(t, t.TempDir())
	svc := newService(t, store, true)
	const ip = "81.2.69.187"
	tests := []struct {
		name     string
		event    string
		field    string
		expected string // a part of the detail's Expected
	}{
		{"event not an object", `42`, "", "a JSON object"},
		{"event is null", `null`, "", "a JSON object"},
		{"event is an array", `[` + event(nil) + `]`, "", "a JSON object"},
		{"event over 32 KiB", event(map[string]string{"metadata": `{"new_role":"a","x":"` + strings.Repeat("x", audit.DefaultMaxEvent) + `"}`}), "", "at most 32768 bytes"},
		{"id a number", event(map[string]string{"id": `5`}), "id", "a string"},
		{"id with a space", event(map[string]string{"id": `"a b"`}), "id", "1 to 64 of A-Z a-z 0-9 _ -"},
		{"id with a slash", event(map[string]string{"id": `"a/b"`}), "id", "1 to 64 of"},
		{"id empty", event(map[string]string{"id": `""`}), "id", "1 to 64 of A-Z a-z 0-9 _ - (leave id out for Trail to make one)"},
		{"lone high surrogate in description", event(map[string]string{"description": `"a\ud83d b"`}), "description", "half of a surrogate pair"},
		{"lone low surrogate in actor name", event(map[string]string{"actor": `{"type":"user","id":"u1","name":"\ude00"}`}), "actor.name", "half of a surrogate pair"},
		{"high surrogate then another escape", event(map[string]string{"targets": `[{"type":"user","id":"u2","name":"\ud83d\u0041"}]`}), "targets[0].name", "half of a surrogate pair"},
		{"swapped surrogates in user agent", event(map[string]string{"client": `{"user_agent":"\ude00\ud83d"}`}), "client.user_agent", "half of a surrogate pair"},
		{"lone surrogate in metadata", event(map[string]string{"metadata": `{"new_role":"adm\udbffin"}`}), "metadata.new_role", "half of a surrogate pair"},
		{"lone surrogate deep in metadata", event(map[string]string{"metadata": `{"new_role":"admin","x":{"y":["\ud800"]}}`}), "metadata.x", "half of a surrogate pair"},
		{"lone surrogate in a nested metadata key", event(map[string]string{"metadata": `{"new_role":"admin","x":{"\udc00":1}}`}), "metadata.x", "half of a surrogate pair"},
		{"id of 65 characters", event(map[string]string{"id": `"` + strings.Repeat("a", 65) + `"`}), "id", "at most 64 bytes"},
		{"id non-ASCII", event(map[string]string{"id": `"é"`}), "id", "1 to 64 of"},
		{"type a number", event(map[string]string{"type": `5`}), "type", "a string"},
		{"type missing", event(map[string]string{"type": ""}), "type", "a string (required)"},
		{"type empty", event(map[string]string{"type": `""`}), "type", "a non-empty string"},
		{"type unknown", event(map[string]string{"type": `"repo.explode"`}), "type", "an event type of the catalog"},
		{"type in another case", event(map[string]string{"type": `"repo.removedisable"`, "targets": `[{"type":"repo","name":"acme/x"}]`, "metadata": ""}), "type", "case-sensitive"},
		{"type in upper case", event(map[string]string{"type": `"ORG.CHANGE_ROLE"`}), "type", "case-sensitive"},
		{"actor missing", event(map[string]string{"actor": ""}), "actor", "(required)"},
		{"actor a string", event(map[string]string{"actor": `"alice"`}), "actor", "an object"},
		{"actor null", event(map[string]string{"actor": `null`}), "actor", "an object"},
		{"actor without type", event(map[string]string{"actor": `{"id":"u1"}`}), "actor.type", "a string (required)"},
		{"actor type a number", event(map[string]string{"actor": `{"type":1,"id":"u1"}`}), "actor.type", "a string"},
		{"actor type upper case", event(map[string]string{"actor": `{"type":"User","id":"u1"}`}), "actor.type", "a lower-case type name"},
		{"actor with neither id nor name", event(map[string]string{"actor": `{"type":"user"}`}), "actor", "an id or a name"},
		{"actor id a number", event(map[string]string{"actor": `{"type":"user","id":7}`}), "actor.id", "a string"},
		{"actor name over 256 bytes", event(map[string]string{"actor": `{"type":"user","name":"` + strings.Repeat("é", 129) + `"}`}), "actor.name", "at most 256 bytes"},
		{"actor unknown field", event(map[string]string{"actor": `{"type":"user","id":"u1","email":"a@b.c"}`}), "actor.email", "no such field"},
		{"control character in actor name", event(map[string]string{"actor": `{"type":"user","id":"u1","name":"ali\u0007ce"}`}), "actor.name", "without control characters"},
		{"newline in actor name", event(map[string]string{"actor": `{"type":"user","id":"u1","name":"ali\nce"}`}), "actor.name", "without control characters"},
		{"C1 control in actor id", event(map[string]string{"actor": `{"type":"user","id":"u\u009b1"}`}), "actor.id", "without control characters"},
		{"targets an object", event(map[string]string{"targets": `{"type":"user","id":"u2"}`}), "targets", "an array of {type, id, name} objects"},
		{"targets a string", event(map[string]string{"targets": `"bob"`}), "targets", "an array"},
		{"target a number", event(map[string]string{"targets": `[5]`}), "targets[0]", "an object"},
		{"target a list", event(map[string]string{"targets": `[{"type":"user","id":"u2"},["user","u3"]]`}), "targets[1]", "an object"},
		{"target without type", event(map[string]string{"targets": `[{"id":"u2"}]`}), "targets[0].type", "(required)"},
		{"target unknown field", event(map[string]string{"targets": `[{"type":"user","id":"u2","login":"bob"}]`}), "targets[0].login", "no such field"},
		{"target with neither id nor name", event(map[string]string{"targets": `[{"type":"user","id":"","name":null}]`}), "targets[0]", "an id or a name"},
		{"21 targets", event(map[string]string{"targets": `[` + strings.TrimSuffix(strings.Repeat(`{"type":"user","id":"u"},`, 21), ",") + `]`}), "targets", "at most 20 targets"},
		{"required target missing", event(map[string]string{"targets": `[{"type":"repo","name":"acme/x"}]`}), "targets", "a target of type user"},
		{"description a number", event(map[string]string{"description": `5`}), "description", "a string"},
		{"description over 2 KiB", event(map[string]string{"description": `"` + strings.Repeat("d", audit.DefaultMaxDescription+1) + `"`}), "description", "at most 2048 bytes"},
		{"description with NUL", event(map[string]string{"description": `"a\u0000b"`}), "description", "without control characters"},
		{"client a string", event(map[string]string{"client": `"` + ip + `"`}), "client", "an object"},
		{"client.ip invalid", event(map[string]string{"client": `{"ip":"81.2.69.1870"}`}), "client.ip", "an IPv4 or IPv6 address"},
		{"client.ip with a prefix", event(map[string]string{"client": `{"ip":"` + ip + `/24"}`}), "client.ip", "an IPv4 or IPv6 address"},
		{"client.ip with a zone", event(map[string]string{"client": `{"ip":"fe80::1%eth0"}`}), "client.ip", "an IPv4 or IPv6 address"},
		{"client.ip a number", event(map[string]string{"client": `{"ip":1359103419}`}), "client.ip", "as a string"},
		{"client unknown field", event(map[string]string{"client": `{"ip":"` + ip + `","port":443}`}), "client.port", "no such field"},
		{"user_agent over 512", event(map[string]string{"client": `{"user_agent":"` + strings.Repeat("u", 513) + `"}`}), "client.user_agent", "at most 512 bytes"},
		{"user_agent a list", event(map[string]string{"client": `{"user_agent":["curl"]}`}), "client.user_agent", "a string"},
		{"occurred_at not RFC 3339", event(map[string]string{"occurred_at": `"2026-11-22 10:00:00"`}), "occurred_at", "an RFC 3339 time"},
		{"occurred_at without zone", event(map[string]string{"occurred_at": `"2026-11-22T10:00:00"`}), "occurred_at", "an RFC 3339 time"},
		{"occurred_at a Unix time", event(map[string]string{"occurred_at": `1795000000`}), "occurred_at", "a string"},
		{"occurred_at 6 minutes ahead", event(map[string]string{"occurred_at": rfc3339(testNow.Add(6 * time.Minute))}), "occurred_at", "no more than 5 minutes in the future"},
		{"occurred_at before year 0 in UTC", event(map[string]string{"occurred_at": `"0000-01-01T00:00:00+01:00"`}), "occurred_at", "from year 0000"},
		{"metadata a list", event(map[string]string{"metadata": `[{"new_role":"admin"}]`}), "metadata", "an object"},
		{"metadata a string", event(map[string]string{"metadata": `"new_role=admin"`}), "metadata", "an object"},
		{"metadata wrong kind", event(map[string]string{"metadata": `{"new_role":5}`}), "metadata.new_role", "a string"},
		{"metadata required key missing", event(map[string]string{"metadata": `{"old_role":"read"}`}), "metadata.new_role", "(required)"},
		{"metadata key not allowed", event(map[string]string{"metadata": `{"new_role":"admin","new role":"x"}`}), `metadata["new role"]`, "a key of 1 to 64 characters"},
		{"metadata control character", event(map[string]string{"metadata": `{"new_role":"ad\u001bmin"}`}), "metadata.new_role", "without control characters"},
		{"metadata value over 1 KiB", event(map[string]string{"metadata": `{"new_role":"admin","note":"` + strings.Repeat("n", 1100) + `"}`}), "metadata.note", "at most 1024 bytes"},
		{"secret value in names-only event", `{"type":"repo.add_secret","actor":{"type":"user","id":"u1"},"targets":[{"type":"repo","name":"acme/x"}],"metadata":{"name":"HF_TOKEN","value":"hunter2"}}`, "metadata.value", "names only"},
		{"secret password in names-only event", `{"type":"repo.add_secrets","actor":{"type":"user","id":"u1"},"targets":[{"type":"repo","name":"acme/x"}],"metadata":{"names":["A"],"Password":"hunter2"}}`, "metadata.Password", "names only"},
		{"unknown field", event(map[string]string{"colour": `"red"`}), "colour", "no such field; known fields: id, type, actor"},
		{"field name in another case", event(map[string]string{"Description": `"x"`}), "Description", "no such field"},
	}
	good0 := event(map[string]string{"id": `"good-0"`})
	good1 := event(map[string]string{"id": `"good-1"`, "client": `{"ip":"` + ip + `"}`})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := fmt.Sprintf("bad-%d", i)
			acks, err := svc.Ingest(context.Background(), org, raws(good0, good1, tt.event))
			var e *audit.Error
			if !errors.As(err, &e) || e.Code != audit.CodeUnprocessable {
				t.Fatalf("Ingest = %v, %v; want a %s error", acks, err, audit.CodeUnprocessable)
			}
			if !hasDetail(e.Details, 2, tt.field, tt.expected) {
				t.Errorf("details = %+v, want {index 2, field %q, expected …%q…}", e.Details, tt.field, tt.expected)
			}
			for _, d := range e.Details {
				if d.Index != 2 {
					t.Errorf("detail %+v names a valid event", d)
				}
			}
			if want := "event 2 is invalid; nothing was stored"; e.Message != want {
				t.Errorf("message = %q, want %q", e.Message, want)
			}
			text := errorText(e)
			for _, secret := range []string{ip, "81.2.69.1870", "hunter2"} {
				if strings.Contains(text, secret) {
					t.Errorf("the error echoes %q: %s", secret, text)
				}
			}
			if n := size(t, store, org); n != 0 {
				t.Errorf("after the rejected batch, Size = %d, want 0", n)
			}
		})
	}
}

func hasDetail(details []audit.Detail, index int, field, expected string) bool {
	return slices.ContainsFunc(details, func(d audit.Detail) bool {
		return d.Index == index && d.Field == field && strings.Contains(d.Expected, expected)
	})
}

// errorText is everything of e a user or a log could see.
func errorText(e *audit.Error) string {
	b, _ := json.Marshal(e.Details)
	return e.Error() + string(b)
}

func TestIngestOccurredAt(t *testing.T) {
	store := openStore(t, t.TempDir())
	svc := newService(t, store, false)
	tests := []struct {
		name string
		at   string // raw JSON
		want string // stored occurred_at
	}{
		{"4 minutes ahead", rfc3339(testNow.Add(4 * time.Minute)), "2026-11-22T10:04:00.000000Z"},
		{"exactly 5 minutes ahead", rfc3339(testNow.Add(5 * time.Minute)), "2026-11-22T10:05:00.000000Z"},
		{"10 years ago", rfc3339(testNow.AddDate(-10, 0, 0)), "2016-11-22T10:00:00.000000Z"},
		{"year 0000", `"0000-01-01T00:00:00Z"`, "0000-01-01T00:00:00.000000Z"},
		{"other zone, nanoseconds", `"2026-11-21T12:30:00.123456789+02:00"`, "2026-11-21T10:30:00.123456Z"},
		{"absent: received_at", ``, "2026-11-22T10:00:00.000000Z"},
		{"null: received_at", `null`, "2026-11-22T10:00:00.000000Z"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := fmt.Sprintf("at-%d", i)
			acks, err := svc.Ingest(context.Background(), org, raws(event(map[string]string{"occurred_at": tt.at})))
			if err != nil {
				t.Fatalf("Ingest: %v", err)
			}
			_, ev := stored(t, store, org, acks[0].ID)
			if ev["occurred_at"] != tt.want {
				t.Errorf("occurred_at = %v, want %s", ev["occurred_at"], tt.want)
			}
			// What Trail stored, it takes back.
			_, data, _ := store.Event(context.Background(), org, acks[0].ID)
			if _, err := svc.Ingest(context.Background(), org+"-copy", raws(string(data))); err != nil {
				t.Errorf("re-ingesting the stored event: %v", err)
			}
		})
	}
}

func TestIngestNamesEveryBadEvent(t *testing.T) {
	store := openStore(t, t.TempDir())
	svc := newService(t, store, false)
	batch := raws(
		event(map[string]string{"type": `5`}),
		event(nil),
		event(map[string]string{"actor": `"alice"`, "targets": `{}`, "colour": `"red"`}),
		`"not an event"`,
		event(map[string]string{"id": `"dup"`}),
		event(map[string]string{"id": `"dup"`}),
	)
	_, err := svc.Ingest(context.Background(), "acme", batch)
	var e *audit.Error
	if !errors.As(err, &e) || e.Code != audit.CodeUnprocessable {
		t.Fatalf("Ingest = %v, want a %s error", err, audit.CodeUnprocessable)
	}
	want := []struct {
		index           int
		field, expected string
	}{
		{0, "type", "a string"},
		{2, "actor", "an object"},
		{2, "targets", "an array"},
		{2, "colour", "no such field"},
		{3, "", "a JSON object"},
		{5, "id", "an id not used by another event of this batch (event 4 has it)"},
	}
	for _, w := range want {
		if !hasDetail(e.Details, w.index, w.field, w.expected) {
			t.Errorf("no detail {%d, %q, …%q…} in %+v", w.index, w.field, w.expected, e.Details)
		}
	}
	if len(e.Details) != len(want) {
		t.Errorf("got %d details, want %d: %+v", len(e.Details), len(want), e.Details)
	}
	if want := "4 events are invalid; nothing was stored"; e.Message != want {
		t.Errorf("message = %q, want %q", e.Message, want)
	}
	if n := size(t, store, "acme"); n != 0 {
		t.Errorf("Size = %d, want 0", n)
	}
}

// TestIngestBoundsDetails: an event of thousands of unknown fields gets a
// bounded error, not one detail per field.
func TestIngestBoundsDetails(t *testing.T) {
	store := openStore(t, t.TempDir())
	svc := newService(t, store, false)
	fields := map[string]string{}
	for i := range 2000 {
		fields[fmt.Sprintf("f%d", i)] = "0"
	}
	long := strings.Repeat("k", 5000)
	fields[long] = "0"
	_, err := svc.Ingest(context.Background(), "acme", raws(event(fields), event(fields)))
	var e *audit.Error
	if !errors.As(err, &e) || e.Code != audit.CodeUnprocessable {
		t.Fatalf("Ingest = %v, want a %s error", err, audit.CodeUnprocessable)
	}
	if len(e.Details) > 42 {
		t.Errorf("got %d details for 2 events", len(e.Details))
	}
	if !hasDetail(e.Details, 1, "", "1981 more problems in this event, not listed") {
		t.Errorf("details do not count the unlisted problems: %+v", e.Details[len(e.Details)-1])
	}
	if text := errorText(e); len(text) > 10000 || strings.Contains(text, long) {
		t.Errorf("error of %d bytes echoes the input", len(text))
	}
}

// TestIngestExportedEvent re-ingests an event as an export carries it:
// the server-side fields are accepted and ignored.
func TestIngestExportedEvent(t *testing.T) {
	store := openStore(t, t.TempDir())
	svc := newService(t, store, true)
	exported := `{"id":"exp-1","org":"other","seq":999,"type":"org.change_role","category":"billing",` +
		`"actor":{"type":"user","id":"u1","name":"alice"},"targets":[{"type":"user","id":"u2","name":"bob"}],` +
		`"description":"alice changed bob's role from read to admin",` +
		`"client":{"ip":"2.125.160.216","ip_prefix_len":8,"user_agent":"curl/8"},` +
		`"location":{"country_code":"XX","country":"Nowhere","region":"","city":"Atlantis"},` +
		`"occurred_at":"2026-11-20T08:00:00.000000Z","received_at":"2020-01-01T00:00:00.000000Z",` +
		`"metadata":{"new_role":"admin","old_role":"read"},"recorded_by":"trail"}`
	for _, org := range []string{"acme", "acme", "beta"} {
		acks, err := svc.Ingest(context.Background(), org, raws(exported))
		if err != nil {
			t.Fatalf("Ingest into %s: %v", org, err)
		}
		if acks[0] != (audit.Ack{ID: "exp-1", Seq: 0}) {
			t.Errorf("ack = %+v, want {exp-1 0}", acks[0])
		}
		if n := size(t, store, org); n != 1 {
			t.Errorf("Size(%s) = %d, want 1", org, n)
		}
		seq, ev := stored(t, store, org, "exp-1")
		want := map[string]any{
			"org": org, "seq": float64(0), "category": "membership",
			"received_at": "2026-11-22T10:00:00.000000Z",
			"occurred_at": "2026-11-20T08:00:00.000000Z",
			"client":      map[string]any{"ip": "2.125.160.0", "ip_prefix_len": float64(24), "user_agent": "curl/8"},
			"location":    map[string]any{"country_code": "FR", "country": "France", "region": "Île-de-France", "city": "Paris"},
		}
		for k, v := range want {
			if got, _ := json.Marshal(ev[k]); string(got) != mustJSON(v) {
				t.Errorf("%s: %s = %s, want %s", org, k, got, mustJSON(v))
			}
		}
		if _, ok := ev["recorded_by"]; ok {
			t.Errorf("%s: recorded_by = %v: taken from the producer", org, ev["recorded_by"])
		}
		if seq != 0 {
			t.Errorf("%s: seq = %d", org, seq)
		}
	}
	// Without a client address, a producer's location is not kept either.
	noIP := strings.Replace(exported, `"ip":"2.125.160.216",`, "", 1)
	noIP = strings.Replace(noIP, `"exp-1"`, `"exp-2"`, 1)
	if _, err := svc.Ingest(context.Background(), "acme", raws(noIP)); err != nil {
		t.Fatal(err)
	}
	if _, ev := stored(t, store, "acme", "exp-2"); ev["location"] != nil {
		t.Errorf("location = %v, want null", ev["location"])
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestIngestIdempotent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := openStore(t, dir)
	svc := newService(t, store, false)
	ev := event(map[string]string{"id": `"retry-1"`, "client": `{"ip":"81.2.69.160"}`})
	acks, err := svc.Ingest(ctx, "acme", raws(ev))
	if err != nil || acks[0] != (audit.Ack{ID: "retry-1", Seq: 0}) {
		t.Fatalf("Ingest = %v, %v", acks, err)
	}
	if acks, err = svc.Ingest(ctx, "acme", raws(event(nil))); err != nil || acks[0].Seq != 1 {
		t.Fatalf("Ingest = %v, %v", acks, err)
	}

	// The same event again: the original seq, nothing stored.
	if acks, err = svc.Ingest(ctx, "acme", raws(ev)); err != nil || acks[0] != (audit.Ack{ID: "retry-1", Seq: 0}) {
		t.Errorf("retry = %v, %v; want {retry-1 0}", acks, err)
	}
	// With another address of the same /24: the same content once anonymized.
	same24 := strings.Replace(ev, "81.2.69.160", "81.2.69.7", 1)
	if acks, err = svc.Ingest(ctx, "acme", raws(same24)); err != nil || acks[0].Seq != 0 {
		t.Errorf("retry from the same /24 = %v, %v; want seq 0", acks, err)
	}
	// Mixed with a new event: the retry keeps its seq, the new one is next.
	acks, err = svc.Ingest(ctx, "acme", raws(event(map[string]string{"id": `"new-1"`}), ev))
	if err != nil || acks[0] != (audit.Ack{ID: "new-1", Seq: 2}) || acks[1] != (audit.Ack{ID: "retry-1", Seq: 0}) {
		t.Errorf("mixed batch = %v, %v; want [{new-1 2} {retry-1 0}]", acks, err)
	}
	if n := size(t, store, "acme"); n != 3 {
		t.Errorf("Size = %d, want 3", n)
	}
	// Another org has its own ids.
	if acks, err = svc.Ingest(ctx, "beta", raws(ev)); err != nil || acks[0].Seq != 0 {
		t.Errorf("same id in another org = %v, %v; want seq 0", acks, err)
	}

	// The same id with other content: a conflict naming the index.
	changed := []string{
		event(map[string]string{"id": `"retry-1"`, "client": `{"ip":"81.2.69.160"}`, "description": `"something else"`}),
		event(map[string]string{"id": `"retry-1"`, "client": `{"ip":"81.2.70.160"}`}),
		event(map[string]string{"id": `"retry-1"`, "client": `{"ip":"81.2.69.160"}`, "occurred_at": rfc3339(testNow)}),
	}
	for _, c := range changed {
		_, err = svc.Ingest(ctx, "acme", raws(event(map[string]string{"id": `"new-2"`}), c))
		var e *audit.Error
		if !errors.As(err, &e) || e.Code != audit.CodeConflict {
			t.Errorf("changed event = %v, want a %s error", err, audit.CodeConflict)
			continue
		}
		if !hasDetail(e.Details, 1, "id", "") {
			t.Errorf("conflict details = %+v, want index 1, field id", e.Details)
		}
	}
	if n := size(t, store, "acme"); n != 3 {
		t.Errorf("after the conflicts, Size = %d, want 3", n)
	}

	// Location and rendered description are Trail's, not the producer's
	// content: a geolocation database appearing between two tries of
	// one event does not make the retry a conflict.
	withGeo := newService(t, store, true)
	if acks, err = withGeo.Ingest(ctx, "acme", raws(ev)); err != nil || acks[0].Seq != 0 {
		t.Errorf("retry after a geolocation update = %v, %v; want seq 0", acks, err)
	}
}

func TestIngestMakesUUIDv7IDs(t *testing.T) {
	store := openStore(t, t.TempDir())
	svc := newService(t, store, false)
	acks, err := svc.Ingest(context.Background(), "acme", raws(event(nil), event(map[string]string{"id": `null`})))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, a := range acks {
		id, err := uuid.Parse(a.ID)
		if err != nil || id.Version() != 7 || id.String() != a.ID {
			t.Errorf("event %d: id %q is not a UUIDv7 in canonical form", i, a.ID)
		}
		if seen[a.ID] {
			t.Errorf("id %s given twice", a.ID)
		}
		seen[a.ID] = true
		if a.Seq != int64(i) {
			t.Errorf("event %d: seq %d", i, a.Seq)
		}
		if _, ev := stored(t, store, "acme", a.ID); ev["id"] != a.ID {
			t.Errorf("stored id = %v, want %s", ev["id"], a.ID)
		}
	}
}

func TestIngestRejectsBadBatches(t *testing.T) {
	store := openStore(t, t.TempDir())
	svc := newService(t, store, false)
	many := make([]string, audit.DefaultMaxBatch+1)
	for i := range many {
		many[i] = event(nil)
	}
	for _, tt := range []struct {
		name string
		org  string
		raws []json.RawMessage
		code audit.Code
	}{
		{"1001 events", "acme", raws(many...), audit.CodeTooLarge},
		{"bad org", "ac me", raws(event(nil)), audit.CodeInvalid},
		{"org of 97 bytes", strings.Repeat("a", 97), raws(event(nil)), audit.CodeInvalid},
	} {
		_, err := svc.Ingest(context.Background(), tt.org, tt.raws)
		if audit.ErrorCode(err) != tt.code {
			t.Errorf("%s: Ingest = %v, want %s", tt.name, err, tt.code)
		}
	}
	if n := size(t, store, "acme"); n != 0 {
		t.Errorf("Size = %d, want 0", n)
	}
	if acks, err := svc.Ingest(context.Background(), "acme", raws(many[:audit.DefaultMaxBatch]...)); err != nil || len(acks) != audit.DefaultMaxBatch || acks[999].Seq != 999 {
		t.Errorf("1000 events: %d acks, %v", len(acks), err)
	}
}

// TestIngestStoredEventsAgain: what Trail stores, an export carries, and
// another Trail takes back.
func TestIngestStoredEventsAgain(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, t.TempDir())
	svc := newService(t, store, true)
	batch := raws(
		event(nil),
		event(map[string]string{"client": `{"user_agent":"curl/8"}`}),
		event(map[string]string{"client": `{"ip":"::ffff:81.2.69.160"}`}),
		event(map[string]string{"client": `{"ip":"2a02:26f0:1:2:3:4:5:6","user_agent":""}`, "description": `"a\nb\tc \u2028"`}),
		event(map[string]string{"actor": `{"type":"user","id":"","name":"   "}`, "metadata": `{"new_role":"admin","x":{"y":[1e400,-0,null]}}`}),
		`{"type":"repo.add_secrets","actor":{"type":"token","id":"t1"},"targets":[{"type":"repo","name":"acme/x"}],"metadata":{"names":["A","B","C","D","E","F","G"]}}`,
	)
	acks, err := svc.Ingest(ctx, "acme", batch)
	if err != nil {
		t.Fatal(err)
	}
	var copies []json.RawMessage
	err = store.Scan(ctx, "acme", 0, int64(len(acks)), audit.Filter{}, func(_ int64, data []byte) error {
		copies = append(copies, slices.Clone(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Ingest(ctx, "beta", copies)
	if err != nil {
		t.Fatalf("re-ingesting the stored events: %v", err)
	}
	for i, a := range got {
		if a.ID != acks[i].ID {
			t.Errorf("event %d: id %s, want %s", i, a.ID, acks[i].ID)
		}
	}
}
