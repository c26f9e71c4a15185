// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/trailaudit/trail/internal/catalog"
)

// ref is an actor or a target, as the ingest API takes it.
type ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// client is where an event came from, with the full address: Trail
// anonymizes it on ingest.
type client struct {
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
}

// event is one planned event.
type event struct {
	at      time.Time
	typ     string
	actor   ref
	by      *member // the acting member, nil for tokens and the system
	targets []ref
	meta    map[string]any
	client  *client
	ua      uaKind // what a member acted with
}

// gen plans a history: stories first, then one event of every type the
// stories left out, then the everyday background up to the count asked.
type gen struct {
	o       Options
	rng     *rand.Rand
	cat     *catalog.Catalog
	lo, hi  time.Time // the history is [lo, hi)
	members []*member
	byName  map[string]*member
	repos   []*repo
	marks   marks
	events  []*event
	seq     int // counter for generated names
}

// marks are the moments stories set that background events respect.
type marks struct {
	cutoff        time.Time // granular org.settings.* events from here on
	sso           time.Time // members sign in through SSO from here on
	tokenApproval time.Time // token authorization requests from here on
	groups        time.Time // resource groups exist from here on
	schedules     time.Time // scheduled jobs exist from here on
	providers     time.Time // inference providers are on from here on
}

func newGen(o Options) *gen {
	hi := o.Now.UTC().Truncate(time.Millisecond)
	lo := o.Now.UTC().Add(-time.Duration(o.Days) * day).Truncate(time.Millisecond).Add(time.Millisecond)
	g := &gen{
		o:       o,
		rng:     rand.New(rand.NewPCG(uint64(o.Seed), 0x7261696c)),
		cat:     catalog.Builtin(),
		lo:      lo,
		hi:      hi,
		members: newMembers(),
		byName:  map[string]*member{},
		repos:   newRepos(),
	}
	for _, m := range g.members {
		g.byName[m.name] = m
	}
	g.setMarks()
	g.setAddresses()
	return g
}

// setMarks places the story moments: the legacy settings event gives way
// to the granular ones on 2026-06-16, as on the Hub, kept inside the
// history's first quarter.
func (g *gen) setMarks() {
	cut := time.Date(2026, 6, 16, 0, 0, 0, 0, time.UTC)
	g.marks.cutoff = g.clamp(minTime(maxTime(cut, g.point(0.05)), g.point(0.25)))
}

// point is the moment at fraction f of the history.
func (g *gen) point(f float64) time.Time {
	return g.lo.Add(time.Duration(f * float64(g.hi.Sub(g.lo))))
}

// setAddresses gives every member a home address and a trip or two.
func (g *gen) setAddresses() {
	for _, m := range g.members {
		m.home4 = homeAddr(g.rng, m.country, false)
		if g.rng.IntN(3) > 0 {
			m.home6 = homeAddr(g.rng, m.country, true)
		}
		for range 1 + g.rng.IntN(2) {
			g.addTrip(m)
		}
	}
}

// travel is where people go: conferences, customers, family.
var travel = []string{"US", "JP", "IN", "BR", "GB", "FR", "DE"}

func (g *gen) addTrip(m *member) {
	c := travel[g.rng.IntN(len(travel))]
	if c == m.country {
		return
	}
	from := g.uniform(g.lo, g.hi)
	to := from.Add(time.Duration(3+g.rng.IntN(7)) * day)
	m.trips = append(m.trips, trip{from: from, to: to, country: c, addr: homeAddr(g.rng, c, g.rng.IntN(2) == 0)})
}

// plan returns the whole history, oldest first.
func plan(o Options) []*event {
	g := newGen(o)
	g.stories()
	g.coverage()
	g.background(o.Events - len(g.events))
	slices.SortStableFunc(g.events, func(a, b *event) int { return a.at.Compare(b.at) })
	return g.events
}

// add records e once it fits its type, and gives a member's event its
// client; events of types the catalog does not have are dropped.
func (g *gen) add(e *event) *event {
	e.at = g.clamp(e.at)
	if e.meta == nil {
		e.meta = map[string]any{}
	}
	if !g.fit(e) {
		return e
	}
	e.at = g.clamp(e.at).Truncate(time.Millisecond)
	if e.by != nil && e.client == nil {
		e.client = g.clientOf(e.by, e.at, e.ua)
	}
	g.events = append(g.events, e)
	return e
}

// by records an event of member m at t.
func (g *gen) by(m *member, t time.Time, typ string, ua uaKind, meta map[string]any, targets ...ref) *event {
	return g.add(&event{at: t, typ: typ, actor: m.ref(), by: m, ua: ua, targets: targets, meta: meta})
}

