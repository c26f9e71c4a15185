// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// who says which actors a type's events come from.
type who int

const (
	whoAdmin   who = iota // the org's admins but the billing owner
	whoBilling            // the billing owner, sometimes the founder
	whoWriter             // members with the write or admin role
	whoMember             // contributors and up
	whoAnyone             // every member
	whoCI                 // CI tokens mostly, writers sometimes
	whoSystem             // the platform itself
)

// allows reports whether m may act as w.
func (w who) allows(m *member) bool {
	switch w {
	case whoAdmin:
		return m.role == "admin" && !m.business
	case whoBilling:
		return m.name == "olivia" || m.name == "alice"
	case whoWriter, whoCI:
		return (m.role == "write" || m.role == "admin") && !m.business
	case whoMember:
		return m.role != "read" && !m.business
	}
	return true
}

// builder says how to make a random event of one type.
type builder struct {
	weight float64 // share of the everyday background; 0 for stories only
	who    who
	ua     uaKind
	span   func(g *gen) (lo, hi time.Time) // when it can happen; nil for always
	build  func(g *gen, e *event)          // sets targets and metadata
}

// builders holds a builder for every type the demo knows. A catalog type
// without one gets an admin, a browser, and what fit adds.
var builders = func() map[string]builder {
	m := map[string]builder{}
	for _, part := range []map[string]builder{
		orgBuilders(), settingsBuilders(), membershipBuilders(), contentBuilders(),
		secretBuilders(), jobBuilders(), billingBuilders(), groupBuilders(),
	} {
		maps.Copy(m, part)
	}
	return m
}()

// random adds one event of typ made by its builder at a random, plausible
// moment, and returns it.
func (g *gen) random(typ string) *event {
	b := builders[typ]
	lo, hi := g.lo, g.hi
	if b.span != nil {
		lo, hi = b.span(g)
	}
	e := &event{typ: typ, meta: map[string]any{}}
	switch {
	case b.who == whoSystem:
		e.actor, e.at = system, g.uniform(g.bounds(nil, lo, hi))
	case b.who == whoCI && g.rng.IntN(10) < 7:
		tok := one(g, ciTokens())
		e.actor, e.at, e.client = tok.ref(), g.ciTime(lo, hi), g.ciClient()
	default:
		m := g.pick(lo, hi, b.who.allows)
		if m == nil {
			m = g.members[0]
		}
		e.by, e.actor, e.ua = m, m.ref(), b.ua
		e.at = g.workTime(m, lo, hi)
	}
	if b.build != nil {
		b.build(g, e)
	}
	return g.add(e)
}

func ciTokens() []*token {
	var out []*token
	for _, t := range tokens {
		if t.ci {
			out = append(out, t)
		}
	}
	return out
}

// coverage adds one event of every catalog type the stories left out.
func (g *gen) coverage() {
	seen := map[string]bool{}
	for _, e := range g.events {
		seen[e.typ] = true
	}
	for _, t := range g.cat.Types() {
		if !seen[t.Name] {
			g.random(t.Name)
		}
	}
}

// background adds n everyday events, each type drawn by its weight.
func (g *gen) background(n int) {
	var types []string
	var cum []float64
	total := 0.0
	for _, typ := range slices.Sorted(maps.Keys(builders)) {
		if _, ok := g.cat.Lookup(typ); ok && builders[typ].weight > 0 {
			total += builders[typ].weight
			types, cum = append(types, typ), append(cum, total)
		}
	}
	for range n {
		r := g.rng.Float64() * total
		i, _ := slices.BinarySearch(cum, r)
		g.random(types[min(i, len(types)-1)])
	}
}

// after is a span from a story's mark to now.
func after(mark func(g *gen) time.Time) func(g *gen) (time.Time, time.Time) {
	return func(g *gen) (time.Time, time.Time) { return maxTime(mark(g), g.lo), g.hi }
}

// kv builds metadata from alternating keys and values.
func kv(pairs ...any) map[string]any {
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1]
	}
	return m
}

// set copies the pairs into e's metadata.
func (e *event) set(pairs ...any) {
	maps.Copy(e.meta, kv(pairs...))
}

// target appends targets to e.
func (e *event) target(rs ...ref) { e.targets = append(e.targets, rs...) }

// hex24 is a fresh id in the shape of Hub object ids.
func (g *gen) hex24() string {
	return fmt.Sprintf("%016x%08x", g.rng.Uint64(), g.rng.Uint32())
}
