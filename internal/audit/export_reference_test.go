// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"strconv"
)

// WriteToReference writes the export as WriteTo did before its events
// went through a pipeline (export_stream.go): each event written in turn
// to one buffered writer, as it is scanned, and the integrity block's
// leaf hashes read from the store. Tests hold WriteTo's bytes to these.
func (x *Export) WriteToReference(ctx context.Context, w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var count int64
	emit := x.referenceEmitter(bw)
	if err := x.header(bw); err != nil {
		return 0, err
	}
	err := x.s.store.Scan(ctx, x.org, x.Pruned, x.Size, x.req.Filter, func(seq int64, data []byte) error {
		if err := emit(count, data); err != nil {
			return err
		}
		count++
		return nil
	})
	if err != nil {
		return count, err
	}
	if err := x.checkNotPruned(ctx); err != nil {
		return count, err
	}
	if x.req.Format == FormatJSON {
		bw.WriteString(`],"count":`)
		bw.WriteString(strconv.FormatInt(count, 10))
		if err := x.writeIntegrity(ctx, bw); err != nil {
			return count, err
		}
		bw.WriteString("}\n")
	}
	if x.req.Format == FormatNDJSON {
		if err := x.writeIntegrityLine(ctx, bw, count); err != nil {
			return count, err
		}
	}
	return count, bw.Flush()
}

func (x *Export) referenceEmitter(bw *bufio.Writer) func(i int64, data []byte) error {
	switch x.req.Format {
	case FormatNDJSON:
		return func(_ int64, data []byte) error {
			bw.Write(data)
			return bw.WriteByte('\n')
		}
	case FormatCSV:
		cw := csv.NewWriter(bw)
		return func(_ int64, data []byte) error {
			row, err := csvRow(data)
			if err != nil {
				return err
			}
			cw.Write(row)
			cw.Flush()
			return cw.Error()
		}
	}
	return func(i int64, data []byte) error {
		if i > 0 {
			bw.WriteByte(',')
		}
		_, err := bw.Write(data)
		return err
	}
}