// bySystem records an event of the platform itself: no client.
func (g *gen) bySystem(t time.Time, typ string, meta map[string]any, targets ...ref) *event {
	return g.add(&event{at: t, typ: typ, actor: system, targets: targets, meta: meta})
}

// system is the platform acting on its own (renewals, scheduled runs).
var system = ref{Type: "system", ID: "hub", Name: "Hugging Face"}

// clientOf says where m acted from at t: abroad on a trip, at the office
// on working days, at home otherwise.
func (g *gen) clientOf(m *member, t time.Time, ua uaKind) *client {
	c := &client{UserAgent: userAgent(g.rng, m, ua)}
	local := t.In(time.FixedZone("", m.tz*60))
	h := local.Hour()
	trip := g.onTrip(m, t)
	switch {
	case trip != nil:
		c.IP = trip.addr.String()
	case m.office != nil && !weekend(local) && h >= 9 && h < 18 && g.rng.IntN(10) < 7:
		c.IP = m.office.addrs[g.rng.IntN(len(m.office.addrs))].String()
	case m.home6.IsValid() && g.rng.IntN(2) == 0:
		c.IP = m.home6.String()
	default:
		c.IP = m.home4.String()
	}
	return c
}

func (g *gen) onTrip(m *member, t time.Time) *trip {
	for i := range m.trips {
		if !t.Before(m.trips[i].from) && t.Before(m.trips[i].to) {
			return &m.trips[i]
		}
	}
	return nil
}

// ciClient is a CI runner in the cloud.
func (g *gen) ciClient() *client {
	if g.rng.IntN(4) == 0 {
		return &client{IP: addrIn(g.rng, cloud6).String(), UserAgent: uaCI}
	}
	ua := uaCI
	if g.rng.IntN(5) == 0 {
		ua = uaCurl
	}
	return &client{IP: addrIn(g.rng, cloud4).String(), UserAgent: ua}
}

// pick returns a random member among those who pass ok and are members
// for some of [lo, hi), or nil if none does. Each is weighted by their
// activity and by how much of [lo, hi) they are a member for.
func (g *gen) pick(lo, hi time.Time, ok func(*member) bool) *member {
	var cands []*member
	var weights []float64
	total := 0.0
	for _, m := range g.members {
		if !ok(m) || m.joined.IsZero() {
			continue
		}
		if a, b := g.bounds(m, lo, hi); a.Before(b) {
			w := m.weight * float64(b.Sub(a)) / float64(hi.Sub(lo)) // late joiners act less
			cands, weights = append(cands, m), append(weights, w)
			total += w
		}
	}
	r := g.rng.Float64() * total
	for i, m := range cands {
		if r -= weights[i]; r < 0 {
			return m
		}
	}
	if len(cands) > 0 {
		return cands[len(cands)-1]
	}
	return nil
}

// other returns a member at t other than the actor, weighted.
func (g *gen) other(e *event) *member {
	m := g.pick(e.at, e.at.Add(time.Millisecond), func(m *member) bool { return m != e.by })
	if m == nil {
		return g.members[1]
	}
	return m
}

// repoFor returns a random repository of one of kinds (any kind when
// none is given) that exists at e's time. When none does yet, it returns
// one of them and moves e to a few days after its creation.
func (g *gen) repoFor(e *event, kinds ...string) *repo {
	var cands, all []*repo
	for _, r := range g.repos {
		if len(kinds) > 0 && !slices.Contains(kinds, r.kind) {
			continue
		}
		all = append(all, r)
		if !r.made.IsZero() && r.made.Before(e.at) {
			cands = append(cands, r)
		}
	}
	if len(cands) > 0 {
		return cands[g.rng.IntN(len(cands))]
	}
	r := all[g.rng.IntN(len(all))]
	switch {
	case r.made.IsZero():
	case e.by != nil:
		e.at = g.workTime(e.by, r.made.Add(time.Hour), r.made.Add(14*day))
	default:
		e.at = r.made.Add(time.Hour + g.jitter(3*day))
	}
	return r
}

// one returns a random element of s.
func one[T any](g *gen, s []T) T { return s[g.rng.IntN(len(s))] }

// some returns 1 to n distinct random elements of s, in s's order.
func some[T any](g *gen, s []T, n int) []T {
	k := 1 + g.rng.IntN(min(n, len(s)))
	idx := g.rng.Perm(len(s))[:k]
	slices.Sort(idx)
	out := make([]T, k)
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}
