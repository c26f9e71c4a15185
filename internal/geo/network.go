// SPDX-License-Identifier: Apache-2.0

package geo

import (
	"net/netip"

	"github.com/trailaudit/trail/internal/audit"
)

var _ audit.NetworkLocator = (*DB)(nil)

// publicBits is the longest prefix of the ranges IsPublic refuses, per
// family: whether an address is public is the same for every address of
// its /24 (IPv4) or /32 (IPv6).
const (
	publicBits4 = 24
	publicBits6 = 32
)

// LocateNetwork is Locate, and also returns how far the answer holds: every
// address that shares addr's first bits bits gets the same answer from
// Locate. It lets callers cache answers by network without keeping
// addresses. Like Locate, it does not keep, log or return addr.
func (db *DB) LocateNetwork(addr netip.Addr) (loc audit.Location, ok bool, bits int) {
	addr = addr.Unmap().WithZone("")
	bits = publicBits6
	if addr.Is4() {
		bits = publicBits4
	}
	if !IsPublic(addr) {
		return audit.Location{}, false, bits
	}
	for _, f := range db.files {
		if f.v4only && addr.Is6() {
			continue
		}
		res := f.r.Lookup(addr)
		if err := res.Err(); err != nil {
			db.lookupErr.Add(1) // the error names addr: drop it
			return audit.Location{}, false, addr.BitLen()
		}
		bits = max(bits, res.Prefix().Bits())
		if !res.Found() {
			continue
		}
		var rec record
		if err := res.Decode(&rec); err != nil {
			db.lookupErr.Add(1)
			return audit.Location{}, false, addr.BitLen()
		}
		if loc := rec.location(); !loc.Empty() {
			return loc, true, bits
		}
	}
	return audit.Location{}, false, bits
}
