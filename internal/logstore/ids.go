// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"encoding/binary"
	"hash/crc32"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// Idempotent retries need, for any id ever stored in an org, its seq and
// content hash, without a per-event index row. Each sealed block carries
// its ids' hashes (32 bits of xxh64 in format 3, 64 sorted before) with the
// first 8 bytes of each event's content hash (block.go). In memory, an org
// keeps Bloom filters over the 32-bit id hashes (idKey) in tiers: one filter per block at first;
// whenever idFanout filters of one tier accumulate they are replaced by one
// filter over all their blocks, rebuilt from the blocks' id sections. A
// lookup probes O(idFanout · log_idFanout(blocks)) filters (about 40 at
// 10M events), reads the id section of a block whose filter says yes, and
// confirms the id against the stored event's bytes.
const idFanout = 16

// idBitsPerKey makes an id filter's false positives rare (about 0.09%
// per filter with bloomProbes, so about 2–4% of the lookups of a new id
// in an org of 10M events, which probes up to ~40 filters): each one
// costs a scan of one block's id hashes (the read of its id section, at
// most 16 KB), never a wrong answer. Filters of another size (20 bits
// per id before) are read as they are: a Bloom filter's size is its
// length.
const idBitsPerKey = 16

type idIndex struct {
	groups []idGroup // oldest first
}

type idGroup struct {
	tier   int
	blocks []*blockRef // consecutive, oldest first
	filter bloom
}

func idHash(id string) uint64 { return xxhash.Sum64String(id) }

// idHash32 is the part of idHash blocks of format 3 keep, and filters use.
func idHash32(id string) uint32 { return uint32(idHash(id)) }

// idKey spreads a 32-bit id hash over the 64 bits a Bloom filter probes
// with (murmur3's finalizer of the hash and its complement).
func idKey(h uint32) uint64 {
	x := uint64(h)<<32 | uint64(^h)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	return x ^ x>>33
}

func idFilter(hashes ...[]uint32) bloom {
	n := 0
	for _, h := range hashes {
		n += len(h)
	}
	f := newBloomBits(n, idBitsPerKey)
	for _, hs := range hashes {
		for _, h := range hs {
			f.add(idKey(h))
		}
	}
	return f
}

