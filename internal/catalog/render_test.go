// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

var alice = Ref{Type: "user", ID: "u1", Name: "alice"}

func TestRender(t *testing.T) {
	tests := []struct {
		typ      string
		actor    Ref
		targets  []Ref
		metadata string
		want     string
	}{
		{"org.change_role", alice, []Ref{bob}, `{"old_role":"read","new_role":"admin"}`,
			"alice changed bob's role from read to admin"},
		{"org.change_role", alice, []Ref{bob}, `{"new_role":"admin"}`, "alice changed bob's role to admin"},
		{"org.change_role", alice, nil, `{}`, "alice changed a member's role"},
		{"org.change_role", Ref{Type: "user", ID: "u1"}, []Ref{{Type: "user", ID: "u2"}}, `{"new_role":"write"}`,
			"u1 changed u2's role to write"},
		{"org.change_role", Ref{}, nil, `{}`, "someone changed a member's role"},
		{"repo.create", alice, []Ref{llama}, `{"repo_type":"model"}`, "alice created the model acme/llama"},
		{"repo.create", alice, []Ref{llama}, `{}`, "alice created acme/llama"},
		{"repo.create", alice, nil, `{}`, "alice created a repository"},
		{"repo.move", alice, []Ref{llama}, `{"from":"alice/llama","to":"acme/llama"}`,
			"alice moved alice/llama to acme/llama"},
		{"repo.add_secret", alice, []Ref{demo}, `{"name":"HF_TOKEN"}`, "alice added the secret HF_TOKEN to acme/demo"},
		{"repo.add_secret", alice, nil, `{}`, "alice added a secret to a repository"},
		{"repo.remove_variables", alice, []Ref{demo}, `{"names":["A","B","C"]}`,
			"alice removed the variables A, B and C from acme/demo"},
		{"repo.update_settings", alice, []Ref{llama}, `{"settings":{"private":true,"gated":"auto"}}`,
			"alice updated the settings of acme/llama (gated and private)"},
		{"spaces.update_hardware", alice, []Ref{demo}, `{"old_flavor":"cpu-basic","new_flavor":"a10g-large"}`,
			"alice changed the hardware of acme/demo from cpu-basic to a10g-large"},
		{"spaces.update_sleep_time", alice, []Ref{{Type: "space", Name: "acme/app"}, demo},
			`{"new_sleep_time":3600}`, "alice changed the sleep time of acme/app to 3600 seconds"},
		{"org.invite_user", alice, []Ref{{Type: "email", Name: "carol@example.com"}}, `{"role":"read"}`,
			"alice invited carol@example.com to join the organization as read"},
		{"org.invite_user", alice, nil, `{}`, "alice invited someone to join the organization"},
		{"resource_group.add_users", alice,
			[]Ref{{Type: "resource_group", Name: "research"}, bob, {Type: "user", Name: "carol"}}, `{"role":"write"}`,
			"alice added bob and carol to the resource group research as write"},
		{"resource_group.add_users", alice, []Ref{{Type: "resource_group", Name: "research"}}, `{"users":["dan"]}`,
			"alice added dan to the resource group research"},
		{"resource_group.remove_users", alice, nil, `{}`, "alice removed members from a resource group"},
		{"billing.update_subscription_plan", alice, nil, `{"old_plan":"team","new_plan":"enterprise"}`,
			"alice changed the subscription plan from team to enterprise"},
		{"org.sso_login", alice, nil, `{}`, "alice signed in through SSO"},
		{"org.audit_log.export", alice, nil, `{"format":"csv","filter":"type:repo.delete"}`,
			"alice exported the audit log as csv (filter: type:repo.delete)"},
		{"org.rename", alice, nil, `{"old_name":"acme","new_name":"acme-ai"}`,
			"alice renamed the organization from acme to acme-ai"},
		{"org.rename", alice, nil, `{}`, "alice renamed the organization to a new name"},
	}
	c := Builtin()
	for _, tt := range tests {
		typ, _ := c.Lookup(tt.typ)
		if got := typ.Render(tt.actor, tt.targets, decode(t, tt.metadata)); got != tt.want {
			t.Errorf("%s %s: got %q, want %q", tt.typ, tt.metadata, got, tt.want)
		}
	}
}

