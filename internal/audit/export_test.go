// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"encoding/json"
	"net/netip"
)

// Hooks for the external tests that hold the fast path to the reference
// (reference_test.go) and benchmark both (decode_bench_test.go).

// SetIDSource makes the ids Trail gives events come from next, until the
// returned function restores the default.
func SetIDSource(next func() string) (restore func()) {
	idSource = next
	return func() { idSource = nil }
}

// PrepareFast decodes raw with the fast path alone; false means it left
// the event to the reference.
func (s *Service) PrepareFast(org string, raw []byte) (*Pending, bool) {
	var p Pending
	ok := newBatchDecoder(s, org, []json.RawMessage{raw}).prepare(raw, &p)
	return &p, ok
}

// PrepareFastScanned is PrepareFast for an event the fast splitter read
// (skipValue accepted it): false, false when it did not.
func (s *Service) PrepareFastScanned(org string, raw []byte) (p *Pending, scanned, ok bool) {
	if end, valid := skipValue(raw, skipWS(raw, 0), 1); !valid || skipWS(raw, end) != len(raw) {
		return nil, false, false
	}
	p = new(Pending)
	d := newBatchDecoder(s, org, []json.RawMessage{raw})
	d.scanned = true
	return p, true, d.prepare(raw, p)
}

// PrepareReference decodes raw with the reference path alone.
func (s *Service) PrepareReference(org string, raw []byte) (*Pending, []Detail) {
	return s.prepare(org, 0, raw)
}

// SplitFast and SplitReference are SplitBatch's two paths.
func SplitFast(body []byte, ndjson bool, lim Limits) ([]json.RawMessage, bool) {
	return splitFast(body, ndjson, lim.WithDefaults())
}

func SplitReference(body []byte, ndjson bool, lim Limits) ([]json.RawMessage, error) {
	return splitReference(body, ndjson, lim.WithDefaults())
}

// DefaultOccurred reports whether the producer sent no occurred_at.
func (p *Pending) DefaultOccurred() bool { return p.defaultOccurred }

// Plain returns e without its metadata and cached search text, and with
// empty targets as nil, for comparing the fields both paths set alike.
func (e Event) Plain() Event {
	e.Metadata, e.MetadataJSON, e.search = nil, nil, ""
	if len(e.Targets) == 0 {
		e.Targets = nil
	}
	return e
}

// DecodeBody takes an envelope body to the canonical bytes of its events
// as ingest does up to the store (seq from 0, received now), with the
// reference path alone or as Ingest does. It returns the bytes' total size.
func (s *Service) DecodeBody(org string, body []byte, reference bool) (int, error) {
	var pending []*Pending
	if reference {
		raws, err := splitReference(body, false, s.limits)
		if err != nil {
			return 0, err
		}
		for i, raw := range raws {
			p, d := s.prepare(org, i, raw)
			if d != nil {
				return 0, &Error{Code: CodeUnprocessable, Message: invalidMessage(d), Details: d}
			}
			pending = append(pending, p)
		}
	} else {
		raws, scanned, err := splitBatch(body, false, s.limits)
		if err != nil {
			return 0, err
		}
		dec := s.pooledDecoder(org)
		defer dec.release()
		dec.scanned = scanned
		b, err := s.decode(dec, raws)
		if err != nil {
			return 0, err
		}
		pending = b.Events
	}
	n := 0
	received := s.now()
	for i, p := range pending {
		p.Event.ReceivedAt = received
		n += len(p.Encode(int64(i)))
	}
	return n, nil
}

// ClientOf is the fast path's enrichment of the full address addr, through
// the service's cache, and the cache's hits so far.
func (s *Service) ClientOf(addr netip.Addr) (ip string, bits int, loc *Location, hits uint64) {
	ip, bits, loc = s.clients.lookup(addr.Unmap())
	return ip, bits, loc, s.clients.hits.Load()
}

// SetExportLeaves sets whether exports hash the events they stream
// (export_leaves.go) and how many hashes a spool keeps in memory before
// it writes to a temporary file, until restore.
func SetExportLeaves(on bool, memory int) (restore func()) {
	oldOn, oldMem := exportLeaves, spoolMemory
	exportLeaves, spoolMemory = on, memory
	return func() { exportLeaves, spoolMemory = oldOn, oldMem }
}
