// SPDX-License-Identifier: Apache-2.0

package main

// The log engine is the embedded default. A data directory written by an
// earlier version holds the SQLite engine's trail.db (schema version 1);
// the first command that opens it with the default store (normally the
// first start of trail serve) converts it in place: the log engine's files
// are written beside trail.db, which is only read; every org's root is
// compared with the source's tree and its signed checkpoint; and only then
// is the file CONVERTED written, which switches the directory to the log
// engine. Until it exists, trail.db is the directory's store: a conversion
// that fails or is killed leaves it as it was and is resumed (or, if what
// was copied does not match, refused) by the next start.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/sqlite"
)

// convertedFile, in a data directory, says that its SQLite data was
// converted to the log engine: trail.db is no longer read or written.
const convertedFile = "CONVERTED"

// needsConversion reports whether dir holds SQLite data (trail.db) not yet
// converted to the log engine.
func needsConversion(dir string) (bool, error) {
	if ok, err := exists(filepath.Join(dir, sqlite.FileName)); !ok || err != nil {
		return false, err
	}
	ok, err := exists(filepath.Join(dir, convertedFile))
	return !ok && err == nil, err
}

func exists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// openLog opens the log engine in dir, converting the SQLite data it
// holds first. The conversion runs under the log's lock: if another
// process holds it before the conversion is done, that process is
// converting, and this one stops with a message saying so.
func openLog(ctx context.Context, dir string, opts logstore.Options, log *slog.Logger) (*logstore.Store, error) {
	need, err := needsConversion(dir)
	if err != nil {
		return nil, err
	}
	if !need {
		if err := requireCatalogIfConverted(dir); err != nil {
			return nil, err
		}
		return logstore.Open(dir, opts)
	}
	ls, err := logstore.Open(dir, opts)
	if err != nil {
		return nil, conversionFailed(dir, err)
	}
	// Under the lock, look again: another process may have finished
	// converting between the first look and the lock.
	if need, err = needsConversion(dir); err != nil || !need || ls.Reader() {
		ls.Close()
		switch {
		case err != nil:
			return nil, err
		case !need:
			return logstore.Open(dir, opts)
		}
		return nil, fmt.Errorf("%s is being converted from the SQLite engine to the log engine by another trail process (the first start of trail serve after an upgrade, or trail migrate-store): wait until it has finished (it logs \"converted\"), then run this again", dir)
	}
	if err := convertInPlace(ctx, dir, ls, log); err != nil {
		ls.Close()
		return nil, conversionFailed(dir, err)
	}
	return ls, nil
}

// conversionFailed says what a failed conversion left.
func conversionFailed(dir string, err error) error {
	return fmt.Errorf("converting the SQLite data in %s to the log engine: %w\n"+
		"Nothing was switched and %s is untouched: fix the cause and start again (the conversion resumes where it stopped), "+
		"or keep serving the old engine with --store sqlite:%s (docs/storage.md, \"Converting a SQLite data directory\")",
		dir, err, filepath.Join(dir, sqlite.FileName), dir)
}

// convertInPlace copies the SQLite data in dir into ls (the log engine in
// the same directory, owned by this process), then writes the marker.
func convertInPlace(ctx context.Context, dir string, ls *logstore.Store, log *slog.Logger) error {
	start := time.Now()
	log.Info("converting the SQLite data directory to the log engine; trail.db is only read", "path", dir)
	sum, err := copyStore(ctx, dir, logTarget{ls}, logLines{log})
	if err != nil {
		return err
	}
	note := fmt.Sprintf("This data directory was converted from the SQLite engine (%s, schema version 1) to the log engine\n"+
		"by trail %s on %s: %d orgs, %d events, %d API keys, %d viewer links, sessions and streams.\n"+
		"Every org's tree root matched the source's tree and its latest signed checkpoint.\n\n"+
		"From then on the log engine (catalog.db, wal/, blocks/) is this directory's store: %s,\n"+
		"with its -wal and -shm files, is no longer read or written. It is the data as it was before\n"+
		"the conversion; keep it as long as you want that copy, then remove it. Do not remove this file.\n",
		sqlite.FileName, version, time.Now().UTC().Format(time.RFC3339), sum.orgs, sum.events, sum.keys, sum.viewer, sqlite.FileName)
	if err := writeDurably(filepath.Join(dir, convertedFile), note); err != nil {
		return fmt.Errorf("writing %s: %w", convertedFile, err)
	}
	log.Info("converted", "path", dir, "orgs", sum.orgs, "events", sum.events, "keys", sum.keys,
		"viewer", sum.viewer, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// logLines writes each line written to it (the copy's report: progress,
// and each org done) as an info line of log.
type logLines struct{ log *slog.Logger }

func (l logLines) Write(p []byte) (int, error) {
	l.log.Info("converting", "progress", string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

// writeDurably writes path through a synced temporary file, renamed into
// place, and syncs the directory: after a crash the file is either absent
// or complete.
func writeDurably(path, content string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.WriteString(f, content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// requireCatalogIfConverted refuses a converted directory whose log
// engine is gone: opening it would start an empty log beside the old
// trail.db.
func requireCatalogIfConverted(dir string) error {
	converted, err := exists(filepath.Join(dir, convertedFile))
	if err != nil || !converted {
		return err
	}
	if ok, err := exists(filepath.Join(dir, logstore.CatalogFile)); ok || err != nil {
		return err
	}
	return fmt.Errorf("%s was converted to the log engine (%s) but its catalog %s is missing: restore the directory from a backup (trail.db there is the data from before the conversion, not today's)",
		dir, convertedFile, logstore.CatalogFile)
}

// refuseConverted refuses to open as SQLite a directory converted to the
// log engine: its trail.db is the data as it was before the conversion.
func refuseConverted(dir string) error {
	if ok, err := exists(filepath.Join(dir, convertedFile)); !ok || err != nil {
		return err
	}
	return usagef("%s was converted to the log engine (see %s there): its %s is the data as it was before the conversion and is no longer updated; "+
		"serve it without --store sqlite: (the log engine), or copy %s into another directory to read the old data with --store sqlite:OTHER",
		dir, convertedFile, sqlite.FileName, sqlite.FileName)
}

// convertCommand is trail migrate-store --data DIR: the conversion the
// first start of trail serve does, alone.
func convertCommand(ctx context.Context, dir string, stderr io.Writer) error {
	need, err := needsConversion(dir)
	if err != nil {
		return err
	}
	if !need {
		if ok, _ := exists(filepath.Join(dir, convertedFile)); ok {
			fmt.Fprintf(stderr, "%s is converted already (see %s there): nothing to do\n", dir, filepath.Join(dir, convertedFile))
			return nil
		}
		if ok, _ := exists(filepath.Join(dir, logstore.CatalogFile)); ok {
			fmt.Fprintf(stderr, "%s holds the log engine and no SQLite data: nothing to convert\n", dir)
			return nil
		}
		return usagef("no SQLite data (%s) in %s: check --data (env TRAIL_DATA)", sqlite.FileName, dir)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ls, err := openLog(ctx, dir, logstore.Options{}, log)
	if err != nil {
		return err
	}
	return ls.Close()
}
