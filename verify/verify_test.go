// SPDX-License-Identifier: Apache-2.0

package verify_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/trailaudit/trail/verify"
)

func parseVerify(data []byte, opts verify.Options) (*verify.Result, error) {
	x, err := verify.ParseExport(data)
	if err != nil {
		return nil, err
	}
	return verify.Verify(x, opts)
}

func TestVerifyExports(t *testing.T) {
	l := newTestLog(t, t.TempDir())
	rng := rand.New(rand.NewPCG(1, 1))
	l.add("acme", 300, rng)
	keys := verify.Options{Keys: []string{l.vkey}}
	for _, c := range []struct {
		format, q string
		complete  bool
	}{
		{"json", "", true},
		{"ndjson", "", true},
		{"json", "type:repo.create", false},
		{"ndjson", "type:org.change_role", false},
		{"json", "type:repo.update_settings", false},
	} {
		data := l.export("acme", c.format, c.q)
		res, err := parseVerify(data, keys)
		if err != nil {
			t.Fatalf("%s %q: %v", c.format, c.q, err)
		}
		if res.Complete != c.complete || !res.Pinned || res.Org != "acme" || res.Origin != "trail.test/orgs/acme" {
			t.Errorf("%s %q: result %+v", c.format, c.q, res)
		}
		// Without a pinned key: everything checks, and it says so.
		res, err = parseVerify(data, verify.Options{})
		var u *verify.UntrustedKeyError
		if !errors.As(err, &u) || res == nil || res.Pinned {
			t.Errorf("%s %q without key: %v, %+v; want UntrustedKeyError", c.format, c.q, err, res)
		}
	}
	// The log grows (the exports above added events too): the new export
	// extends the old one's checkpoint, and not another log's.
	old, _ := verify.ParseExport(l.export("acme", "json", ""))
	l.add("acme", 77, rng)
	newer := l.export("acme", "json", "")
	res, err := parseVerify(newer, verify.Options{Keys: keys.Keys, Previous: old.Checkpoint})
	if err != nil || res.PreviousSize != old.Size {
		t.Fatalf("--previous: %v, %+v", err, res)
	}
	l.add("beta", 10, rng)
	beta, _ := verify.ParseExport(l.export("beta", "json", ""))
	if _, err := parseVerify(newer, verify.Options{Keys: keys.Keys, Previous: beta.Checkpoint}); !verify.IsMismatch(err) {
		t.Errorf("--previous of another org: err = %v, want a mismatch", err)
	}
	// Another key does not verify.
	other := newTestLog(t, t.TempDir())
	if _, err := parseVerify(newer, verify.Options{Keys: []string{other.vkey}}); !verify.IsMismatch(err) {
		t.Errorf("another key: err = %v, want a mismatch", err)
	}
	if !strings.Contains(res.Fingerprint, "SHA256:") {
		t.Errorf("fingerprint %q", res.Fingerprint)
	}
}