// mergeTiers returns groups with the newest full tier merged, repeatedly;
// ids reads a block's id hashes.
func mergeTiers(groups []idGroup, ids func(*blockRef) ([]uint32, error)) ([]idGroup, error) {
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
		var all [][]uint32
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

// candidates returns the blocks whose filters may hold the id (whose
// idHash32 is h), newest first.
func (x *idIndex) candidates(h uint32) []*blockRef {
	var out []*blockRef
	key := idKey(h)
	for i := len(x.groups) - 1; i >= 0; i-- {
		g := &x.groups[i]
		if g.filter.has(key) {
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
	seq, chash, _, found, err = s.sealedEvent(o, id)
	return seq, chash, found, err
}

// sealedEvent is sealedID with the event's bytes (read to confirm the id).
func (s *Store) sealedEvent(o *orgLog, id string) (seq int64, chash uint64, data []byte, found bool, err error) {
	h := idHash(id)
	for _, b := range o.ids.candidates(uint32(h)) {
		bh, err := s.blocks.idsHeader(b)
		if err != nil {
			return 0, 0, nil, false, err
		}
		hits, err := s.blocks.findID(b, bh, h)
		if err != nil {
			return 0, 0, nil, false, err
		}
		for _, hit := range hits {
			seq := b.first + int64(hit.row)
			data, err := s.blocks.eventAt(b, seq)
			if err != nil {
				return 0, 0, nil, false, err
			}
			if replayedID(data) == id {
				return seq, hit.chash, data, true, nil
			}
		}
	}
	return 0, 0, nil, false, nil
}

// blockIDs reads a block's id hashes (for merging tiers).
func (s *Store) blockIDs(b *blockRef) ([]uint32, error) {
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

// first and end are the seqs the group's blocks hold: [first, end).
func (g *idGroup) first() int64 { return g.blocks[0].first }
func (g *idGroup) end() int64 {
	last := g.blocks[len(g.blocks)-1]
	return last.first + last.n
}

// The id filters are kept in the catalog (idfilters), one row per group,
// written in the transaction of the seal that makes the group, so that
// Open reads about 2.5 bytes per sealed event instead of every block's id
// section. A row's data is
//
//	version (1 byte, idFilterVersion) | Bloom filter bytes | CRC-32C (u32, little-endian)
//
// and the CRC-32C covers the org number, first, end, block count and tier
// (u64, u64, u64, u32, u32, little-endian), then the version and the
// filter: a row that does not describe exactly the blocks it claims, or
// whose bytes changed, is rebuilt from the blocks' id sections.
//
// Version 2 filters hold idKey of the 32-bit id hashes; version 1 rows
// (full 64-bit hashes) are rebuilt from the blocks on Open.
const idFilterVersion = 2

func idFilterCRC(org int64, first, end int64, nblocks, tier int, body []byte) uint32 {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[0:], uint64(org))
	binary.LittleEndian.PutUint64(key[8:], uint64(first))
	binary.LittleEndian.PutUint64(key[16:], uint64(end))
	binary.LittleEndian.PutUint32(key[24:], uint32(nblocks))
	binary.LittleEndian.PutUint32(key[28:], uint32(tier))
	return crc32.Update(crc32.Checksum(key[:], castagnoli), castagnoli, body)
}

func encodeIDFilter(org int64, g idGroup) []byte {
	data := make([]byte, 0, 1+len(g.filter)+4)
	data = append(data, idFilterVersion)
	data = append(data, g.filter...)
	return binary.LittleEndian.AppendUint32(data, idFilterCRC(org, g.first(), g.end(), len(g.blocks), g.tier, data))
}

// decodeIDFilter returns a stored row's filter, or false if the row is
// of another version or damaged.
func decodeIDFilter(org int64, r idRow) (bloom, bool) {
	n := len(r.data)
	if n < 1+8+4 || r.data[0] != idFilterVersion {
		return nil, false
	}
	if binary.LittleEndian.Uint32(r.data[n-4:]) != idFilterCRC(org, r.first, r.end, r.nblocks, r.tier, r.data[:n-4]) {
		return nil, false
	}
	return bloom(r.data[1 : n-4 : n-4]), true
}

// restoreIDs returns the id filter groups of o's blocks from the stored
// rows, rebuilding from the blocks' id sections whatever the rows do not
// cover exactly (a catalog written before filters were kept, a damaged
// row); rebuilt says whether the rows must be written again.
func (s *Store) restoreIDs(o *orgLog, rows []idRow) (groups []idGroup, rebuilt bool, err error) {
	i := 0 // the next block to cover
	for _, r := range rows {
		if r.nblocks <= 0 || i+r.nblocks > len(o.blocks) || o.blocks[i].first != r.first {
			break
		}
		g := idGroup{tier: r.tier, blocks: o.blocks[i : i+r.nblocks : i+r.nblocks]}
		f, ok := decodeIDFilter(o.num, r)
		if !ok || g.end() != r.end {
			break
		}
		g.filter = f
		groups = append(groups, g)
		i += r.nblocks
	}
	if i == len(o.blocks) && len(groups) == len(rows) {
		return groups, false, nil
	}
	for _, b := range o.blocks[i:] {
		// Tier-0 filters are filled below, once it is known which of them
		// were not merged away.
		if groups, err = mergeTiers(append(groups, idGroup{blocks: []*blockRef{b}}), s.blockIDs); err != nil {
			return nil, false, err
		}
	}
	for i := range groups {
		if g := &groups[i]; g.filter == nil {
			hs, err := s.blockIDs(g.blocks[0])
			if err != nil {
				return nil, false, err
			}
			g.filter = idFilter(hs)
		}
	}
	return groups, true, nil
}

// sealIDs returns o's id groups with block b (whose ids hash to hashes)
// added: the groups before are unchanged, the last is new.
// Only the sealer changes o.ids (under sealMu), so it reads it unlocked.
func (s *Store) sealIDs(o *orgLog, b *blockRef, hashes []uint32) ([]idGroup, error) {
	return mergeTiers(append(slices.Clone(o.ids.groups), idGroup{blocks: []*blockRef{b}, filter: idFilter(hashes)}), s.blockIDs)
}
