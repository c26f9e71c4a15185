// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/trailaudit/trail/internal/geo/dbip"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/catalog"
)

var (
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	refPattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)
)

// decoded is an event as the ingest API decodes it.
type decoded struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Actor   ref    `json:"actor"`
	Targets []ref  `json:"targets"`
	Client  *struct {
		IP        string `json:"ip"`
		UserAgent string `json:"user_agent"`
	} `json:"client"`
	OccurredAt string         `json:"occurred_at"`
	Metadata   map[string]any `json:"metadata"`
	at         time.Time
}

// history runs Batches and decodes every event, failing on any batch
// larger than BatchSize or any event that is not the ingest API's JSON.
func history(t testing.TB, o Options) []decoded {
	t.Helper()
	evs, err := decodeAll(o)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// standard is the history most tests look at, made once.
var standard = sync.OnceValues(func() ([]decoded, error) { return decodeAll(Options{Now: now}) })

func standardHistory(t testing.TB) []decoded {
	t.Helper()
	evs, err := standard()
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func decodeAll(o Options) ([]decoded, error) {
	var out []decoded
	for batch := range Batches(o) {
		if len(batch) == 0 || len(batch) > BatchSize {
			return nil, fmt.Errorf("batch of %d events, want 1 to %d", len(batch), BatchSize)
		}
		for _, raw := range batch {
			e, err := decodeEvent(raw)
			if err != nil {
				return nil, fmt.Errorf("event %d: %v: %s", len(out), err, raw)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// decodeEvent decodes one event as strictly as the ingest API does.
func decodeEvent(raw []byte) (decoded, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var e decoded
	if err := dec.Decode(&e); err != nil {
		return e, err
	}
	at, err := time.Parse(time.RFC3339, e.OccurredAt)
	if err != nil || at.Location() != time.UTC {
		return e, fmt.Errorf("occurred_at %q is not RFC 3339 UTC", e.OccurredAt)
	}
	e.at = at
	return e, nil
}

var now = time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)

func TestDefaults(t *testing.T) {
	start := time.Now()
	evs := history(t, Options{})
	if len(evs) < 20000 {
		t.Fatalf("got %d events with the defaults, want at least 20000", len(evs))
	}
	checkWindow(t, evs, start.Add(-DefaultDays*day), time.Now())
}

func TestEveryEventValidates(t *testing.T) {
	for _, o := range []Options{{Now: now, Seed: 1}, {Now: now, Days: 1, Events: 10, Seed: 5}} {
		checkValid(t, history(t, o))
	}
}

// checkValid checks ids, types, actors and targets, and every event
// against its catalog type.
func checkValid(t *testing.T, evs []decoded) {
	t.Helper()
	cat := catalog.Builtin()
	ids := map[string]bool{}
	for _, e := range evs {
		if !idPattern.MatchString(e.ID) || ids[e.ID] {
			t.Fatalf("id %q: not unique or not matching %s", e.ID, idPattern)
		}
		ids[e.ID] = true
		typ, ok := cat.Lookup(e.Type)
		if !ok {
			t.Fatalf("event %s: unknown type %q", e.ID, e.Type)
		}
		if errs := typ.Validate(refs(e.Targets), e.Metadata); errs != nil {
			t.Errorf("event %s (%s): %v", e.ID, e.Type, errs)
		}
		checkRefs(t, e)
	}
}

func checkRefs(t *testing.T, e decoded) {
	t.Helper()
	if !slices.Contains([]string{"user", "token", "system"}, e.Actor.Type) || e.Actor.ID == "" || e.Actor.Name == "" {
		t.Errorf("event %s: actor %+v", e.ID, e.Actor)
	}
	for _, r := range e.Targets {
		if !refPattern.MatchString(r.Type) || r.ID == "" || r.Name == "" {
			t.Errorf("event %s: target %+v", e.ID, r)
		}
	}
	if e.Client == nil && e.Actor.Type != "system" {
		t.Errorf("event %s: no client for a %s actor", e.ID, e.Actor.Type)
	}
}

func TestEveryTypeAppears(t *testing.T) {
	for i, evs := range [][]decoded{standardHistory(t), history(t, Options{Now: now, Events: 50, Days: 7, Seed: 9})} {
		seen := map[string]int{}
		for _, e := range evs {
			seen[e.Type]++
		}
		for _, typ := range catalog.Builtin().Types() {
			if seen[typ.Name] == 0 {
				t.Errorf("history %d: no %s event", i, typ.Name)
			}
		}
	}
}

func TestWindowAndOrder(t *testing.T) {
	for _, o := range []Options{{Now: now, Seed: 3}, {Now: now, Events: 500, Days: 2, Seed: 4}, {Now: now, Events: 1, Days: 1}} {
		evs := history(t, o)
		checkWindow(t, evs, now.Add(-time.Duration(o.withDefaults().Days)*day), now)
		if o.Days == 2 && len(evs) != 500 {
			t.Errorf("got %d events, want 500", len(evs))
		}
	}
}

// checkWindow checks that every event lies in [lo, hi), oldest first.
func checkWindow(t *testing.T, evs []decoded, lo, hi time.Time) {
	t.Helper()
	for i, e := range evs {
		if e.at.Before(lo) || !e.at.Before(hi) {
			t.Fatalf("event %s at %s, outside [%s, %s)", e.ID, e.OccurredAt, lo, hi)
		}
		if i > 0 && e.at.Before(evs[i-1].at) {
			t.Fatalf("event %s at %s is older than the event before it", e.ID, e.OccurredAt)
		}
	}
}

func TestClients(t *testing.T) {
	countries := map[string]int{}
	var v4, v6 int
	want := map[string]netip.Prefix{
		"81.2.69.x (GB)":      netip.MustParsePrefix("81.2.69.0/24"),
		"2.125.160.x (FR)":    netip.MustParsePrefix("2.125.160.0/24"),
		"2a02:26f0::/32 (DE)": netip.MustParsePrefix("2a02:26f0::/32"),
	}
	seen := map[string]bool{}
	for _, e := range standardHistory(t) {
		if e.Client == nil {
			continue
		}
		a, err := netip.ParseAddr(e.Client.IP)
		if err != nil || e.Client.UserAgent == "" {
			t.Fatalf("event %s: client %+v", e.ID, *e.Client)
		}
		if a.Is4() {
			v4++
		} else {
			v6++
		}
		countries[countryOf(a)]++
		for name, p := range want {
			seen[name] = seen[name] || p.Contains(a)
		}
	}
	if len(countries) < 4 || v4 == 0 || v6 == 0 {
		t.Errorf("got countries %v, %d IPv4 and %d IPv6 clients; want several countries and both", countries, v4, v6)
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("no client in %s", name)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a := encodeAll(Options{Now: now, Events: 3000, Seed: 42})
	b := encodeAll(Options{Now: now, Events: 3000, Seed: 42})
	if !bytes.Equal(a, b) {
		t.Error("two runs with the same options differ")
	}
	if c := encodeAll(Options{Now: now, Events: 3000, Seed: 43}); bytes.Equal(a, c) {
		t.Error("two seeds give the same history")
	}
}

func encodeAll(o Options) []byte {
	var buf bytes.Buffer
	for batch := range Batches(o) {
		for _, raw := range batch {
			buf.Write(raw)
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

func TestStopEarly(t *testing.T) {
	n := 0
	for range Batches(Options{Now: now}) {
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("got %d batches, want 2", n)
	}
}

// TestRealism checks the shape of the history: the common types dominate,
// billing is rare, weekdays are busier than weekends, people act mostly in
// office hours, and the stories hold together.
func TestRealism(t *testing.T) {
	evs := standardHistory(t)
	count := map[string]int{}
	var weekday, weekendN int
	for _, e := range evs {
		count[e.Type]++
		if e.Actor.Type == "user" {
			if weekend(e.at) {
				weekendN++
			} else {
				weekday++
			}
		}
	}
	for _, typ := range []string{"repo.update_settings", "org.sso_login", "repo.create", "spaces.update_hardware"} {
		if count[typ] < len(evs)/40 {
			t.Errorf("%d %s events of %d, want more", count[typ], typ, len(evs))
		}
	}
	billing := 0
	for typ, n := range count {
		if strings.HasPrefix(typ, "billing.") {
			billing += n
		}
	}
	if billing > len(evs)/100 || count["org.delete"] != 1 || count["org.restore"] != 1 {
		t.Errorf("%d billing events, %d org.delete, %d org.restore: want them rare", billing, count["org.delete"], count["org.restore"])
	}
	if weekday/5 < 3*weekendN/2 { // per day
		t.Errorf("%d weekday and %d weekend events by people: weekdays should be much busier", weekday, weekendN)
	}
	checkStories(t, evs)
}

// checkStories: nobody signs in through SSO before it is enabled, and tom
// acts only while a member.
func checkStories(t *testing.T, evs []decoded) {
	t.Helper()
	ssoOn, tomIn, tomOut := false, false, false
	for _, e := range evs {
		switch {
		case e.Type == "org.settings.sso.enable":
			ssoOn = true
		case e.Type == "org.sso_login" && !ssoOn:
			t.Errorf("event %s: SSO sign-in before SSO was enabled", e.ID)
		case e.Type == "org.invite.accept" && e.Actor.Name == "tom.h":
			tomIn = true
		case e.Type == "org.remove_user" && e.Targets[0].Name == "tom.h":
			tomOut = true
		case e.Actor.Name == "tom.h" && (!tomIn || tomOut):
			t.Errorf("event %s: tom.h acts while not a member", e.ID)
		}
	}
	if !tomIn || !tomOut {
		t.Error("tom.h's story is missing")
	}
}

func TestAdmin(t *testing.T) {
	id, name := Admin()
	if id == "" || name != "alice" {
		t.Errorf("Admin() = %q, %q", id, name)
	}
	for _, e := range history(t, Options{Now: now, Events: 100}) {
		if e.Type == "org.create" && (e.Actor.ID != id || e.Actor.Name != name) {
			t.Errorf("org created by %+v, want the admin", e.Actor)
		}
	}
}

func BenchmarkBatches(b *testing.B) {
	for b.Loop() {
		n := 0
		for batch := range Batches(Options{Now: now}) {
			n += len(batch)
		}
		if n < 20000 {
			b.Fatalf("%d events", n)
		}
	}
}

// TestClientsLocateWithEmbeddedDB: with the DB-IP country database that
// ships in the binary, every demo client resolves to a country, and the
// home and mobile ones to the country whose ISPs they were drawn from, so
// the demo's page shows locations out of the box.
func TestClientsLocateWithEmbeddedDB(t *testing.T) {
	db, err := dbip.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	missing, wrong, n := 0, map[string]string{}, 0
	for _, e := range standardHistory(t) {
		if e.Client == nil {
			continue
		}
		a := netip.MustParseAddr(e.Client.IP)
		n++
		loc, ok := db.Locate(a)
		if !ok {
			missing++
			continue
		}
		if want := countryOf(a); want != "" && loc.CountryCode != want && !testRange(a) {
			wrong[a.String()] = loc.CountryCode + ", want " + want
		}
	}
	if missing > 0 || len(wrong) > 0 {
		t.Errorf("of %d demo clients, %d have no location and %d the wrong country: %v", n, missing, len(wrong), wrong)
	}
}

// testRange reports whether a is in a range of the tests' tiny database
// that DB-IP places elsewhere: 2.125.160.0/24 (MaxMind's test range for
// France; DB-IP says GB) and Akamai's 2a02:26f0::/32 (anycast, all over).
func testRange(a netip.Addr) bool {
	return netip.MustParsePrefix("2.125.160.0/24").Contains(a) || netip.MustParsePrefix("2a02:26f0::/32").Contains(a)
}

// TestNetworks: every client address of the demo's people lies in a
// network Networks lists, with that person's country; only the cloud
// addresses of CI tokens lie outside, so a database built from Networks
// locates every event a person made.
func TestNetworks(t *testing.T) {
	nets := Networks()
	located, cloud := 0, 0
	for batch := range Batches(Options{Events: 3000, Seed: 7}) {
		for _, raw := range batch {
			var e struct{ Client *struct{ IP string } }
			if err := json.Unmarshal(raw, &e); err != nil || e.Client == nil {
				continue
			}
			a := netip.MustParseAddr(e.Client.IP)
			i := slices.IndexFunc(nets, func(n Network) bool { return n.Prefix.Contains(a) })
			switch {
			case i >= 0 && nets[i].Country == countryOf(a):
				located++
			case i < 0 && (inAny(a, cloud4) || inAny(a, cloud6)):
				cloud++
			default:
				t.Errorf("client %s: not in Networks with its country, nor a cloud address", a)
			}
		}
	}
	if located == 0 || cloud == 0 {
		t.Errorf("%d located and %d cloud addresses, want some of each", located, cloud)
	}
}
