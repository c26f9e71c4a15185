// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// decode decodes metadata as the domain does: encoding/json with UseNumber.
func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}

var (
	bob   = Ref{Type: TargetUser, ID: "u2", Name: "bob"}
	llama = Ref{Type: TargetRepo, ID: "r1", Name: "acme/llama"}
	demo  = Ref{Type: TargetRepo, ID: "r2", Name: "acme/demo"}
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name     string
		typ      string
		targets  []Ref
		metadata string
		want     []FieldError // nil: valid
	}{
		{"valid change_role", "org.change_role", []Ref{bob}, `{"old_role":"read","new_role":"admin"}`, nil},
		{"missing required target", "org.change_role", []Ref{llama}, `{"new_role":"admin"}`,
			[]FieldError{{"targets", "a target of type user"}}},
		{"no targets at all", "org.change_role", nil, `{"new_role":"admin"}`,
			[]FieldError{{"targets", "a target of type user"}}},
		{"missing required key", "org.change_role", []Ref{bob}, `{"old_role":"read"}`,
			[]FieldError{{"metadata.new_role", "a string (required)"}}},
		{"null required key", "org.change_role", []Ref{bob}, `{"new_role":null}`,
			[]FieldError{{"metadata.new_role", "a string (required)"}}},
		{"null optional key", "org.change_role", []Ref{bob}, `{"old_role":null,"new_role":"admin"}`, nil},
		{"wrong kind of known key", "org.change_role", []Ref{bob}, `{"new_role":3}`,
			[]FieldError{{"metadata.new_role", "a string"}}},
		{"int refuses a fraction", "spaces.update_sleep_time", []Ref{demo}, `{"new_sleep_time":1.5}`,
			[]FieldError{{"metadata.new_sleep_time", "an integer"}}},
		{"int accepts -1", "spaces.update_sleep_time", []Ref{demo}, `{"new_sleep_time":-1}`, nil},
		{"int too large says the range", "spaces.update_sleep_time", []Ref{demo}, `{"new_sleep_time":9223372036854775808}`,
			[]FieldError{{"metadata.new_sleep_time", "an integer from -9223372036854775808 to 9223372036854775807 (64 bits)"}}},
		{"int too small says the range", "spaces.update_sleep_time", []Ref{demo}, `{"new_sleep_time":-99999999999999999999}`,
			[]FieldError{{"metadata.new_sleep_time", "an integer from -9223372036854775808 to 9223372036854775807 (64 bits)"}}},
		{"int accepts the largest", "spaces.update_sleep_time", []Ref{demo}, `{"new_sleep_time":9223372036854775807}`, nil},
		{"int refuses a string", "spaces.update_sleep_time", []Ref{demo}, `{"old_sleep_time":"3600"}`,
			[]FieldError{{"metadata.old_sleep_time", "an integer"}}},
		{"string_list refuses mixed", "repo.add_secrets", []Ref{demo}, `{"names":["A",1]}`,
			[]FieldError{{"metadata.names", "a list of strings"}}},
		{"object refuses a list", "repo.update_settings", []Ref{llama}, `{"settings":["private"]}`,
			[]FieldError{{"metadata.settings", "an object"}}},
		{"bool refuses a string", "repo.create", []Ref{llama}, `{"private":"yes"}`,
			[]FieldError{{"metadata.private", "true or false"}}},
		{"unknown keys allowed", "repo.update_settings", []Ref{llama},
			`{"private":true,"gated":"auto","x.y-z_1":{"a":[1,2]}}`, nil},
		{"extra targets of any type allowed", "org.change_role",
			[]Ref{llama, bob, {Type: "webhook", ID: "w1"}}, `{"new_role":"admin"}`, nil},
		{"alternative target type", "org.invite_user", []Ref{{Type: TargetEmail, Name: "x@example.com"}}, `{}`, nil},
		{"alternative missing", "org.invite_user", []Ref{llama}, `{}`,
			[]FieldError{{"targets", "a target of type user or email"}}},
		{"space as repo", "spaces.update_hardware", []Ref{demo}, `{"new_flavor":"t4-small"}`, nil},
		{"no target needed", "org.sso_login", nil, `{}`, nil},
		{"oversized value", "repo.update_settings", []Ref{llama},
			`{"description":"` + strings.Repeat("x", MaxValueBytes) + `"}`,
			[]FieldError{{"metadata.description", "at most 1024 bytes"}}},
		{"value at the bound", "repo.update_settings", []Ref{llama},
			`{"description":"` + strings.Repeat("x", MaxValueBytes-2) + `"}`, nil},
		{"bad key chars", "repo.update_settings", []Ref{llama}, `{"bad key":1}`,
			[]FieldError{{`metadata["bad key"]`, "a key of 1 to 64 characters from A-Z a-z 0-9 _ . -"}}},
		{"key too long", "repo.update_settings", []Ref{llama}, `{"` + strings.Repeat("k", 65) + `":1}`,
			[]FieldError{{`metadata["` + strings.Repeat("k", 64) + `…"]`, "a key of 1 to 64 characters from A-Z a-z 0-9 _ . -"}}},
		{"empty key", "repo.update_settings", []Ref{llama}, `{"":1}`,
			[]FieldError{{`metadata[""]`, "a key of 1 to 64 characters from A-Z a-z 0-9 _ . -"}}},
		{"names only refuses value", "repo.add_secret", []Ref{demo}, `{"name":"HF_TOKEN","value":"hf_x"}`,
			[]FieldError{{"metadata.value", "no secret values in metadata: send names only"}}},
		{"names only refuses secret", "repo.update_variable", []Ref{demo}, `{"name":"A","secret":"s"}`,
			[]FieldError{{"metadata.secret", "no secret values in metadata: send names only"}}},
		{"names only refuses token and password", "repo.add_secrets", []Ref{demo},
			`{"names":["A"],"Token":"t","password":"p"}`,
			[]FieldError{
				{"metadata.Token", "no secret values in metadata: send names only"},
				{"metadata.password", "no secret values in metadata: send names only"},
			}},
		{"names only refuses values and secrets", "repo.remove_secrets", []Ref{demo},
			`{"names":["A"],"values":["v"],"secrets":{"A":"v"}}`,
			[]FieldError{
				{"metadata.secrets", "no secret values in metadata: send names only"},
				{"metadata.values", "no secret values in metadata: send names only"},
			}},
		{"names only keeps names", "repo.add_secret", []Ref{demo}, `{"name":"HF_TOKEN"}`, nil},
		{"token key allowed elsewhere", "repo.update_settings", []Ref{llama}, `{"token":"x"}`, nil},
		{"bad target ref", "org.change_role", []Ref{bob, {Type: "bad type!"}}, `{"new_role":"admin"}`,
			[]FieldError{
				{"targets[1].type", "a type of 1 to 64 characters from A-Z a-z 0-9 _ . -"},
				{"targets[1]", "an id or a name"},
			}},
		{"long target name", "org.change_role", []Ref{{Type: "user", Name: strings.Repeat("n", 257)}},
			`{"new_role":"admin"}`, []FieldError{{"targets[0].name", "at most 256 bytes"}}},
		{"several problems at once", "org.change_role", nil, `{"old_role":1}`,
			[]FieldError{
				{"targets", "a target of type user"},
				{"metadata.old_role", "a string"},
				{"metadata.new_role", "a string (required)"},
			}},
	}
	c := Builtin()
	for _, tt := range tests {
		typ, ok := c.Lookup(tt.typ)
		if !ok {
			t.Fatalf("%s: no type %s", tt.name, tt.typ)
		}
		got := typ.Validate(tt.targets, decode(t, tt.metadata))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestValidateTooMany(t *testing.T) {
	typ, _ := Builtin().Lookup("repo.update_settings")
	meta := map[string]any{}
	for i := range MaxMetadataKeys + 1 {
		meta[fmt.Sprintf("k%d", i)] = "v"
	}
	got := typ.Validate([]Ref{llama}, meta)
	want := []FieldError{{"metadata", "at most 50 keys"}}
	if !slices.Equal(got, want) {
		t.Errorf("51 keys: got %v, want %v", got, want)
	}
	delete(meta, "k0")
	if got := typ.Validate([]Ref{llama}, meta); got != nil {
		t.Errorf("50 keys: got %v, want nil", got)
	}

	targets := slices.Repeat([]Ref{llama}, MaxTargets+1)
	got = typ.Validate(targets, nil)
	want = []FieldError{{"targets", "at most 20 targets"}}
	if !slices.Equal(got, want) {
		t.Errorf("21 targets: got %v, want %v", got, want)
	}
	if got := typ.Validate(targets[:MaxTargets], nil); got != nil {
		t.Errorf("20 targets: got %v, want nil", got)
	}
}

func TestValidateGoValues(t *testing.T) {
	// Values not decoded with UseNumber are still judged by kind.
	typ, _ := Builtin().Lookup("spaces.update_sleep_time")
	tests := []struct {
		v    any
		want bool
	}{
		{float64(3600), true},
		{3600, true},
		{1.5, false},
		{json.Number("9223372036854775808"), false},
		{json.Number("1e3"), false},
	}
	for _, tt := range tests {
		errs := typ.Validate([]Ref{demo}, map[string]any{"new_sleep_time": tt.v})
		if got := errs == nil; got != tt.want {
			t.Errorf("new_sleep_time %#v: valid = %v, want %v (%v)", tt.v, got, tt.want, errs)
		}
	}
}

func TestFieldErrorError(t *testing.T) {
	got := FieldError{"metadata.old_role", "a string"}.Error()
	if want := "metadata.old_role: expected a string"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
