// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
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
	"github.com/trailaudit/trail/internal/query"
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
// (dir), writing to stdout or x.out. It behaves as an export by the CLI
// itself: the search string is checked first (a usage error), the output
// is opened before anything is recorded, and the summary says how many
// events of which log size were exported.
func exportThroughServer(ctx context.Context, ls *logstore.Store, dir string, x serverExport, stdout, stderr io.Writer) error {
	// The syntax here; types and categories against the server's catalog.
	if _, err := query.Parse(x.q, query.Options{}); err != nil {
		return usagef("--q: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, serverURLFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the log directory %s is in use by another trail process that gives no URL (%s is missing): use its HTTP API, or stop it", dir, serverURLFile)
	} else if err != nil {
		return err
	}
	base := strings.TrimSpace(string(raw))
	w, closeOut, err := output(x.out, stdout)
	if err != nil {
		return err // before anything is recorded
	}
	id, secret := audit.NewKeySecret()
	now := time.Now()
	k := audit.Key{ID: id, Name: "trail export (CLI, temporary)", Scope: audit.ScopeRead, Org: x.org,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := ls.CreateKey(ctx, k, audit.HashSecret(secret)); err != nil {
		closeOut(false)
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
	resp, err := serverGet(ctx, base, "/api/v1/orgs/"+url.PathEscape(x.org)+"/export?"+v.Encode(), secret)
	if err != nil {
		closeOut(false)
		return err
	}
	defer resp.Body.Close()
	counter := newEventCounter(x.format, x.integrity)
	n, err := io.Copy(io.MultiWriter(w, counter), resp.Body)
	if cerr := closeOut(err == nil); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export through the running server failed after %d bytes%s: %w", n, removed(x.out), err)
	}
	size, err := recordedSize(ctx, base, x.org, id, secret)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %d events of %s (log size %d) as %s%s, through the running server at %s\n",
		counter.count(), x.org, size, x.format, dest(x.out), base)
	return nil
}

// serverGet sends an authenticated GET to the running server; an answer
// other than 200 is an error with the server's message (a 400, a problem
// with the request, is a usage error).
func serverGet(ctx context.Context, base, path, secret string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("exporting through the running server at %s: %w", base, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var e struct{ Error struct{ Message string } }
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Message
	}
	if resp.StatusCode == http.StatusBadRequest {
		return nil, usagef("%s", msg)
	}
	return nil, fmt.Errorf("exporting through the running server at %s: %s: %s", base, resp.Status, msg)
}

// recordedSize reads the log size of the export the server recorded for
// the key id (its org.audit_log.export event).
func recordedSize(ctx context.Context, base, org, id, secret string) (int64, error) {
	q := url.Values{"q": {"type:org.audit_log.export actor:" + id}, "limit": {"1"}}
	resp, err := serverGet(ctx, base, "/api/v1/orgs/"+url.PathEscape(org)+"/events?"+q.Encode(), secret)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var page struct {
		Events []struct {
			Metadata struct{ Size int64 }
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || len(page.Events) != 1 {
		return 0, fmt.Errorf("reading the export recorded by the running server at %s: %v", base, err)
	}
	return page.Events[0].Metadata.Size, nil
}

// eventCounter counts the events of an export stream that passes through
// it, in any format.
type eventCounter interface {
	io.Writer
	count() int64
}

func newEventCounter(format string, integrity bool) eventCounter {
	switch format {
	case "json":
		return &jsonCounter{}
	case "csv":
		return newCSVCounter()
	}
	c := &lineCounter{}
	if integrity {
		c.n = -1 // the integrity line
	}
	return c
}

// lineCounter counts NDJSON lines.
type lineCounter struct{ n int64 }

func (c *lineCounter) Write(b []byte) (int, error) {
	c.n += int64(bytes.Count(b, []byte{'\n'}))
	return len(b), nil
}

func (c *lineCounter) count() int64 { return c.n }

// jsonCounter reads the count of a JSON export document: the number after
// its last `],"count":` (an event can hold that text only inside its own
// object, before the document's).
type jsonCounter struct {
	i         int // bytes of the pattern matched
	inNum     bool
	cur, last int64
}

func (c *jsonCounter) Write(b []byte) (int, error) {
	const pat = `],"count":`
	for _, ch := range b {
		if c.inNum {
			if ch >= '0' && ch <= '9' {
				c.cur = c.cur*10 + int64(ch-'0')
				continue
			}
			c.inNum, c.last = false, c.cur
		}
		switch {
		case ch == pat[c.i]:
			if c.i++; c.i == len(pat) {
				c.i, c.inNum, c.cur = 0, true, 0
			}
		case ch == pat[0]:
			c.i = 1
		default:
			c.i = 0
		}
	}
	return len(b), nil
}

func (c *jsonCounter) count() int64 { return c.last }

// csvCounter counts CSV records (quoted fields may hold newlines) with a
// CSV reader on a pipe.
type csvCounter struct {
	w    *io.PipeWriter
	done chan int64
}

func newCSVCounter() *csvCounter {
	r, w := io.Pipe()
	c := &csvCounter{w: w, done: make(chan int64, 1)}
	go func() {
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		var n int64
		for {
			if _, err := cr.Read(); err != nil {
				break
			}
			n++
		}
		io.Copy(io.Discard, r)
		c.done <- max(n-1, 0) // the header
	}()
	return c
}

func (c *csvCounter) Write(b []byte) (int, error) { return c.w.Write(b) }

func (c *csvCounter) count() int64 {
	c.w.Close()
	return <-c.done
}
