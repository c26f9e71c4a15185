// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
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

// TestPageFrames: at the default level a block's pages of plainFrom
// bytes or more are zstd frames without a dictionary and its smaller
// pages name the page dictionary; at better every page names it; every
// frame decodes to its page's events, with their seqs.
func TestPageFrames(t *testing.T) {
	events := sealEvents(t, "acme", 300) // pages of 128, 128 and 44 events
	for _, c := range []struct {
		level PageLevel
		dict  func(content int) bool // whether a page of content bytes names the dictionary
	}{
		{PageLevelDefault, func(n int) bool { return n < plainFrom }},
		{PageLevelBetter, func(int) bool { return true }},
		{PageLevelFast, func(int) bool { return true }},
	} {
		data, h, err := buildBlockOf(blockVersion, 0, events, 128, c.level.encoder())
		if err != nil {
			t.Fatal(err)
		}
		var plain, dict int
		for i, p := range h.pages {
			comp := data[p.off : p.off+p.size]
			var fh zstd.Header
			if err := fh.Decode(comp); err != nil {
				t.Fatal(err)
			}
			content, err := pageContent(comp, &p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := c.dict(len(content)); (fh.DictionaryID == pageDictID) != want || !want && fh.DictionaryID != 0 {
				t.Errorf("level %d, page %d (%d bytes): dictionary %#x, want the page dictionary: %v", c.level, i, len(content), fh.DictionaryID, want)
			}
			if fh.DictionaryID == 0 {
				plain++
			} else {
				dict++
			}
			got, _, err := decodePage(comp, h.version, &p, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, e := range got {
				if want := events[int(p.first)+k].data; !bytes.Equal(e, want) {
					t.Fatalf("level %d, page %d, event %d: %s, want %s", c.level, i, k, e, want)
				}
			}
		}
		if c.level == PageLevelDefault && (plain != 2 || dict != 1) {
			t.Errorf("default level: %d pages without the dictionary and %d with it, want 2 and 1", plain, dict)
		}
	}
}
