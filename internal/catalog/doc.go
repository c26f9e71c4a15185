// SPDX-License-Identifier: Apache-2.0

// Package catalog is the registry of every event type Trail accepts: its
// name, its category, a one-line summary, a description template and the
// rules for its targets and metadata.
//
// The built-in catalog (Builtin) holds the 102 event names of the Hugging
// Face Hub verbatim, case and all (org.update_settings, repo.removeDisable),
// plus the events Trail records itself (org.audit_log.view). It is built once
// and never changes; docs/events.md is generated from it with
// `go generate ./internal/catalog`.
//
// The package imports nothing of this module, so the domain package
// (internal/audit) and any other package may import it.
//
// # Validation
//
// Type.Validate enforces only what a type needs, so that real producer
// payloads are not refused: required targets must be present, known
// metadata keys must have their kind, and every value stays within the
// bounds (MaxTargets, MaxMetadataKeys, MaxKeyLen, MaxValueBytes). Unknown
// metadata keys and extra targets of any type are allowed. Types marked
// NamesOnly (secrets, variables, provider keys) refuse the metadata keys
// listed in RefusedKeys, so a value can never be logged by mistake.
//
// # Templates
//
// A template is text with placeholders in braces and optional groups in
// square brackets:
//
//	{actor}             the actor's name, else its id
//	{target}            the first target's name, else its id
//	{target:user}       the first target of type user (name, else id)
//	{target:space,repo} the first target of type space or, if none, repo
//	{targets:user}      every target of type user: "bob, carol and dave"
//	{meta:old_role}     the metadata value of key old_role
//	{meta:plan|a plan}  a placeholder with its own fallback text after '|'
//	[ from {meta:a}]    an optional group: rendered only when every
//	                    placeholder inside it has a value
//	[the job {target:job}|a job]
//	                    a group with an alternative after a top-level '|',
//	                    rendered when the group's placeholders lack a value
//
// A placeholder without a value renders its fallback, else a neutral word:
// "someone" for the actor, "a member", "a repository"… for targets (see
// NeutralWord), "unknown" for metadata. Metadata values render as text:
// strings and numbers as they are, booleans as true or false, lists of
// strings as "a, b and c", objects as their sorted keys. Long values are
// shortened and control characters become spaces. Groups do not nest, and
// the characters { } [ ] cannot appear as literal text.
package catalog
