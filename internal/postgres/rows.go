package postgres

import (
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/ledger"
)

// rows collects, column by column, the rows an Append writes, so that
// each table gets one INSERT … SELECT FROM unnest(…) per transaction:
// PostgreSQL then pays one statement, one plan and one round trip per
// table, whatever the number of events.
type rows struct {
	// ids
	idOrg, idSeq []int64
	idID         []string
	idHash       [][]byte
	// events
	evOrg, evSeq, evOccurred, evReceived []int64
	evType, evCategory, evCountry        []string
	evData                               [][]byte
	evText                               []string
	// refs
	refOrg, refSeq, refReceived []int64
	refKind, refValue           []string
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
	r.evText = append(r.evText, searchText(ev.SearchText()))
	seen := map[[2]string]bool{}
	ref := func(kind, v string) {
		if v == "" || seen[[2]string{kind, v}] {
			return
		}
		seen[[2]string{kind, v}] = true
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

// queue adds the INSERTs of the collected rows to pb.
func (r *rows) queue(pb *pgx.Batch) {
	if len(r.evSeq) == 0 {
		return
	}
	pb.Queue(`INSERT INTO ids (org, id, seq, hash)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[])`,
		r.idOrg, r.idID, r.idSeq, r.idHash)
	pb.Queue(`INSERT INTO events (org, seq, type, category, country, occurred, received, data, tsv)
		SELECT o, s, t, c, co, oc, rc, d, to_tsvector('simple', x)
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bytea[], $9::text[])
			AS u(o, s, t, c, co, oc, rc, d, x)`,
		r.evOrg, r.evSeq, r.evType, r.evCategory, r.evCountry, r.evOccurred, r.evReceived, r.evData, r.evText)
	if len(r.refSeq) > 0 {
		pb.Queue(`INSERT INTO refs (org, kind, value, seq, received)
			SELECT o, k::"char", v, s, rc FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS u(o, k, v, s, rc)`,
			r.refOrg, r.refKind, r.refValue, r.refSeq, r.refReceived)
	}
	pb.Queue(`INSERT INTO tree (org, idx, hash) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])`,
		r.treeOrg, r.treeIdx, r.treeHash)
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
	refActor  = "a"
	refTarget = "t"
)
