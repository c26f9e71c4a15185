// SPDX-License-Identifier: Apache-2.0

package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on what one event may carry; Validate enforces them.
const (
	MaxTargets      = 20   // targets per event
	MaxRefLen       = 256  // bytes of a target's id or name
	MaxMetadataKeys = 50   // top-level metadata keys
	MaxKeyLen       = 64   // bytes of a metadata key, from [A-Za-z0-9_.-]
	MaxValueBytes   = 1024 // bytes of one metadata value, encoded as JSON
)

// refusedKeys are the metadata keys a NamesOnly type refuses (compared
// without regard to case): they would carry a secret's value.
var refusedKeys = []string{"value", "values", "secret", "secrets", "token", "password"}

// RefusedKeys returns the top-level metadata keys that NamesOnly types
// refuse, whatever their case. The slice is the caller's.
func RefusedKeys() []string { return slices.Clone(refusedKeys) }

// Validate checks targets and metadata against t and returns every
// problem, or nil if there is none. Metadata values are those of
// encoding/json decoding with UseNumber: string, json.Number, bool, nil,
// []any and map[string]any (other Go numbers are accepted as numbers).
// When there are more than MaxTargets targets or MaxMetadataKeys keys,
// that is reported and the individual entries are not checked.
func (t *Type) Validate(targets []Ref, metadata map[string]any) []FieldError {
	var errs []FieldError
	errs = t.checkTargets(errs, targets)
	errs = t.checkMetadata(errs, metadata)
	return errs
}

func (t *Type) checkTargets(errs []FieldError, targets []Ref) []FieldError {
	if len(targets) > MaxTargets {
		errs = append(errs, FieldError{"targets", fmt.Sprintf("at most %d targets", MaxTargets)})
	} else {
		for i, r := range targets {
			errs = checkRef(errs, fmt.Sprintf("targets[%d]", i), r)
		}
	}
	for _, rule := range t.Targets {
		if rule.Required && !hasTarget(targets, rule.Types()) {
			errs = append(errs, FieldError{"targets", "a target of type " + strings.Join(rule.Types(), " or ")})
		}
	}
	return errs
}

func checkRef(errs []FieldError, path string, r Ref) []FieldError {
	if !validKey(r.Type) {
		errs = append(errs, FieldError{path + ".type", "a type of 1 to 64 characters from A-Z a-z 0-9 _ . -"})
	}
	if r.ID == "" && r.Name == "" {
		errs = append(errs, FieldError{path, "an id or a name"})
	}
	if len(r.ID) > MaxRefLen {
		errs = append(errs, FieldError{path + ".id", fmt.Sprintf("at most %d bytes", MaxRefLen)})
	}
	if len(r.Name) > MaxRefLen {
		errs = append(errs, FieldError{path + ".name", fmt.Sprintf("at most %d bytes", MaxRefLen)})
	}
	return errs
}

func hasTarget(targets []Ref, types []string) bool {
	for _, r := range targets {
		if slices.Contains(types, r.Type) {
			return true
		}
	}
	return false
}

func (t *Type) checkMetadata(errs []FieldError, metadata map[string]any) []FieldError {
	if len(metadata) > MaxMetadataKeys {
		return append(errs, FieldError{"metadata", fmt.Sprintf("at most %d keys", MaxMetadataKeys)})
	}
	keys := make([]string, 0, len(metadata))
	for k := range metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		errs = t.checkEntry(errs, k, metadata[k])
	}
	for _, rule := range t.Metadata {
		if rule.Required && metadata[rule.Key] == nil {
			errs = append(errs, FieldError{"metadata." + rule.Key, kindExpected(rule.Kind) + " (required)"})
		}
	}
	return errs
}

// checkEntry checks one metadata key and its value.
func (t *Type) checkEntry(errs []FieldError, key string, v any) []FieldError {
	if !validKey(key) {
		return append(errs, FieldError{"metadata[" + quoteKey(key) + "]",
			fmt.Sprintf("a key of 1 to %d characters from A-Z a-z 0-9 _ . -", MaxKeyLen)})
	}
	field := "metadata." + key
	if t.NamesOnly && refusedKey(key) {
		return append(errs, FieldError{field, "no secret values in metadata: send names only"})
	}
	if n, ok := encodedLen(v); !ok {
		return append(errs, FieldError{field, "a JSON value"})
	} else if n > MaxValueBytes {
		return append(errs, FieldError{field, fmt.Sprintf("at most %d bytes", MaxValueBytes)})
	}
	if rule, ok := t.metaRule(key); ok && v != nil && !hasKind(v, rule.Kind) {
		expected := kindExpected(rule.Kind)
		if rule.Kind == KindInt && isIntLiteral(v) {
			expected = "an integer from -9223372036854775808 to 9223372036854775807 (64 bits)"
		}
		errs = append(errs, FieldError{field, expected})
	}
	return errs
}

func (t *Type) metaRule(key string) (MetaRule, bool) {
	for _, m := range t.Metadata {
		if m.Key == key {
			return m, true
		}
	}
	return MetaRule{}, false
}

// validKey reports whether s is 1 to MaxKeyLen bytes of [A-Za-z0-9_.-].
func validKey(s string) bool {
	if s == "" || len(s) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// quoteKey quotes a refused key for an error path, shortened so an error
// never echoes a huge input.
func quoteKey(k string) string {
	if len(k) > MaxKeyLen {
		cut := MaxKeyLen
		for cut > 0 && !utf8.RuneStart(k[cut]) {
			cut--
		}
		k = k[:cut] + "…"
	}
	return strconv.Quote(k)
}

func refusedKey(k string) bool {
	return slices.ContainsFunc(refusedKeys, func(r string) bool { return strings.EqualFold(r, k) })
}

// encodedLen returns the length of v encoded as JSON (without HTML
// escaping), or false when v cannot be encoded.
func encodedLen(v any) (int, bool) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return 0, false
	}
	return len(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), true
}

// hasKind reports whether the non-nil value v is of kind k.
func hasKind(v any, k Kind) bool {
	switch k {
	case KindString:
		_, ok := v.(string)
		return ok
	case KindInt:
		return isInt(v)
	case KindNumber:
		return isNumber(v)
	case KindBool:
		_, ok := v.(bool)
		return ok
	case KindStringList:
		return isStringList(v)
	case KindObject:
		_, ok := v.(map[string]any)
		return ok
	}
	return true // KindAny
}

func isInt(v any) bool {
	switch n := v.(type) {
	case json.Number:
		_, err := strconv.ParseInt(string(n), 10, 64)
		return err == nil
	case float64:
		return n == math.Trunc(n) && math.Abs(n) < 1<<53
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// isIntLiteral reports whether v is a JSON number written as an integer
// (digits only), whatever its size.
func isIntLiteral(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	s := strings.TrimPrefix(string(n), "-")
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func isNumber(v any) bool {
	switch n := v.(type) {
	case json.Number:
		_, err := n.Float64()
		return err == nil
	case float64:
		return !math.IsNaN(n) && !math.IsInf(n, 0)
	case float32:
		return true
	}
	return isInt(v)
}

func isStringList(v any) bool {
	switch l := v.(type) {
	case []string:
		return true
	case []any:
		for _, e := range l {
			if _, ok := e.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// kindExpected says what a value of kind k looks like, for FieldError.
func kindExpected(k Kind) string {
	switch k {
	case KindString:
		return "a string"
	case KindInt:
		return "an integer"
	case KindNumber:
		return "a number"
	case KindBool:
		return "true or false"
	case KindStringList:
		return "a list of strings"
	case KindObject:
		return "an object"
	}
	return "a JSON value"
}
