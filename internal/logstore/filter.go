package logstore

import (
	"math"

	"github.com/cespare/xxhash/v2"
)

// bloom is a Bloom filter over 64-bit key hashes: k probes by double
// hashing. Its bytes are stored as they are in block headers.
type bloom []byte

const bloomProbes = 6

// bitsPerKey gives about 2% false positives with bloomProbes.
const bitsPerKey = 9

// newBloom sizes a filter for n keys (at least 64 bits).
func newBloom(n int) bloom {
	bits := max(64, n*bitsPerKey)
	return make(bloom, (bits+7)/8)
}

func keyHash(kind byte, v string) uint64 {
	var d xxhash.Digest
	d.Reset()
	d.Write([]byte{kind})
	d.WriteString(v)
	return d.Sum64()
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

// keySet collects distinct key hashes before a filter is sized.
type keySet map[uint64]struct{}

func (s keySet) add(kind byte, v string) { s[keyHash(kind, v)] = struct{}{} }

func (s keySet) bloom() bloom {
	b := newBloom(len(s))
	for h := range s {
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
