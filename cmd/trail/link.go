// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/trailaudit/trail/internal/audit"
	"github.com/trailaudit/trail/internal/demo"
)

// viewerFlags configure viewer links and page sessions.
type viewerFlags struct {
	publicURL  string
	linkTTL    time.Duration
	sessionTTL time.Duration
	tls        bool // serve speaks TLS: the default URL is https, an http one is refused
}

// registerLink registers the flags that minting a link needs.
func (v *viewerFlags) registerLink(fs *flag.FlagSet) {
	fs.StringVar(&v.publicURL, "public-url", env("TRAIL_PUBLIC_URL", ""), "the base `URL` people reach Trail at, e.g. https://audit.example.com; viewer links are built from it, never from a request (env TRAIL_PUBLIC_URL; default http:// and the listen address, https:// with TLS)")
	fs.DurationVar(&v.linkTTL, "link-ttl", audit.DefaultLinkTTL, "how long a viewer link stays valid (it works once)")
}

// register registers every viewer flag of trail serve.
func (v *viewerFlags) register(fs *flag.FlagSet) {
	v.registerLink(fs)
	fs.DurationVar(&v.sessionTTL, "session-ttl", audit.DefaultSessionTTL, "how long a page session lasts after its link is opened")
}

// viewers checks the flags and returns the Viewers they describe; addr,
// the listen address, gives the default public URL.
func (v *viewerFlags) viewers(store audit.ViewerStore, addr net.Addr) (*audit.Viewers, error) {
	if v.linkTTL <= 0 || v.sessionTTL < 0 {
		return nil, usagef("--link-ttl and --session-ttl must be positive durations")
	}
	public := v.publicURL
	if public == "" && addr != nil {
		public = defaultPublicURL(addr.String())
		if v.tls {
			public = "https://" + strings.TrimPrefix(public, "http://")
		}
	}
	if err := checkPublicURL(public); err != nil {
		return nil, err
	}
	if v.tls && !strings.HasPrefix(public, "https://") {
		return nil, usagef("--public-url %q: with --tls-cert Trail serves https, so the public URL must be https:// (page cookies are then Secure)", public)
	}
	return audit.NewViewers(store, audit.ViewerConfig{PublicURL: public, LinkTTL: v.linkTTL, SessionTTL: v.sessionTTL}), nil
}

// defaultPublicURL is http:// and the listen address, with an unspecified
// host (0.0.0.0, ::, none) read as localhost.
func defaultPublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return usagef("--public-url %q must be an http or https URL with a host and no query, such as https://audit.example.com", s)
	}
	return nil
}

const linkUsage = "--org ORG --user ID [--name NAME] [--public-url URL] [--link-ttl DURATION] [--data DIR]"

// runLink mints a viewer link and prints it alone on stdout's first line,
// so that URL=$(trail link …) works; details go to stderr.
func runLink(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("link", linkUsage, stderr)
	org := fs.String("org", "", "the `org` whose audit-log page the link opens (required)")
	user := fs.String("user", "", "the platform's `id` of the admin who opens it (required)")
	name := fs.String("name", "", "the admin's display `name`; default the id")
	var vf viewerFlags
	vf.registerLink(fs)
	data, storeURL := dataFlag(fs), storeFlag(fs)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	switch {
	case *org == "" || *user == "":
		return usagef("--org and --user are required")
	case !audit.ValidOrg(*org):
		return usagef("--org %q is not a valid org identifier: 1 to 96 of A-Z a-z 0-9 _ - .", *org)
	case vf.publicURL == "":
		vf.publicURL = defaultPublicURL(env("TRAIL_ADDR", "127.0.0.1:8080"))
		if env("TRAIL_TLS_CERT", "") != "" { // the server speaks https: so do its links
			vf.publicURL = "https://" + strings.TrimPrefix(vf.publicURL, "http://")
		}
	}
	vf.sessionTTL = audit.DefaultSessionTTL
	store, err := openExisting(ctx, *data, *storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	viewers, err := vf.viewers(store, nil)
	if err != nil {
		return err
	}
	link, expires, err := viewers.Mint(ctx, *org, audit.Actor{ID: *user, Name: *name})
	if err != nil {
		return fmt.Errorf("%s", audit.ErrorMessage(err))
	}
	fmt.Fprintln(stdout, link)
	fmt.Fprintf(stderr, "viewer link for %s of %s: works once, until %s (%s); hand it to that admin only\n",
		*user, *org, expires.Format(time.RFC3339), vf.linkTTL)
	return nil
}

// printDemoLink prints a viewer link for the demo org's admin. It goes to
// stdout (the terminal), never to the log. The "fresh link" command it
// prints names the store (data, store as serve was given them), so that
// it works when pasted in any directory.
func printDemoLink(ctx context.Context, viewers *audit.Viewers, stdout io.Writer, data, store string) error {
	id, name := demo.Admin()
	link, expires, err := viewers.Mint(ctx, demoOrg, audit.Actor{ID: id, Name: name})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `Open %[1]s's audit logs as its admin %[2]s (the link works once, until %[3]s UTC):
  %[4]s
For a fresh link: trail link --org %[1]s --user %[5]s --name %[2]s --public-url %[6]s %[7]s

`, demoOrg, name, expires.UTC().Format("15:04"), link, id, viewers.PublicURL(), storeArgs(data, store))
	return nil
}

// storeArgs is the --data/--store part of a printed command line that
// names the same store from any directory. A PostgreSQL URL holding a
// password is not printed: the command reads it from TRAIL_STORE.
func storeArgs(data, store string) string {
	if abs, err := filepath.Abs(data); err == nil {
		data = abs
	}
	args := "--data " + shellQuote(data)
	switch {
	case store == "":
	case redactURL(store) != store:
		args += ` --store "$TRAIL_STORE"`
	default:
		args += " --store " + shellQuote(store)
	}
	return args
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:@+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
