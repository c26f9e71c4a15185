// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bufio"
	"context"
	"encoding/base64"
	"strconv"

	"github.com/trailaudit/trail/internal/ledger"
)

// The integrity block of an export: what a verifier needs, with the
// events alone, to recompute the root of the signed checkpoint at N:
//
//	"integrity": {
//	  "checkpoint":   the C2SP signed note of the checkpoint at size N,
//	  "verifier_key": the note verifier key that signed it,
//	  "hashes":       base64 RFC 6962 hashes in seq order: each exported
//	                  event's leaf hash (as stored), and for each run of
//	                  seqs the export leaves out, the roots of the largest
//	                  aligned subtrees covering it (ledger.Cover)
//	}
//
// A complete export lists N leaf hashes; a filtered one O(k·log N).

// hashChunk is how many seqs one round of stored-hash reads covers.
const hashChunk = 1024

// signExport signs the checkpoint at x.Size, when Trail signs.
func (x *Export) signExport(ctx context.Context) error {
	if x.s.integ.cfg.Signer == nil {
		return nil
	}
	cp, err := x.s.CheckpointAt(ctx, x.org, x.Size)
	if err != nil {
		return err
	}
	x.checkpoint = &cp
	return nil
}

// writeIntegrity writes `,"integrity":{…}` (JSON) after the events.
func (x *Export) writeIntegrity(ctx context.Context, bw *bufio.Writer) error {
	if x.checkpoint == nil {
		return nil
	}
	bw.WriteString(`,"integrity":`)
	return x.integrityObject(ctx, bw)
}

// writeIntegrityLine writes the NDJSON export's last line, when asked:
// {"integrity":{"format","org","size","count","filter"?,"checkpoint",…}}.
func (x *Export) writeIntegrityLine(ctx context.Context, bw *bufio.Writer, count int64) error {
	if x.checkpoint == nil || !x.req.Integrity {
		return nil
	}
	b := []byte(`{"integrity":{"format":`)
	b = appendString(b, ExportFormatVersion)
	b = append(b, `,"org":`...)
	b = appendString(b, x.org)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, x.Size, 10)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, count, 10)
	if x.req.Query != "" {
		b = append(b, `,"filter":`...)
		b = appendString(b, x.req.Query)
	}
	bw.Write(b)
	if err := x.integrityFields(ctx, bw); err != nil {
		return err
	}
	_, err := bw.WriteString("}}\n")
	return err
}

func (x *Export) integrityObject(ctx context.Context, bw *bufio.Writer) error {
	bw.WriteString(`{`)
	if err := x.integrityFields(ctx, bw); err != nil {
		return err
	}
	_, err := bw.WriteString("}")
	return err
}

// integrityFields writes "checkpoint", "verifier_key" and "hashes" (after
// a comma when the object has fields already).
func (x *Export) integrityFields(ctx context.Context, bw *bufio.Writer) error {
	b := bw.AvailableBuffer()
	if x.req.Format == FormatNDJSON {
		b = append(b, ',')
	}
	b = append(b, `"checkpoint":`...)
	b = appendString(b, x.checkpoint.Note)
	b = append(b, `,"verifier_key":`...)
	b = appendString(b, x.s.VerifierKey())
	b = append(b, `,"hashes":[`...)
	bw.Write(b)
	hw := &hashWriter{bw: bw}
	if err := x.writeHashes(ctx, hw); err != nil {
		return err
	}
	_, err := bw.WriteString("]")
	return err
}

type hashWriter struct {
	bw *bufio.Writer
	n  int
}

func (w *hashWriter) write(hs []ledger.Hash) {
	for _, h := range hs {
		b := w.bw.AvailableBuffer()
		if w.n > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, h[:]) // ledger.EncodeHash
		b = append(b, '"')
		w.bw.Write(b)
		w.n++
	}
}

// writeHashes writes the hashes that rebuild the tree of size N with the
// exported events: those hashed while streaming them when the export
// could (export_leaves.go), else stored hashes read a chunk at a time.
func (x *Export) writeHashes(ctx context.Context, w *hashWriter) error {
	if x.leaves != nil && x.leaves.n == x.Size {
		if err := x.leaves.each(w.write); err == nil || w.n > 0 {
			return err
		}
		// The spool failed before writing a hash: read them from the store.
	}
	r := HashReader(ctx, x.s.store, x.org)
	if x.req.Filter.Empty() {
		idx := make([]int64, 0, hashChunk)
		for lo := int64(0); lo < x.Size; lo += hashChunk {
			idx = idx[:0]
			for i := lo; i < min(lo+hashChunk, x.Size); i++ {
				idx = append(idx, ledger.LeafIndex(i))
			}
			hs, err := r.ReadHashes(idx)
			if err != nil {
				return err
			}
			w.write(hs)
		}
		return nil
	}
	var prev int64
	var nodes []ledger.Node
	idx := make([]int64, 0, 4*hashChunk)
	flush := func() error {
		for _, n := range nodes {
			idx = append(idx, n.StoredIndex())
		}
		hs, err := r.ReadHashes(idx)
		if err != nil {
			return err
		}
		w.write(hs)
		nodes, idx = nodes[:0], idx[:0]
		return nil
	}
	err := x.s.store.Scan(ctx, x.org, 0, x.Size, x.req.Filter, func(seq int64, _ []byte) error {
		nodes = ledger.Cover(nodes, prev, seq)
		nodes = append(nodes, ledger.Node{Level: 0, Index: seq})
		prev = seq + 1
		if len(nodes) >= hashChunk {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	nodes = ledger.Cover(nodes, prev, x.Size)
	return flush()
}
