// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/bits"
)

// After pruning, an org's log keeps the events from seq P on. The tree is
// unchanged: the root of any size N ≥ P is recomputed from the compact
// range of the pruned leaves [0, P) — the roots of the largest aligned
// perfect subtrees covering them, left to right, exactly as
// github.com/transparency-dev/merkle/compact defines a range — followed by
// the kept leaves.

// PrunedRange returns the nodes of the compact range [0, p), left to right
// (hashes left zero): one per bit set in p, largest first.
func PrunedRange(p int64) []Node { return Cover(nil, 0, p) }

// PrunedRangeSize is the number of hashes in the compact range [0, p).
func PrunedRangeSize(p int64) int { return bits.OnesCount64(uint64(p)) }

// NewPrunedBuilder returns a Builder at size p seeded with the compact
// range [0, p) (hashes left to right, PrunedRangeSize(p) of them), ready
// for leaf p.
func NewPrunedBuilder(p int64, hashes []Hash) (*Builder, error) {
	if p < 0 {
		return nil, fmt.Errorf("ledger: pruned before seq %d: must not be negative", p)
	}
	if n := PrunedRangeSize(p); len(hashes) != n {
		return nil, fmt.Errorf("ledger: the compact range of leaves [0, %d) has %d hashes, not %d", p, n, len(hashes))
	}
	b := &Builder{}
	for i, n := range PrunedRange(p) {
		if err := b.AddNode(n.Level, hashes[i]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// A redacted event (a person erased from it) ends with
//
//	,"redacted":{"leaf_hash":"<base64 leaf hash of the original bytes>","at":"<time>","erasure":"<id>"}}
//
// and stands in the tree by that leaf hash: its own bytes no longer hash
// to the leaf.
var redactedKey = []byte(`,"redacted":{"leaf_hash":"`)

// Redacted reports whether data is a redacted event, and if so the leaf
// hash of its original bytes, the erasure's time and id. Only the
// canonical suffix counts: the object must be the event's last field.
func Redacted(data []byte) (leaf Hash, at, erasure string, ok bool) {
	if !bytes.HasSuffix(data, []byte(`"}}`)) {
		return leaf, "", "", false
	}
	// The object after the key holds exactly 8 quotes before the final
	// `"}}` (the hash has none, at and erasure may hold none), so the key
	// ends at the 9th quote from there: finding it costs a look at the
	// event's last bytes, not a search of all of it (every event of an
	// export is asked). A key anywhere else cannot parse below.
	end := len(data) - len(`"}}`)
	q := end
	for range 9 {
		if q = bytes.LastIndexByte(data[:q], '"'); q < 0 {
			return leaf, "", "", false
		}
	}
	i := q + 1 - len(redactedKey)
	if i < 0 || !bytes.Equal(data[i:q+1], redactedKey) {
		return leaf, "", "", false
	}
	return redactedAt(data, i)
}

// redactedAt parses the redacted object of data whose key starts at i
// (data ends with `"}}`).
func redactedAt(data []byte, i int) (leaf Hash, at, erasure string, ok bool) {
	rest := data[i+len(redactedKey) : len(data)-len(`"}}`)]
	const hashLen = 44
	if len(rest) < hashLen || !bytes.HasPrefix(rest[hashLen:], []byte(`","at":"`)) {
		return leaf, "", "", false
	}
	var dec [33]byte // 44 characters without padding decode to 33 bytes
	if n, err := base64.StdEncoding.Decode(dec[:], rest[:hashLen]); err != nil || n != len(leaf) {
		return Hash{}, "", "", false
	}
	copy(leaf[:], dec[:])
	rest = rest[hashLen+len(`","at":"`):]
	j := bytes.Index(rest, []byte(`","erasure":"`))
	if j < 0 || bytes.ContainsAny(rest[:j], `"\`) || bytes.ContainsAny(rest[j+len(`","erasure":"`):], `"\`) {
		return Hash{}, "", "", false
	}
	return leaf, string(rest[:j]), string(rest[j+len(`","erasure":"`):]), true
}

// AppendRedacted appends the redacted object (with its leading comma) for
// an event whose original bytes hash to leaf. at and erasure must need no
// JSON escaping (an RFC 3339 time and an erasure id).
func AppendRedacted(dst []byte, leaf Hash, at, erasure string) []byte {
	dst = append(dst, redactedKey...)
	dst = base64.StdEncoding.AppendEncode(dst, leaf[:])
	dst = append(dst, `","at":"`...)
	dst = append(dst, at...)
	dst = append(dst, `","erasure":"`...)
	dst = append(dst, erasure...)
	return append(dst, `"}`...)
}

// EventLeaf is the leaf hash an event's bytes stand for in the tree: the
// redacted leaf hash for a redacted event, else LeafHash(data).
func EventLeaf(data []byte) (Hash, bool) {
	if h, _, _, ok := Redacted(data); ok {
		return h, true
	}
	return LeafHash(data), false
}
