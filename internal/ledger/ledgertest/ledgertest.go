// SPDX-License-Identifier: Apache-2.0

// Package ledgertest holds test helpers for the checkpoint signing keys.
// It imports only ledger, so that the tests of any package (audit's and
// the log engine's among them) can use it without an import cycle, which
// internal/trailtest (it imports the log engine) would make.
package ledgertest

import (
	"testing"

	"github.com/trailaudit/trail/internal/ledger"
)

// Signer returns a checkpoint signer with a new key named trail.test and
// its verifier key.
func Signer(tb testing.TB) (*ledger.Signer, string) {
	tb.Helper()
	skey, vkey, err := ledger.GenerateKey("trail.test")
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	return signer, vkey
}
