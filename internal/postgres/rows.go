// SPDX-License-Identifier: Apache-2.0

package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// rows collects, column by column, the rows an Append writes, so that
// each table gets one binary COPY per transaction (copyAll): measured here,
// COPY writes events about three times as fast as INSERT … SELECT FROM
// unnest(…) of the same rows.
type rows struct {
	// ids
	idOrg, idSeq []int64
	idID         []string
	idHash       [][]byte
	// events
	evOrg, evSeq, evOccurred, evReceived []int64
	evType, evCategory, evCountry        []string
	evData                               [][]byte
	evTSV                                []pgtype.TSVector
	// refs
	refOrg, refSeq, refReceived []int64
	refKind                     []byte
	refValue                    []string
	// tree
	treeOrg, treeIdx []int64
	treeHash         [][]byte
	scratch          []ledger.Stored
}

// add queues the event stored at seq with its canonical bytes data.
func (r *rows) add(num, seq int64, p *audit.Pending, data []byte) {
	ev := &p.Event
	country := ""
	if ev.Location != nil {
		country = ev.Location.CountryCode
	}
	received := ev.ReceivedAt.UnixMicro()
	r.idOrg, r.idSeq, r.idID, r.idHash = append(r.idOrg, num), append(r.idSeq, seq), append(r.idID, ev.ID), append(r.idHash, hashBytes(p.Hash))
	r.evOrg, r.evSeq = append(r.evOrg, num), append(r.evSeq, seq)
	r.evType, r.evCategory, r.evCountry = append(r.evType, ev.Type), append(r.evCategory, ev.Category), append(r.evCountry, country)
	r.evOccurred, r.evReceived = append(r.evOccurred, ev.OccurredAt.UnixMicro()), append(r.evReceived, received)
	r.evData = append(r.evData, data)
	r.evTSV = append(r.evTSV, tsVectorValue(num, ev.SearchText()))
	seen := map[[2]string]bool{}
	ref := func(kind byte, v string) {
		if v == "" || seen[[2]string{string(kind), v}] {
			return
		}
		seen[[2]string{string(kind), v}] = true
		r.refOrg, r.refSeq, r.refReceived = append(r.refOrg, num), append(r.refSeq, seq), append(r.refReceived, received)
		r.refKind, r.refValue = append(r.refKind, kind), append(r.refValue, noNUL(v))
	}
	ref(refActor, ev.Actor.ID)
	ref(refActor, ev.Actor.Name)
	for _, t := range ev.Targets {
		ref(refTarget, t.ID)
		ref(refTarget, t.Name)
	}
}

// addLeaf appends the event's leaf to the org's tree edge e and queues
// the stored hashes it completes.
func (r *rows) addLeaf(num int64, e *ledger.Edge, data []byte) error {
	var err error
	if r.scratch, err = e.Append(r.scratch[:0], ledger.LeafHash(data)); err != nil {
		return err
	}
	for _, s := range r.scratch {
		h := s.Hash
		r.treeOrg, r.treeIdx, r.treeHash = append(r.treeOrg, num), append(r.treeIdx, s.Index), append(r.treeHash, h[:])
	}
	return nil
}

// copyAll writes the collected rows with binary COPY, PostgreSQL's
// fastest bulk path: one COPY per table, whatever the number of events.
func (r *rows) copyAll(ctx context.Context, tx pgx.Tx) error {
	if len(r.evSeq) == 0 {
		return nil
	}
	for _, c := range []struct {
		table string
		cols  []string
		n     int
		row   func(i int) []any
	}{
		{"events", []string{"org", "seq", "type", "category", "country", "occurred", "received", "data", "tsv"}, len(r.evSeq), func(i int) []any {
			return []any{r.evOrg[i], r.evSeq[i], r.evType[i], r.evCategory[i], r.evCountry[i], r.evOccurred[i], r.evReceived[i], r.evData[i], r.evTSV[i]}
		}},
		{"ids", []string{"org", "id", "seq", "hash"}, len(r.idSeq), func(i int) []any {
			return []any{r.idOrg[i], r.idID[i], r.idSeq[i], r.idHash[i]}
		}},
		{"refs", []string{"org", "kind", "value", "seq", "received"}, len(r.refSeq), func(i int) []any {
			return []any{r.refOrg[i], r.refKind[i], r.refValue[i], r.refSeq[i], r.refReceived[i]}
		}},
		{"tree", []string{"org", "idx", "hash"}, len(r.treeIdx), func(i int) []any {
			return []any{r.treeOrg[i], r.treeIdx[i], r.treeHash[i]}
		}},
	} {
		src := pgx.CopyFromSlice(c.n, func(i int) ([]any, error) { return c.row(i), nil })
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, src); err != nil {
			return err
		}
	}
	return nil
}

// noNUL drops NUL characters, which PostgreSQL text cannot hold (the
// validator rejects control characters; this is a last guard so that one
// odd value can never fail a whole group commit).
func noNUL(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
}

// Kinds of refs rows.
const (
	refActor  byte = 'a'
	refTarget byte = 't'
)
