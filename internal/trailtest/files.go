// SPDX-License-Identifier: Apache-2.0

package trailtest

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/trailaudit/trail/internal/logstore"
)

// FilesHolding lists the files under dir whose bytes contain v, as they
// are or inside any zstd frame they hold (the log engine's pages, with
// its page dictionaries).
func FilesHolding(t testing.TB, dir, v string) []string {
	t.Helper()
	return FilesHoldingBytes(t, dir, []byte(v))
}

// FilesHoldingBytes is FilesHolding for any bytes.
func FilesHoldingBytes(t testing.TB, dir string, v []byte) []string {
	t.Helper()
	var out []string
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderDicts(logstore.PageDicts()...))
	defer dec.Close()
	magic := []byte{0x28, 0xb5, 0x2f, 0xfd}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found := bytes.Contains(b, v)
		for i := 0; !found; i++ {
			k := bytes.Index(b[i:], magic)
			if k < 0 {
				break
			}
			i += k
			if err := dec.Reset(bytes.NewReader(b[i:])); err == nil {
				plain, _ := io.ReadAll(io.LimitReader(dec, 16<<20))
				found = bytes.Contains(plain, v)
			}
		}
		if found {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