func TestRenderValues(t *testing.T) {
	typ := &Type{Name: "x.y", Template: "{actor} set {meta:v}"}
	long := strings.Repeat("é", 100)
	tests := []struct {
		v    any
		want string
	}{
		{"a\nb\x00c", "alice set a b c"},
		{json.Number("42"), "alice set 42"},
		{false, "alice set false"},
		{nil, "alice set unknown"},
		{(*int)(nil), "alice set unknown"},
		{"", "alice set unknown"},
		{[]any{}, "alice set unknown"},
		{[]any{"a", "b", "c", "d", "e", "f", "g"}, "alice set a, b, c, d, e and 2 more"},
		{map[string]any{"b": 1, "a": 2}, "alice set a and b"},
		{long, "alice set " + strings.Repeat("é", maxRenderedValue-1) + "…"},
		{"<script>", "alice set <script>"}, // plain text: escaping is the display's job
	}
	for _, tt := range tests {
		if got := typ.Render(alice, nil, map[string]any{"v": tt.v}); got != tt.want {
			t.Errorf("value %#v: got %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestRenderNeverEmpty(t *testing.T) {
	tests := []struct {
		typ  Type
		want string
	}{
		{Type{Name: "x.y"}, "alice performed x.y"},
		{Type{Name: "x.y", Template: "  [{meta:a}]  "}, "alice performed x.y"},
		{Type{Name: "x.y", Template: "{bad"}, "alice performed x.y"},
		{Type{}, "alice performed an action"},
	}
	for _, tt := range tests {
		if got := tt.typ.Render(alice, nil, nil); got != tt.want {
			t.Errorf("template %q: got %q, want %q", tt.typ.Template, got, tt.want)
		}
	}
}

// TestRenderEveryTemplate renders every type's template for a fully
// populated event and for one with no metadata and no targets.
func TestRenderEveryTemplate(t *testing.T) {
	for _, typ := range Builtin().Types() {
		targets, metadata := sampleEvent(typ)
		if errs := typ.Validate(targets, metadata); errs != nil {
			t.Errorf("%s: sample event invalid: %v", typ.Name, errs)
		}
		full := typ.Render(alice, targets, metadata)
		checkRendered(t, typ.Name+" (full)", full)
		if strings.Contains(full, "unknown") {
			t.Errorf("%s (full): got %q, a value is missing", typ.Name, full)
		}
		checkRendered(t, typ.Name+" (no metadata)", typ.Render(alice, targets, nil))
		checkRendered(t, typ.Name+" (empty)", typ.Render(Ref{}, nil, nil))
		if testing.Verbose() {
			t.Logf("%-50s %s", typ.Name, full)
			t.Logf("%-50s %s", "", typ.Render(alice, nil, nil))
		}
	}
}

func checkRendered(t *testing.T, what, got string) {
	t.Helper()
	if got == "" || strings.ContainsAny(got, "{}[]") || strings.Contains(got, "<nil>") ||
		strings.Contains(got, "  ") {
		t.Errorf("%s: got %q", what, got)
	}
}

// sampleEvent returns one target of every vocabulary type and a value of
// the right kind for every documented metadata key of typ.
func sampleEvent(typ *Type) ([]Ref, map[string]any) {
	var targets []Ref
	for _, tt := range TargetTypes() {
		targets = append(targets, Ref{Type: tt, ID: "id-" + tt, Name: "the-" + tt})
	}
	metadata := map[string]any{}
	for _, m := range typ.Metadata {
		metadata[m.Key] = sampleValue(m)
	}
	return targets, metadata
}

func sampleValue(m MetaRule) any {
	switch m.Kind {
	case KindInt:
		return json.Number("7")
	case KindNumber:
		return json.Number("1.5")
	case KindBool:
		return true
	case KindStringList:
		return []any{m.Key + "-1", m.Key + "-2"}
	case KindObject:
		return map[string]any{m.Key + "_a": "x", m.Key + "_b": json.Number("1")}
	}
	return fmt.Sprintf("%s-value", m.Key)
}

func ExampleType_Render() {
	typ, _ := Builtin().Lookup("org.change_role")
	actor := Ref{Type: "user", ID: "u1", Name: "alice"}
	targets := []Ref{{Type: "user", ID: "u2", Name: "bob"}}
	fmt.Println(typ.Render(actor, targets, map[string]any{"old_role": "read", "new_role": "admin"}))
	fmt.Println(typ.Render(actor, nil, nil))
	// Output:
	// alice changed bob's role from read to admin
	// alice changed a member's role
}

func FuzzRender(f *testing.F) {
	for _, typ := range Builtin().Types() {
		f.Add(typ.Template, "v")
	}
	f.Add("[{meta:v}|{target:x}] {", "\x00")
	f.Fuzz(func(t *testing.T, template, value string) {
		typ := &Type{Name: "fuzz.type", Template: template}
		got := typ.Render(Ref{}, []Ref{{Type: "x", Name: value}}, map[string]any{"v": value})
		if strings.TrimSpace(got) == "" {
			t.Errorf("template %q: empty description", template)
		}
	})
}
