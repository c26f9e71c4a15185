// SPDX-License-Identifier: Apache-2.0

package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// spendLink opens link as a browser would (GET, then the confirmation's
// same-origin POST) and returns the audit-log page it leads to.
func spendLink(t *testing.T, link string) (status int, page string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", link, resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", link, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = c.Do(req) // follows the redirect to the page, with the cookie
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLinkCLI mints a link with `trail link` while a server runs on the
// same data: the link is on stdout's first line, built from
// --public-url, and the server (another process) accepts it once.
func TestLinkCLI(t *testing.T) {
	bin := trailBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	s := serveOn(t, bin, data)
	res := mustRun(t, bin, nil, "link", "--org", "acme", "--user", "u_ada", "--name", "Ada", "--data", data, "--public-url", s.Base+"/")
	lines := strings.Split(res.stdout, "\n")
	link := lines[0]
	if !strings.HasPrefix(link, s.Base+"/link/tv_") || len(lines) != 2 || lines[1] != "" {
		t.Fatalf("stdout %q, want the link alone on its first line", res.stdout)
	}
	if !strings.Contains(res.stderr, "works once") || strings.Contains(res.stderr, link) {
		t.Errorf("stderr %q, want details without the link", res.stderr)
	}
	status, page := spendLink(t, link)
	if status != 200 || !strings.Contains(page, "Audit logs") || !strings.Contains(page, "Ada") {
		t.Fatalf("the page after the link: %d", status)
	}
	if strings.Contains(s.Logs(), strings.TrimPrefix(link, s.Base+"/link/")) {
		t.Errorf("the server logged the link's token")
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Errorf("GET of a spent link: %d, want 410", resp.StatusCode)
	}

	for _, args := range [][]string{
		{"link", "--org", "acme"},
		{"link", "--user", "u1"},
		{"link", "--org", "bad org", "--user", "u1"},
		{"link", "--org", "acme", "--user", "u1", "--public-url", "ftp://x"},
		{"link", "--org", "acme", "--user", "u1", "--public-url", "http://x/?a=b"},
	} {
		if res := runTrail(t, bin, nil, append(args, "--data", data)...); res.code != 2 || res.stdout != "" {
			t.Errorf("trail %s: exit %d, stdout %q; want 2 and nothing", strings.Join(args, " "), res.code, res.stdout)
		}
	}
}

var demoLink = regexp.MustCompile(`(?m)^\s+(http://\S+/link/tv_\S+)$`)

// TestServeDemoPrintsLink checks that `serve --demo` prints a viewer link
// for the demo admin to stdout, not to the log, and that it opens acme's
// page.
func TestServeDemoPrintsLink(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 24,000 demo events; skipped with -short")
	}
	bin := trailBinary(t)
	p, base, _, _ := startDemo(t, bin, t.TempDir())
	defer p.terminate(t)
	m := demoLink.FindStringSubmatch(p.stdout.String())
	if m == nil || !strings.HasPrefix(m[1], base+"/link/") {
		t.Fatalf("serve --demo printed no viewer link on %s:\n%s", base, p.stdout)
	}
	if strings.Contains(p.stderr.String(), "/link/tv_") {
		t.Errorf("the link is in the log")
	}
	status, page := spendLink(t, m[1])
	if status != 200 || !strings.Contains(page, "acme") || !strings.Contains(page, "alice") {
		t.Errorf("the demo link: %d", status)
	}
}
