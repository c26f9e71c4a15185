// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"bytes"
	"os"
	"testing"
)

// TestEventsDocUpToDate holds docs/events.md to the catalog it documents.
func TestEventsDocUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatalf("reading docs/events.md: %v; run go generate ./internal/catalog", err)
	}
	if want := Builtin().Markdown(); !bytes.Equal(got, want) {
		t.Fatal("docs/events.md differs from the catalog; run go generate ./internal/catalog")
	}
}

func TestMarkdown(t *testing.T) {
	md := string(Builtin().Markdown())
	for _, want := range []string{
		"## Organization management & security",
		"| `repo.removeDisable` |",
		"| `org.audit_log.view` | Audit log viewed<br>*Recorded by Trail.* |",
		"`user` **required**",
		"`new_role` string **required**: the role after",
		"`{actor} changed {target:user}'s role[ from {meta:old_role}][ to {meta:new_role}]`",
		`{target:user,email\|someone}`, // pipes are escaped in table cells
	} {
		if !bytes.Contains([]byte(md), []byte(want)) {
			t.Errorf("Markdown() lacks %q", want)
		}
	}
}
