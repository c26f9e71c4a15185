// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"github.com/trailaudit/trail/internal/ledger"
)

// Checkpoint verifies a signed checkpoint note with the trusted keys and
// returns its origin, size and root. Errors: *MismatchError (not signed
// by a trusted key, or altered), *MalformedError.
func Checkpoint(signed string, keys []string) (origin string, size int64, root Hash, err error) {
	if len(keys) == 0 {
		return "", 0, Hash{}, &MalformedError{Event: -1, Seq: -1, Detail: "no trusted verifier key given"}
	}
	c, _, _, err := openCheckpoint(signed, "", keys)
	return c.Origin, c.Size, c.Root, err
}

// Inclusion verifies that event (its exact bytes) is in the log: proof is
// a C2SP tlog-proof (c2sp.org/tlog-proof@v1: index, audit path and the
// signed checkpoint, as GET …/events/{id}/proof?format=text serves it),
// checked against the trusted keys. It returns the event's seq and the
// checkpoint's size.
func Inclusion(event []byte, proof string, keys []string) (seq, size int64, err error) {
	index, path, signed, err := ledger.ParseProofText(proof)
	if err != nil {
		return 0, 0, &MalformedError{Event: -1, Seq: -1, Detail: err.Error()}
	}
	_, size, root, err := Checkpoint(signed, keys)
	if err != nil {
		return 0, 0, err
	}
	if index >= size {
		return 0, 0, mismatch("size", "the proof is for leaf %d but the checkpoint has size %d", index, size)
	}
	leaf, _ := ledger.EventLeaf(event) // a redacted event stands by its original leaf
	if err := ledger.CheckInclusion(path, index, size, root, leaf); err != nil {
		return 0, 0, &MismatchError{Check: "event", Seq: index, Detail: "the event's bytes and the proof do not give the checkpoint's root"}
	}
	return index, size, nil
}

// Consistency verifies that the log of the newer signed checkpoint extends
// the older one, with an RFC 6962 consistency proof (as GET
// …/consistency serves it, hashes in base64).
func Consistency(older, newer string, proof []string, keys []string) error {
	o1, n1, r1, err := Checkpoint(older, keys)
	if err != nil {
		return prefixed("the older checkpoint: ", err)
	}
	o2, n2, r2, err := Checkpoint(newer, keys)
	if err != nil {
		return prefixed("the newer checkpoint: ", err)
	}
	if o1 != o2 {
		return mismatch("origin", "the checkpoints are of two logs: %q and %q", o1, o2)
	}
	hs := make([]Hash, len(proof))
	for i, s := range proof {
		if hs[i], err = ledger.DecodeHash(s); err != nil {
			return &MalformedError{Event: -1, Seq: -1, Detail: err.Error()}
		}
	}
	if n1 > n2 {
		return mismatch("previous", "the older checkpoint has size %d, more than the newer's %d", n1, n2)
	}
	if err := ledger.CheckConsistency(hs, n1, r1, n2, r2); err != nil {
		return mismatch("previous", "the log of size %d does not extend the log of size %d: events were deleted or rewritten", n2, n1)
	}
	return nil
}
