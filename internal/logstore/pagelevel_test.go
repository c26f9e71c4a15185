// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestPageLevels: pages sealed at either level (Options.PageLevel) are
// read back by a store of the other, in one directory, and `better`
// gives the smaller blocks.
func TestPageLevels(t *testing.T) {
	ctx := context.Background()
	seal := func(dir string, level PageLevel, acked map[string][][]byte, from int) {
		t.Helper()
		opts := many
		opts.PageLevel = level
		s, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		for org, more := range fill(t, s, []string{"acme", "beta"}, from, 500) {
			acked[org] = append(acked[org], more...)
		}
		if err := s.Seal(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	blockBytes := func(dir string) int64 {
		var n int64
		ents, _ := os.ReadDir(filepath.Join(dir, "blocks"))
		for _, e := range ents {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	size := map[PageLevel]int64{}
	for _, level := range []PageLevel{PageLevelDefault, PageLevelBetter} {
		dir := t.TempDir()
		seal(dir, level, map[string][][]byte{}, 0)
		size[level] = blockBytes(dir)
	}
	if size[PageLevelBetter] >= size[PageLevelDefault] || size[PageLevelBetter] == 0 {
		t.Errorf("blocks of the same events: %d bytes at better, %d at default; want better smaller", size[PageLevelBetter], size[PageLevelDefault])
	}

	dir := t.TempDir()
	acked := map[string][][]byte{}
	seal(dir, PageLevelBetter, acked, 0)
	seal(dir, PageLevelDefault, acked, 500)
	reopen(t, dir, acked, 0) // both levels' blocks: every event, retry and tree hash
}
