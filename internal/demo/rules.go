// SPDX-License-Identifier: Apache-2.0

package demo

import (
	"strings"

	"github.com/trailaudit/trail/internal/catalog"
)

// fit makes e satisfy its type's rules and reports whether it does. The
// builders already send what the catalog asks; fit is the safety net for
// rules they do not know (a catalog that grew a required target or key):
// it adds a sensible target of each missing required type, fills missing
// required keys and replaces values of the wrong kind, then checks again.
// It returns false for a type the catalog does not have.
func (g *gen) fit(e *event) bool {
	t, ok := g.cat.Lookup(e.typ)
	if !ok {
		return false
	}
	errs := t.Validate(refs(e.targets), e.meta)
	if errs == nil {
		return true
	}
	for _, r := range t.Targets {
		if r.Required && !hasTarget(e.targets, r.Types()) {
			e.targets = append(e.targets, g.targetOf(r.Type, e))
		}
	}
	for _, fe := range errs {
		key, ok := strings.CutPrefix(fe.Field, "metadata.")
		if !ok {
			continue
		}
		delete(e.meta, key)
		if r, ok := metaRule(t, key); ok && r.Required {
			e.meta[key] = g.valueOf(r)
		}
	}
	return t.Validate(refs(e.targets), e.meta) == nil
}

func refs(rs []ref) []catalog.Ref {
	out := make([]catalog.Ref, len(rs))
	for i, r := range rs {
		out[i] = catalog.Ref(r)
	}
	return out
}

func hasTarget(rs []ref, types []string) bool {
	for _, r := range rs {
		for _, t := range types {
			if r.Type == t {
				return true
			}
		}
	}
	return false
}

func metaRule(t *catalog.Type, key string) (catalog.MetaRule, bool) {
	for _, r := range t.Metadata {
		if r.Key == key {
			return r, true
		}
	}
	return catalog.MetaRule{}, false
}

// targetOf returns a sensible target of type typ for e.
func (g *gen) targetOf(typ string, e *event) ref {
	switch typ {
	case catalog.TargetOrg:
		return orgRef
	case catalog.TargetUser:
		return g.other(e).ref()
	case catalog.TargetRepo:
		return g.repoFor(e, "model", "dataset").ref()
	case catalog.TargetSpace:
		return g.repoFor(e, "space").ref()
	case catalog.TargetCollection:
		return one(g, collections)
	case catalog.TargetToken:
		return one(g, tokens).ref()
	case catalog.TargetResourceGroup:
		return one(g, groups).ref()
	case catalog.TargetSecret:
		return nameRef(typ, one(g, secretNames))
	case catalog.TargetVariable:
		return nameRef(typ, one(g, variableNames))
	case catalog.TargetJob:
		return g.newJob()
	case catalog.TargetScheduledJob:
		return one(g, schedules).ref()
	case catalog.TargetSubscription:
		return subscription
	case catalog.TargetPaymentMethod:
		return newCard.ref()
	case catalog.TargetMarketplace:
		return awsAccount
	case catalog.TargetEmail:
		m := g.other(e)
		return nameRef(typ, m.email())
	case catalog.TargetDomain:
		return domain
	case catalog.TargetProviderKey:
		return one(g, providerKeys).ref()
	}
	return ref{Type: typ, Name: "acme-" + strings.ReplaceAll(typ, "_", "-")}
}

// nameRef is a target known by its name only (secrets, emails).
func nameRef(typ, name string) ref { return ref{Type: typ, ID: name, Name: name} }

// valueOf returns a plain value of r's kind, for a required key no
// builder knows.
func (g *gen) valueOf(r catalog.MetaRule) any {
	switch r.Kind {
	case catalog.KindInt:
		return 1 + g.rng.IntN(10)
	case catalog.KindNumber:
		return float64(1+g.rng.IntN(100)) / 4
	case catalog.KindBool:
		return g.rng.IntN(2) == 0
	case catalog.KindStringList:
		return []string{"default"}
	case catalog.KindObject:
		return map[string]any{"enabled": true}
	}
	return "default"
}
