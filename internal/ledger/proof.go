// SPDX-License-Identifier: Apache-2.0

package ledger

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// ProveInclusion returns the RFC 6962 audit path of leaf index in the tree
// of size n (index < n), leaf's sibling first.
func ProveInclusion(index, n int64, r HashReader) ([]Hash, error) {
	if index < 0 || index >= n {
		return nil, fmt.Errorf("ledger: leaf %d is not in a tree of size %d", index, n)
	}
	return tlog.ProveRecord(n, index, r)
}

// CheckInclusion checks that proof shows leaf (a leaf hash) at index in
// the tree of size n with the given root. A proof that does not hold
// wraps ErrMismatch; impossible arguments do not.
func CheckInclusion(proof []Hash, index, n int64, root, leaf Hash) error {
	if index < 0 || index >= n {
		return fmt.Errorf("ledger: leaf %d is not in a tree of size %d", index, n)
	}
	if err := tlog.CheckRecord(proof, n, root, index, leaf); err != nil {
		return fmt.Errorf("%w: inclusion proof of leaf %d in the tree of size %d", ErrMismatch, index, n)
	}
	return nil
}

// ProveConsistency returns the RFC 6962 consistency proof that the tree
// of size to extends the tree of size from (0 <= from <= to).
func ProveConsistency(from, to int64, r HashReader) ([]Hash, error) {
	if from < 0 || from > to {
		return nil, fmt.Errorf("ledger: no consistency proof from size %d to size %d", from, to)
	}
	if from == 0 || from == to {
		return []Hash{}, nil
	}
	return tlog.ProveTree(to, from, r)
}

// CheckConsistency checks that proof shows the tree (to, toRoot) extends
// the tree (from, fromRoot). A proof that does not hold wraps ErrMismatch.
func CheckConsistency(proof []Hash, from int64, fromRoot Hash, to int64, toRoot Hash) error {
	switch {
	case from < 0 || from > to:
		return fmt.Errorf("ledger: no consistency proof from size %d to size %d", from, to)
	case from == 0:
		if len(proof) == 0 && fromRoot == EmptyRoot {
			return nil
		}
	case from == to:
		if len(proof) == 0 && fromRoot == toRoot {
			return nil
		}
	default:
		if tlog.CheckTree(proof, to, toRoot, from, fromRoot) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: the tree of size %d does not extend the tree of size %d", ErrMismatch, to, from)
}
