// SPDX-License-Identifier: Apache-2.0

package geo_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/trailaudit/trail/internal/geo"
	"github.com/trailaudit/trail/internal/geo/geotest"
)

// TestLocateNetwork: LocateNetwork answers as Locate does, and its answer
// holds for every address of the network it names.
func TestLocateNetwork(t *testing.T) {
	db, err := geo.Open(geotest.WriteDB(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	addrs := []netip.Addr{
		netip.MustParseAddr("81.2.69.160"), netip.MustParseAddr("8.8.8.8"),
		netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("2a02:26f0:1::1"),
		netip.MustParseAddr("::ffff:2.125.160.216"), netip.MustParseAddr("2001:db8::1"),
	}
	for _, n := range geotest.Networks() {
		addrs = append(addrs, n.Prefix.Addr())
	}
	for _, a := range addrs {
		loc, ok, bits := db.LocateNetwork(a)
		if want, wantOK := db.Locate(a); loc != want || ok != wantOK {
			t.Errorf("LocateNetwork(%s) = %v %v, Locate %v %v", a, loc, ok, want, wantOK)
		}
		p, err := a.Unmap().Prefix(bits)
		if err != nil || bits < 8 {
			t.Fatalf("LocateNetwork(%s): %d bits: %v", a, bits, err)
		}
		// Addresses drawn from the network get the same answer.
		for range 200 {
			b := randomIn(rng, p)
			if got, gotOK := db.Locate(b); got != loc || gotOK != ok {
				t.Fatalf("%s in %s (from %s): %v %v, want %v %v", b, p, a, got, gotOK, loc, ok)
			}
		}
	}
}

// randomIn returns a random address of p.
func randomIn(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	start := 0
	if p.Addr().Is4() {
		b4 := p.Addr().As4()
		for i := range b4 {
			b4[i] = byte(rng.Uint32())
		}
		return mask(netip.AddrFrom4(b4), p)
	}
	for i := start; i < 16; i++ {
		b[i] = byte(rng.Uint32())
	}
	return mask(netip.AddrFrom16(b), p)
}

// mask keeps p's bits of p and a's others.
func mask(a netip.Addr, p netip.Prefix) netip.Addr {
	pb, ab := p.Addr().AsSlice(), a.AsSlice()
	for i := range ab {
		bits := p.Bits() - 8*i
		switch {
		case bits >= 8:
			ab[i] = pb[i]
		case bits > 0:
			m := byte(0xff << (8 - bits))
			ab[i] = pb[i]&m | ab[i]&^m
		}
	}
	out, _ := netip.AddrFromSlice(ab)
	return out
}
