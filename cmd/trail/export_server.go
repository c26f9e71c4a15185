// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/logstore"
)

// On the log engine only the process that owns the directory (trail
// serve) appends events, and an export records one
// (org.audit_log.export). So `trail export` beside a running server goes
// through that server's API: the server writes its URL into the log
// directory, and the CLI makes a read key for the one org that expires
// within the hour, downloads GET /api/v1/orgs/{org}/export with it, and
// revokes it. The server records the export (actor: that key) and signs
// it as for any API client.

// serverURLFile, in a log directory, holds the URL of the trail serve that
// owns it, while it runs.
const serverURLFile = "serve.url"

// announceURL writes base into the log directory that store owns, so that
// the CLI beside it can reach the server; the returned function removes
// it. Stores that are not an owned log directory are left alone.
func announceURL(store audit.Store, dir, base string) (func(), error) {
	ls, ok := store.(*logstore.Store)
	if !ok || ls.Reader() {
		return func() {}, nil
	}
	path := filepath.Join(dir, serverURLFile)
	if err := os.WriteFile(path, []byte(base+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("writing the server's URL for the CLI: %w", err)
	}
	return func() { os.Remove(path) }, nil
}

// serverExport is an export to run through the server owning a log
// directory.
type serverExport struct {
	org, format, q string
	integrity      bool
	out            string // "" or "-": stdout
}

// exportThroughServer runs x through the server that owns ls's directory
// (dir), writing to stdout or x.out.
func exportThroughServer(ctx context.Context, ls *logstore.Store, dir string, x serverExport, stdout, stderr io.Writer) error {
	raw, err := os.ReadFile(filepath.Join(dir, serverURLFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the log directory %s is in use by another trail process that gives no URL (%s is missing): use its HTTP API, or stop it", dir, serverURLFile)
	} else if err != nil {
		return err
	}
	base := strings.TrimSpace(string(raw))
	id, secret := audit.NewKeySecret()
	now := time.Now()
	k := audit.Key{ID: id, Name: "trail export (CLI, temporary)", Scope: audit.ScopeRead, Org: x.org,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := ls.CreateKey(ctx, k, audit.HashSecret(secret)); err != nil {
		return fmt.Errorf("making a temporary key for the export: %w", err)
	}
	defer ls.RevokeKey(context.WithoutCancel(ctx), id, time.Now())
	v := url.Values{"format": {x.format}}
	if x.q != "" {
		v.Set("q", x.q)
	}
	if x.integrity {
		v.Set("integrity", "true")
	}
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/orgs/"+url.PathEscape(x.org)+"/export?"+v.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("exporting through the running server at %s: %w", base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("exporting through the running server at %s: %s: %s", base, resp.Status, strings.TrimSpace(string(msg)))
	}
	w, closeOut, err := output(x.out, stdout)
	if err != nil {
		return err
	}
	n, err := io.Copy(w, resp.Body)
	if cerr := closeOut(err == nil); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export through the running server failed after %d bytes%s: %w", n, removed(x.out), err)
	}
	fmt.Fprintf(stderr, "exported %s as %s through the running server at %s (%d bytes)%s\n", x.org, x.format, base, n, dest(x.out))
	return nil
}
