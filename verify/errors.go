// SPDX-License-Identifier: Apache-2.0

package verify

import (
	"errors"
	"fmt"
	"strconv"
)

// MismatchError means the data does not match: an event's bytes, its
// place, the hashes or the signature do not agree with the signed
// checkpoint. The export (or the log) was altered, or is not what it
// claims to be.
type MismatchError struct {
	// Check names what failed: "event", "order", "missing", "count", "pruned",
	// "root", "signature", "origin", "size", "previous".
	Check string
	// Seq and ID name the first event that does not match, when the
	// failure is an event's; Seq is -1 otherwise.
	Seq int64
	ID  string
	// Detail says what was expected and found.
	Detail string
}

func (e *MismatchError) Error() string {
	if e.Seq >= 0 {
		id := ""
		if e.ID != "" {
			id = " (id " + strconv.Quote(e.ID) + ")"
		}
		return fmt.Sprintf("does not verify: event seq %d%s: %s", e.Seq, id, e.Detail)
	}
	return "does not verify: " + e.Detail
}

// MalformedError means the input is not a Trail export (or checkpoint, or
// proof) at all, or is cut short: nothing could be checked past Offset.
type MalformedError struct {
	Offset int64 // byte offset in the input where parsing failed
	// Event is the index (0-based, in file order) of the event being read
	// when parsing failed, or -1; Seq and ID name the last event read
	// whole before it (Seq -1: none).
	Event  int
	Seq    int64
	ID     string
	Detail string
}

func (e *MalformedError) Error() string {
	s := fmt.Sprintf("malformed input at byte %d: %s", e.Offset, e.Detail)
	if e.Event >= 0 {
		s += fmt.Sprintf(" (in event #%d of the file", e.Event+1)
		if e.Seq >= 0 {
			s += fmt.Sprintf(", after the event seq %d id %q", e.Seq, e.ID)
		}
		s += ")"
	}
	return s
}

// UntrustedKeyError means every check passed but the signature was made
// by a key the caller did not pin: the file is consistent, not authentic.
// Verify returns it together with a Result.
type UntrustedKeyError struct {
	Key         string // the verifier key found in the file
	Fingerprint string // ledger fingerprint of Key
}

func (e *UntrustedKeyError) Error() string {
	return "the checkpoint's signing key " + e.Fingerprint + " was not pinned (no --key): the file is consistent but not proven authentic"
}

// IsMismatch reports whether err means the data does not match.
func IsMismatch(err error) bool {
	var m *MismatchError
	return errors.As(err, &m)
}

// IsMalformed reports whether err means the input is malformed.
func IsMalformed(err error) bool {
	var m *MalformedError
	return errors.As(err, &m)
}

func mismatch(check string, format string, args ...any) *MismatchError {
	return &MismatchError{Check: check, Seq: -1, Detail: fmt.Sprintf(format, args...)}
}
