// SPDX-License-Identifier: Apache-2.0

package logstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/trailaudit/trail/internal/sqlite"
)

// Backup writes a consistent copy of the store into the empty or absent
// directory dest, while this process or another appends and seals. The
// order makes the copy consistent without stopping anyone: first the log
// segments (every event acknowledged by then and not sealed is in them),
// then a snapshot of the catalog (SQLite VACUUM INTO), then the block
// files, which only grow, so they hold every block the snapshot lists.
// A record the owner was writing is torn in the copy and dropped when the
// copy is opened; events the snapshot lists as sealed are skipped in the
// copied log. dest opens with Open like any data directory.
func (s *Store) Backup(ctx context.Context, dest string) error {
	// Blocks pruned or rewritten from now on keep their bytes until the
	// copy is done (reclaim.go): the catalog's snapshot may list them.
	defer s.unpinEpoch(s.pinEpoch())
	for _, d := range []string{dest, filepath.Join(dest, "wal"), filepath.Join(dest, "blocks")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("logstore: backup: %w", err)
		}
	}
	if err := copyDir(filepath.Join(s.dir, "wal"), filepath.Join(dest, "wal"), ".log"); err != nil {
		return err
	}
	if _, err := s.cat.w.ExecContext(ctx, `VACUUM INTO ?`, filepath.Join(dest, CatalogFile)); err != nil {
		return sqlite.StoreErr("backup: copying the catalog", err)
	}
	if err := copyDir(filepath.Join(s.dir, "blocks"), filepath.Join(dest, "blocks"), ".blk"); err != nil {
		return err
	}
	for _, d := range []string{filepath.Join(dest, "wal"), filepath.Join(dest, "blocks"), dest} {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// copyDir copies the files of src ending in ext, skipping files removed
// meanwhile (a log segment sealed and removed: its events are in blocks).
func copyDir(src, dst, ext string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("logstore: backup: %w", err)
	}
	for _, e := range ents {
		if filepath.Ext(e.Name()) != ext {
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fmt.Errorf("logstore: backup: %w", err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	return errors.Join(err, out.Close())
}
