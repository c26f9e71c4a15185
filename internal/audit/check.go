// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"context"
	"fmt"

	"github.com/trailaudit/trail/internal/ledger"
)

// CheckResult is what CheckOrg found for one org.
type CheckResult struct {
	Org      string
	Size     int64
	Root     ledger.Hash // recomputed from the stored bytes
	Problems []string    // empty: the org is intact
	// Checkpoint is the size of the last signed checkpoint compared, 0 if
	// none was kept.
	Checkpoint int64
	// Pruned is P when events 0 … P-1 were pruned: their part of the tree
	// is taken from the stored hashes, not re-derived.
	Pruned int64
}

// checkChunk is how many events CheckOrg compares per read of hashes.
const checkChunk = 4096

// CheckOrg re-derives org's whole tree from its stored event bytes and
// compares it with every stored hash and with the last signed checkpoint
// (its root and its signature, with the service's keys). It reads
// committed data only and works while a server writes. Problems name the
// first event whose stored hashes differ.
func (s *Service) CheckOrg(ctx context.Context, org string, progress func(done, total int64)) (CheckResult, error) {
	res := CheckResult{Org: org}
	size, err := s.store.Size(ctx, org)
	if err != nil {
		return res, err
	}
	res.Size = size
	cp, err := s.store.LatestCheckpoint(ctx, org)
	if err != nil && ErrorCode(err) != CodeNotFound {
		return res, err
	}
	var cpRoot *ledger.Hash
	edge := &ledger.Edge{}
	var want []ledger.Stored
	var ids []string // the id of each event in the chunk, for reports
	var firstSeq int64
	r := HashReader(ctx, s.store, org)
	compare := func() error {
		if len(want) == 0 || len(res.Problems) > 0 {
			return nil
		}
		idx := make([]int64, len(want))
		for i, w := range want {
			idx[i] = w.Index
		}
		got, err := r.ReadHashes(idx)
		if err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("stored hashes of events %d … are unreadable: %v", firstSeq, err))
			return nil
		}
		for i, w := range want {
			if got[i] != w.Hash {
				level, n := ledger.SplitIndex(w.Index)
				seq := n<<level + (1<<level - 1) // the event whose append wrote it
				res.Problems = append(res.Problems, fmt.Sprintf(
					"event seq %d (id %q): the tree hash at level %d stored with it is %s, but its stored bytes and the events before it give %s: the event's bytes or the tree were changed",
					seq, ids[seq-firstSeq], level, ledger.EncodeHash(got[i]), ledger.EncodeHash(w.Hash)))
				return nil
			}
		}
		return nil
	}
	if res.Pruned, err = s.PrunedBefore(ctx, org); err != nil {
		return res, err
	}
	if res.Pruned > 0 {
		if edge, err = prunedEdge(res.Pruned, r); err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("the stored tree hashes of the pruned events 0 … %d are unreadable: %v", res.Pruned-1, err))
			return res, nil
		}
		firstSeq = res.Pruned
		if cp.Note != "" && cp.Size <= res.Pruned {
			root, err := ledger.TreeHash(cp.Size, r)
			if err != nil {
				return res, err
			}
			cpRoot = &root
		}
	}
	err = s.store.Scan(ctx, org, res.Pruned, size, Filter{}, func(seq int64, data []byte) error {
		if seq != edge.Size() {
			return fmt.Errorf("audit: the log of %s has no event at seq %d", org, edge.Size())
		}
		if cp.Size == seq && cp.Note != "" {
			root := edge.Root()
			cpRoot = &root
		}
		var err error
		leaf, _ := ledger.EventLeaf(data) // a redacted event stands by its original leaf
		if want, err = edge.Append(want, leaf); err != nil {
			return err
		}
		ids = append(ids, eventID(data))
		if len(ids) >= checkChunk {
			if err := compare(); err != nil {
				return err
			}
			want, ids, firstSeq = want[:0], ids[:0], seq+1
			if progress != nil {
				progress(seq+1, size)
			}
		}
		return nil
	})
	if err != nil {
		res.Problems = append(res.Problems, err.Error())
		return res, nil
	}
	if err := compare(); err != nil {
		return res, err
	}
	res.Root = edge.Root()
	if cp.Size == size && cp.Note != "" {
		cpRoot = &res.Root
	}
	if cp.Note != "" {
		res.Checkpoint = cp.Size
		switch {
		case cpRoot == nil:
			res.Problems = append(res.Problems, fmt.Sprintf("the log has %d events but its last signed checkpoint has %d: events were deleted", size, cp.Size))
		case *cpRoot != cp.Root:
			res.Problems = append(res.Problems, fmt.Sprintf("the stored events give the root %s at size %d, but the signed checkpoint has %s", ledger.EncodeHash(*cpRoot), cp.Size, ledger.EncodeHash(cp.Root)))
		default:
			if why := checkNote(cp, s.integ.verifiers, s.Origin(org), s.log); why != "" {
				res.Problems = append(res.Problems, why)
			}
		}
	}
	return res, nil
}

// eventID returns the id of canonical event bytes (the first field).
func eventID(data []byte) string {
	const pre = `{"id":"`
	if len(data) > len(pre) && string(data[:len(pre)]) == pre {
		for i := len(pre); i < len(data) && i < len(pre)+80; i++ {
			if data[i] == '"' {
				return string(data[len(pre):i])
			}
		}
	}
	return "?"
}

// prunedEdge is the tree's right edge at the pruning point p, from the
// stored hashes.
func prunedEdge(p int64, r ledger.HashReader) (*ledger.Edge, error) {
	hs, err := r.ReadHashes(ledger.EdgeIndexes(p))
	if err != nil {
		return nil, err
	}
	return ledger.NewEdge(p, hs)
}
