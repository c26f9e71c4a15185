// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"encoding/json"

	"github.com/cespare/xxhash/v2"
)

// Idempotent retries need, for any id ever stored in an org, its seq and
// content hash, without a per-event index row. Each sealed block carries
// its ids' 64-bit hashes, sorted, with the rows and the first 8 bytes of
// each event's content hash (block.go). In memory, an org keeps Bloom
// filters over those id hashes in tiers: one filter per block at first;
// whenever idFanout filters of one tier accumulate they are replaced by one
// filter over all their blocks, rebuilt from the blocks' id sections. A
// lookup probes O(idFanout · log_idFanout(blocks)) filters (about 40 at
// 10M events), reads the id section of a block whose filter says yes, and
// confirms the id against the stored event's bytes.
const idFanout = 16

// idBitsPerKey makes an id filter's false positives rare (about 0.05%):
// each one costs a read of a block's id hashes.
const idBitsPerKey = 20

type idIndex struct {
	groups []idGroup // oldest first
}

type idGroup struct {
	tier   int
	blocks []*blockRef // consecutive, oldest first
	filter bloom
}

func idHash(id string) uint64 { return xxhash.Sum64String(id) }

func idFilter(hashes ...[]uint64) bloom {
	n := 0
	for _, h := range hashes {
		n += len(h)
	}
	f := newBloomBits(n, idBitsPerKey)
	for _, hs := range hashes {
		for _, h := range hs {
			f.add(h)
		}
	}
	return f
}

// mergeTiers returns groups with the newest full tier merged, repeatedly;
// ids reads a block's id hashes.
func mergeTiers(groups []idGroup, ids func(*blockRef) ([]uint64, error)) ([]idGroup, error) {
	for {
		n := len(groups)
		if n < idFanout {
			return groups, nil
		}
		last := groups[n-idFanout:]
		tier := last[0].tier
		for _, g := range last {
			if g.tier != tier {
				return groups, nil
			}
		}
		merged := idGroup{tier: tier + 1}
		var all [][]uint64
		for _, g := range last {
			for _, b := range g.blocks {
				hs, err := ids(b)
				if err != nil {
					return groups, err
				}
				all = append(all, hs)
				merged.blocks = append(merged.blocks, b)
			}
		}
		merged.filter = idFilter(all...)
		groups = append(groups[:n-idFanout:n-idFanout], merged)
	}
}

// candidates returns the blocks whose filters may hold the id, newest first.
func (x *idIndex) candidates(h uint64) []*blockRef {
	var out []*blockRef
	for i := len(x.groups) - 1; i >= 0; i-- {
		g := &x.groups[i]
		if g.filter.has(h) {
			for j := len(g.blocks) - 1; j >= 0; j-- {
				out = append(out, g.blocks[j])
			}
		}
	}
	return out
}

// sealedID finds a sealed event by id: its seq and content-hash prefix.
// The caller holds o.mu (read).
func (s *Store) sealedID(o *orgLog, id string) (seq int64, chash uint64, found bool, err error) {
	h := idHash(id)
	for _, b := range o.ids.candidates(h) {
		bh, err := s.blocks.header(b)
		if err != nil {
			return 0, 0, false, err
		}
		hits, err := s.blocks.findID(b, bh, h)
		if err != nil {
			return 0, 0, false, err
		}
		for _, hit := range hits {
			seq := b.first + int64(hit.row)
			data, err := s.readSealed(b, bh, seq)
			if err != nil {
				return 0, 0, false, err
			}
			var ev struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(data, &ev) == nil && ev.ID == id {
				return seq, hit.chash, true, nil
			}
		}
	}
	return 0, 0, false, nil
}

// readSealed returns the bytes of one sealed event.
func (s *Store) readSealed(b *blockRef, h *blockHeader, seq int64) ([]byte, error) {
	p := findPage(h, seq)
	events, err := s.blocks.page(b, h, p)
	if err != nil {
		return nil, err
	}
	return events[seq-h.pages[p].first], nil
}

// blockIDs reads a block's id hashes (for merging tiers).
func (s *Store) blockIDs(b *blockRef) ([]uint64, error) {
	h, err := s.blocks.header(b)
	if err != nil {
		return nil, err
	}
	hs, _, _, err := s.blocks.ids(b, h)
	return hs, err
}

// chashOf is the part of a content hash blocks keep.
func chashOf(h [32]byte) uint64 {
	return uint64(h[0]) | uint64(h[1])<<8 | uint64(h[2])<<16 | uint64(h[3])<<24 |
		uint64(h[4])<<32 | uint64(h[5])<<40 | uint64(h[6])<<48 | uint64(h[7])<<56
}
