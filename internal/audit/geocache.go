// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"net/netip"
	"sync/atomic"
)

// NetworkLocator is a Locator that also says how far its answer holds:
// every address sharing the first bits bits of addr gets the same answer.
// The service then caches answers by anonymized network, so that a
// lookup costs a few nanoseconds at 100k events/s; without it, each event
// is looked up.
type NetworkLocator interface {
	Locator
	LocateNetwork(addr netip.Addr) (loc Location, ok bool, bits int)
}

// clientCacheSize is the number of anonymized networks the cache holds
// (direct-mapped: a new network replaces the one in its slot).
const clientCacheSize = 4096

// clientCache maps an anonymized network to its text form and location.
// Its key is the anonymized address, never the full one: an entry is only
// made when the locator's answer holds for the whole anonymized network,
// so it is exact. Safe for concurrent use, lock-free.
type clientCache struct {
	locator    Locator
	v4, v6     int // anonymization bits
	slots      [clientCacheSize]atomic.Pointer[clientEntry]
	hits, miss atomic.Uint64
}

// clientEntry is one cached network. Location is shared by the events of
// that network: it is read-only.
type clientEntry struct {
	anon     netip.Addr
	ip       string
	bits     int
	location *Location
}

func newClientCache(l Locator, v4, v6 int) *clientCache {
	return &clientCache{locator: l, v4: v4, v6: v6}
}

// lookup returns the anonymized form of the full address addr, its
// prefix length, and its location (nil when unknown). addr is unmapped.
func (c *clientCache) lookup(addr netip.Addr) (ip string, bits int, loc *Location) {
	anon, bits := Anonymize(addr, c.v4, c.v6)
	slot := &c.slots[slotOf(anon)]
	if e := slot.Load(); e != nil && e.anon == anon && e.bits == bits {
		c.hits.Add(1)
		return e.ip, e.bits, e.location
	}
	c.miss.Add(1)
	e := &clientEntry{anon: anon, ip: anon.String(), bits: bits}
	cacheable := false
	switch l := c.locator.(type) {
	case nil:
		cacheable = true
	case NetworkLocator:
		found, ok, holds := l.LocateNetwork(addr)
		if ok {
			e.location = &found
		}
		cacheable = holds <= bits
	default:
		if found, ok := l.Locate(addr); ok {
			e.location = &found
		}
	}
	if cacheable {
		slot.Store(e)
	}
	return e.ip, e.bits, e.location
}

// slotOf hashes an anonymized address to a slot.
func slotOf(a netip.Addr) int {
	b := a.As16()
	var h uint64 = 14695981039346656037
	for _, x := range b {
		h = (h ^ uint64(x)) * 1099511628211
	}
	return int(h % clientCacheSize)
}
