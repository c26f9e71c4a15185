// SPDX-License-Identifier: Apache-2.0

// Package ledger is Trail's tamper-evidence: each org's log is an
// append-only Merkle tree with RFC 6962 hashing, built with
// golang.org/x/mod/sumdb/tlog, whose roots Trail signs as C2SP
// tlog-checkpoint notes (golang.org/x/mod/sumdb/note, Ed25519).
//
// Leaf i of an org's tree is the exact stored bytes of the event with seq
// i. Stores keep the tree as tlog "stored hashes" (one hash per complete
// subtree, indexed by tlog.StoredHashIndex) written in the same
// transaction as the events; Edge computes what to write for each new
// event without reading anything. Proofs and roots are then O(log n)
// reads through a tlog.HashReader.
//
// The package is pure: no I/O except the key file helpers in key.go.
package ledger

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Hash is a SHA-256 tree hash.
type Hash = tlog.Hash

// HashReader reads stored hashes by tlog.StoredHashIndex.
type HashReader = tlog.HashReader

// LeafHash is the RFC 6962 leaf hash of an event's exact stored bytes:
// SHA-256(0x00 || data).
func LeafHash(data []byte) Hash { return tlog.RecordHash(data) }

// NodeHash is the RFC 6962 interior hash: SHA-256(0x01 || left || right).
func NodeHash(left, right Hash) Hash { return tlog.NodeHash(left, right) }

// EmptyRoot is the root of the tree of size 0: SHA-256 of nothing.
var EmptyRoot Hash = sha256.Sum256(nil)

// TreeHash returns the root of the tree of size n from stored hashes.
func TreeHash(n int64, r HashReader) (Hash, error) { return tlog.TreeHash(n, r) }

// EncodeHash is the base64 (standard, padded) form used in every format.
func EncodeHash(h Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// DecodeHash parses a base64 hash.
func DecodeHash(s string) (Hash, error) {
	var h Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("ledger: %q is not a base64 SHA-256 hash", truncate(s, 64))
	}
	copy(h[:], b)
	return h, nil
}

// ErrMismatch is wrapped by errors that mean "the data does not match".
var ErrMismatch = errors.New("ledger: hashes do not match")

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
