// SPDX-License-Identifier: Apache-2.0

package main

import (
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/postgres/pgtest"
)

// TestKeysVerifierStore: `trail keys verifier --store postgres://…` prints
// the verifier key the database recorded (issue 13, defect 2: the flag was
// not defined), from a machine without the signing key; before any replica
// started it says so; after a rotation it prints the new key.
func TestKeysVerifierStore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	url := pgtest.NewDatabase(t)
	bin := trailBinary(t)
	elsewhere := t.TempDir() // no signing key here

	if res := runTrail(t, bin, nil, "keys", "verifier", "--store", url, "--data", elsewhere); res.code != 1 || !strings.Contains(res.stderr, "no verifier key recorded yet") {
		t.Errorf("keys verifier --store before any replica started: exit %d, %q; want 1 and a message that none is recorded", res.code, res.stderr)
	}

	data := t.TempDir()
	startServer(t, bin, data, "--store", url).Stop()
	first := firstLine(runCLI(t, bin, "keys", "verifier", "--data", data))
	if got := firstLine(runCLI(t, bin, "keys", "verifier", "--store", url, "--data", elsewhere)); got != first {
		t.Errorf("keys verifier --store printed %q; want the replica's key %q", got, first)
	}

	rotated := firstLine(runCLI(t, bin, "keys", "rotate-signing", "--data", data))
	startServer(t, bin, data, "--store", url).Stop()
	if got := firstLine(runCLI(t, bin, "keys", "verifier", "--store", url, "--data", elsewhere)); got != rotated || got == first {
		t.Errorf("keys verifier --store after a rotation printed %q; want the new key %q", got, rotated)
	}
}

func firstLine(s string) string { return strings.TrimSpace(strings.SplitN(s, "\n", 2)[0]) }
