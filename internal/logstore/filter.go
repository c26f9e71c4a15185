// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"math"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// bloom is a Bloom filter over 64-bit key hashes: k probes by double
// hashing. Its bytes are stored as they are in block headers.
type bloom []byte

const bloomProbes = 6

// bitsPerKey gives about 2% false positives with bloomProbes.
const bitsPerKey = 9

// newBloom sizes a filter for n keys (at least 64 bits).
func newBloom(n int) bloom { return newBloomBits(n, bitsPerKey) }

func newBloomBits(n, perKey int) bloom {
	bits := max(64, n*perKey)
	return make(bloom, (bits+7)/8)
}

// keyHash hashes a filter key: the value's xxh64, mixed with its kind.
func keyHash(kind byte, v string) uint64 { return mixKey(kind, xxhash.Sum64String(v)) }

// pairHash is keyHash(keyBigram, bigram(a, b)).
func pairHash(a, b string) uint64 {
	var buf [64]byte
	return pairKey(appendPair(buf[:0], a, b))
}

// appendPair appends the pair of words a b (pairKey's input) to buf.
func appendPair(buf []byte, a, b string) []byte {
	return append(append(append(buf, a...), ' '), b...)
}

// pairKey is pairHash of a pair appendPair made: the block builder hashes
// its pairs in one reused buffer.
func pairKey(pair []byte) uint64 { return mixKey(keyBigram, xxhash.Sum64(pair)) }

func mixKey(kind byte, h uint64) uint64 {
	h ^= uint64(kind) * 0x9e3779b97f4a7c15
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	return h ^ h>>29
}

func (b bloom) add(h uint64) {
	m := uint64(len(b)) * 8
	h1, h2 := h, h>>32|h<<32
	for i := uint64(0); i < bloomProbes; i++ {
		bit := (h1 + i*h2) % m
		b[bit>>3] |= 1 << (bit & 7)
	}
}

func (b bloom) has(h uint64) bool {
	if len(b) == 0 {
		return false
	}
	m := uint64(len(b)) * 8
	h1, h2 := h, h>>32|h<<32
	for i := uint64(0); i < bloomProbes; i++ {
		bit := (h1 + i*h2) % m
		if b[bit>>3]&(1<<(bit&7)) == 0 {
			return false
		}
	}
	return true
}

// keySet collects key hashes; bloom sizes a filter for the distinct ones.
type keySet []uint64

func (s *keySet) add(kind byte, v string) { *s = append(*s, keyHash(kind, v)) }

func (s *keySet) addHash(h uint64) { *s = append(*s, h) }

// bloom sorts and compacts *s in place and returns its filter.
func (s *keySet) bloom() bloom {
	slices.Sort(*s)
	*s = slices.Compact(*s)
	b := newBloom(len(*s))
	for _, h := range *s {
		b.add(h)
	}
	return b
}

// fpRate estimates a filter's false-positive rate for n keys (for docs
// and tests).
func fpRate(b bloom, n int) float64 {
	m := float64(len(b) * 8)
	return math.Pow(1-math.Exp(-bloomProbes*float64(n)/m), bloomProbes)
}
