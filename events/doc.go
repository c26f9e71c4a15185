// SPDX-License-Identifier: Apache-2.0

// Package events has a typed constructor for every event type of Trail's
// built-in catalog, so that a producer writes
//
//	ev := events.RepoCreate(actor, client.Target{Type: "repo", ID: "r_1", Name: "acme/llama"})
//	ev.Metadata["private"] = true // optional keys are set on the result
//
// instead of spelling type names and metadata keys by hand. Required
// metadata keys are parameters with their Go types; the Type… constants
// hold the type names. The code is generated from the catalog with
// `go generate ./events`; `trail catalog gen --catalog FILE --package NAME`
// generates the same for a platform's own catalog file.
package events

//go:generate go run ../internal/catalog/gen -builders events_gen.go
