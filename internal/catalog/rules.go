// SPDX-License-Identifier: Apache-2.0

package catalog

// Helpers that keep the type definitions short.

// need is a required target of typ (or of one of alt).
func need(typ string, alt ...string) TargetRule {
	return TargetRule{Type: typ, Required: true, Alt: alt}
}

// may is an optional, documented target.
func may(typ string) TargetRule { return TargetRule{Type: typ} }

func meta(key string, k Kind, doc string) MetaRule { return MetaRule{Key: key, Kind: k, Doc: doc} }

func str(key, doc string) MetaRule     { return meta(key, KindString, doc) }
func integer(key, doc string) MetaRule { return meta(key, KindInt, doc) }
func boolean(key, doc string) MetaRule { return meta(key, KindBool, doc) }
func list(key, doc string) MetaRule    { return meta(key, KindStringList, doc) }
func object(key, doc string) MetaRule  { return meta(key, KindObject, doc) }

// required marks a metadata rule as required.
func required(m MetaRule) MetaRule {
	m.Required = true
	return m
}

// settings is the common "changed settings" object of settings events.
func settings() MetaRule {
	return object("settings", "the changed settings, name → new value")
}

// role is the common role key of membership events.
func role() MetaRule { return str("role", "the role granted (read, contributor, write, admin…)") }

// orgTarget documents the optional organization target of org events: the
// event's org field already names the organization.
func orgTarget() []TargetRule { return []TargetRule{may(TargetOrg)} }
