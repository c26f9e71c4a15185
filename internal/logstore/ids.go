// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/trailaudit/trail/internal/audit"
)

// Idempotent retries need, for any id ever stored in an org, its seq and
// content hash, without a per-event index row. Each sealed block carries
// its ids' hashes (32 bits of xxh64 from format 3, 64 sorted before) with,
// in format 4, what gives each event's content hash back from its bytes
// (hashBits, below), and before, the first 8 bytes of each event's
// content hash (block.go). In memory, an org
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
				if b.idf.Load() == nil {
					f := g.filter // a tier-0 group's filter is its block's
					if len(g.blocks) > 1 || f == nil {
						f = idFilter(hs)
					}
					b.idf.Store(&f)
				}
			}
		}
		merged.filter = idFilter(all...)
		groups = append(groups[:n-idFanout:n-idFanout], merged)
	}
}

// candidates returns the blocks whose filters may hold the id (whose
// idHash32 is h), newest first. A merged group's filter says only that
// one of its blocks (16, 256, … of them) may hold it: each block's own
// filter (blockRef.idf, kept in memory beside the group's) then tells
// which, and a block whose own filter is not made yet (just after Open,
// until warmIDs has read it) is a candidate.
func (x *idIndex) candidates(h uint32) []*blockRef {
	var out []*blockRef
	key := idKey(h)
	for i := len(x.groups) - 1; i >= 0; i-- {
		g := &x.groups[i]
		if !g.filter.has(key) {
			continue
		}
		for j := len(g.blocks) - 1; j >= 0; j-- {
			b := g.blocks[j]
			if f := b.idf.Load(); len(g.blocks) > 1 && f != nil && !f.has(key) {
				continue
			}
			out = append(out, b)
		}
	}
	return out
}

// warmIDs makes the own id filter of every block of o's merged groups
// that has none (Open reads only the groups' filters from the catalog),
// reading the blocks' id sections; it stops early when the store closes.
// Without them a lookup that one merged group's filter lets through
// reads the id section of each of its blocks, up to 256 of them at 1M
// events a group, instead of about one.
func (s *Store) warmIDs(orgs []*orgLog) {
	e := s.pinEpoch() // the blocks read stay on disk meanwhile
	defer s.unpinEpoch(e)
	for _, o := range orgs {
		o.mu.RLock()
		groups := o.ids.groups
		o.mu.RUnlock()
		for _, g := range groups {
			if len(g.blocks) < 2 {
				continue
			}
			for _, b := range g.blocks {
				select {
				case <-s.stop:
					return
				default:
				}
				if b.idf.Load() != nil {
					continue
				}
				hs, err := s.blockIDs(b)
				if err != nil {
					continue // the block stays a candidate; a read of it reports the damage
				}
				f := idFilter(hs)
				b.idf.Store(&f)
			}
		}
	}
}

// sealedRetry finds a sealed event by id: its seq, and whether its
// content hash is hash. The caller holds o.mu (read).
func (s *Store) sealedRetry(o *orgLog, id string, hash [32]byte) (seq int64, same, found bool, err error) {
	seq, hit, data, found, err := s.sealedEvent(o, id)
	if !found || err != nil {
		return seq, false, found, err
	}
	if same, err = hit.same(data, hash); err != nil {
		return seq, false, found, internalErr("the stored event of seq %d does not hash: %v", seq, err)
	}
	return seq, same, true, nil
}

// sealedEvent finds a sealed event by id: its seq, what its block keeps
// of its content hash, and its bytes (read to confirm the id).
func (s *Store) sealedEvent(o *orgLog, id string) (seq int64, hit idHit, data []byte, found bool, err error) {
	h := idHash(id)
	for _, b := range o.ids.candidates(uint32(h)) {
		bh, err := s.blocks.idsHeader(b)
		if err != nil {
			return 0, idHit{}, nil, false, err
		}
		hits, err := s.blocks.findID(b, bh, h)
		if err != nil {
			return 0, idHit{}, nil, false, err
		}
		for _, hit := range hits {
			seq := b.first + int64(hit.row)
			data, err := s.blocks.eventAt(b, seq)
			if err != nil {
				return 0, idHit{}, nil, false, err
			}
			if replayedID(data) == id {
				return seq, hit, data, true, nil
			}
		}
	}
	return 0, idHit{}, nil, false, nil
}

// idHit is an event of a block whose id has the hash looked up, with
// what the block keeps of its content hash.
type idHit struct {
	row   uint16
	chash uint64 // versions 1 to 3: the first 8 bytes
	// version 4: the bits under which its bytes give the hash back, or the
	// whole hash (full, when they do not)
	v4   bool
	bits hashBits
	full *[32]byte
}

// same tells whether the event of the hit, whose stored bytes are data,
// has the content hash h.
func (x idHit) same(data []byte, h [32]byte) (bool, error) {
	switch {
	case !x.v4:
		return x.chash == chashOf(h), nil
	case x.full != nil:
		return *x.full == h, nil
	}
	got, err := storedHash(data, x.bits)
	return got == h, err
}

// blockIDs reads a block's id hashes (for merging tiers and warmIDs),
// leaving the header cache as it is.
func (s *Store) blockIDs(b *blockRef) ([]uint32, error) {
	h, err := s.blocks.peekHeader(b)
	if err != nil {
		return nil, err
	}
	x, err := s.blocks.ids(b, h)
	if err != nil {
		return nil, err
	}
	return x.hashes, nil
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

// Format 4 keeps no content hash for most events: the hash of a stored
// event follows from its bytes and two bits (audit.ContentHashOf), which
// the id section keeps instead (hashBits). A retry of an id found in a
// block reads the event (to confirm the id), hashes it under its bits and
// compares the whole hash with the incoming one: exact, where format 3's
// 8-byte prefix was one in 2⁶⁴. An event whose bytes do not give its hash
// back (a redacted one, whose bytes are a marker; one whose hash a
// store's caller set otherwise, as Service.Record's zero hash) keeps its
// whole hash in the section.
type hashBits uint8

const (
	bitRendered  hashBits = 1 // Trail rendered the description (the producer sent none)
	bitDefaulted hashBits = 2 // Trail defaulted occurred_at (the producer sent none)
	storedBits            = bitRendered | bitDefaulted
	// In memory only (sealEvent.bits, tailEvent.bits):
	bitsKnown  hashBits = 4  // the two bits are the ingest's (audit.Pending.HashBits)
	hashFull   hashBits = 8  // keep the whole hash: the bytes do not give it back
	hashPrefix hashBits = 16 // only the hash's first 8 bytes are known (a block of format 3 or before)
)

// pendingBits is what a block keeps of p's content hash.
func pendingBits(p *audit.Pending) hashBits {
	rendered, defaulted, ok := p.HashBits()
	if !ok {
		return 0
	}
	b := bitsKnown
	if rendered {
		b |= bitRendered
	}
	if defaulted {
		b |= bitDefaulted
	}
	return b
}

// storedHash is the content hash of the stored event data under bits.
func storedHash(data []byte, bits hashBits) ([32]byte, error) {
	return audit.ContentHashOf(data, bits&bitRendered != 0, bits&bitDefaulted != 0)
}

// retryBits returns the bits under which e's bytes give back its content
// hash, checked by hashing them (the ingest's bits first, if known; else
// every pair, as for events replayed from the log or imported), or false
// when none does: the block keeps e's whole hash.
func (e *sealEvent) retryBits() (hashBits, bool) {
	if e.bits&(hashFull|hashPrefix) != 0 {
		return 0, false
	}
	tries := [4]hashBits{bitRendered, bitRendered | bitDefaulted, 0, bitDefaulted}
	known, tried := e.bits&storedBits, e.bits&bitsKnown != 0
	if tried {
		if h, err := storedHash(e.data, known); err == nil && h == e.hash {
			return known, true
		}
	}
	for _, b := range tries {
		if tried && b == known {
			continue // hashed just above
		}
		if h, err := storedHash(e.data, b); err == nil && h == e.hash {
			return b, true
		}
	}
	return 0, false
}

// encodeIDs4 builds the id section of version 4:
//
//	n xxh64(id) cut to 32 bits (u32), in row order
//	u32 length of the rest, then the rest:
//	  each event's bits (encodeFlags)
//	  uvarint k, then k rows (uvarint: the first, then each one's gap − 1
//	    from the one before) with their whole content hash (32 bytes each):
//	    the events whose bytes do not give their hash back
//	u32 CRC-32C of everything before it in the section
func encodeIDs4(events []sealEvent) []byte {
	n := len(events)
	flags := make([]hashBits, n)
	var full []int
	for i := range events {
		b, ok := events[i].retryBits()
		if !ok {
			full = append(full, i)
			if i > 0 {
				b = flags[i-1] // not read: the run goes on
			}
		}
		flags[i] = b
	}
	out := make([]byte, 0, 4*n+16+33*len(full))
	for _, e := range events {
		out = binary.LittleEndian.AppendUint32(out, idHash32(e.id))
	}
	out = append(out, 0, 0, 0, 0)
	rest := len(out)
	out = encodeFlags(out, flags)
	out = binary.AppendUvarint(out, uint64(len(full)))
	prev := -1
	for _, i := range full {
		out = binary.AppendUvarint(out, uint64(i-prev-1))
		out = append(out, events[i].hash[:]...)
		prev = i
	}
	binary.LittleEndian.PutUint32(out[rest-4:], uint32(len(out)-rest))
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// encodeFlags appends the events' bits in the smaller of two forms:
//
//	0, then runs: uvarint run count, then per run its bits (1 byte) and
//	   uvarint length (the lengths add up to n)
//	1, then packed: (n+3)/4 bytes, event i's bits at bit 2·(i mod 4) of
//	   byte i/4
//
// Most blocks hold one kind of event (sent or rendered descriptions,
// occurred_at sent or not), a few bytes as runs.
func encodeFlags(out []byte, flags []hashBits) []byte {
	var runs []byte
	nruns := 0
	for i := 0; i < len(flags); {
		j := i + 1
		for j < len(flags) && flags[j] == flags[i] {
			j++
		}
		runs = append(runs, byte(flags[i]))
		runs = binary.AppendUvarint(runs, uint64(j-i))
		nruns++
		i = j
	}
	packed := (len(flags) + 3) / 4
	if len(runs)+binary.MaxVarintLen32 < packed {
		out = append(out, 0)
		out = binary.AppendUvarint(out, uint64(nruns))
		return append(out, runs...)
	}
	out = append(out, 1)
	at := len(out)
	out = append(out, make([]byte, packed)...)
	for i, f := range flags {
		out[at+i/4] |= byte(f) << (2 * (i % 4))
	}
	return out
}

// decodeRetry parses the rest of a version 4 id section (after its
// length, before the CRC) of a block of n events: each row's bits and
// the rows with whole hashes.
func decodeRetry(b []byte, n int) ([]hashBits, map[int][32]byte, error) {
	bad := func(what string) ([]hashBits, map[int][32]byte, error) {
		return nil, nil, fmt.Errorf("id section: %s", what)
	}
	if len(b) < 1 {
		return bad("no hash bits")
	}
	r := reader{b: b[1:]}
	flags := make([]hashBits, 0, n)
	switch b[0] {
	case 0:
		runs := r.count(2)
		for i := 0; i < runs && r.err == nil; i++ {
			v := r.byte()
			k := r.int()
			if r.err != nil || v > byte(storedBits) || k <= 0 || k > int64(n-len(flags)) {
				return bad("damaged runs of hash bits")
			}
			for range k {
				flags = append(flags, hashBits(v))
			}
		}
	case 1:
		packed := r.fixed((n + 3) / 4)
		if r.err == nil {
			for i := range n {
				flags = append(flags, hashBits(packed[i/4]>>(2*(i%4)))&storedBits)
			}
		}
	default:
		return bad(fmt.Sprintf("hash bits in form %d", b[0]))
	}
	if r.err != nil || len(flags) != n {
		return bad(fmt.Sprintf("hash bits of %d events, the block holds %d", len(flags), n))
	}
	k := r.count(33)
	full := make(map[int][32]byte, k)
	row := -1
	for i := 0; i < k && r.err == nil; i++ {
		row += int(r.int()) + 1
		h := r.fixed(32)
		if r.err != nil || row < 0 || row >= n {
			return bad("a whole content hash of no row")
		}
		full[row] = [32]byte(h)
	}
	if r.err != nil || len(r.b) != 0 {
		return bad("damaged whole content hashes")
	}
	return flags, full, nil
}
