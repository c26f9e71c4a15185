// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"compress/gzip"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestTimesInViewerZone: with the zone cookie app.js sets, the page shows
// times in the viewer's zone and says which; without it (or with a bogus
// one), in UTC.
func TestTimesInViewerZone(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", repoCreate("late", "alice", "llama", time.Date(2026, 1, 15, 23, 30, 0, 0, time.UTC)))
	c := e.login("acme", "u_admin", "admin")
	u, _ := url.Parse(e.URL)
	for _, tt := range []struct {
		cookie, want, footer string
	}{
		{"", "2026-01-15 23:30:00 UTC", "Times are in UTC"},
		{"Europe/Paris", "2026-01-16 00:30:00 CET, UTC+01:00", "Times are in Europe/Paris (filter dates and the chart: UTC days)"},
		{"Mars/Olympus", "2026-01-15 23:30:00 UTC", "Times are in UTC"},
	} {
		if tt.cookie != "" {
			c.Jar.SetCookies(u, []*http.Cookie{{Name: "trail_tz", Value: tt.cookie, Path: "/"}})
		}
		r, _ := e.page(c, "acme", "event=late")
		if body := html.UnescapeString(r.Body); r.Status != 200 || !strings.Contains(body, tt.want) || !strings.Contains(body, tt.footer) {
			t.Errorf("zone cookie %q: %d, want %q and %q in the page", tt.cookie, r.Status, tt.want, tt.footer)
		}
		if !strings.Contains(r.Body, `datetime="2026-01-15T23:30:00Z"`) {
			t.Errorf("zone cookie %q: the datetime attribute is not the stored UTC time", tt.cookie)
		}
	}
}

// TestBrowserShowsViewerZone: a browser in Paris sees Paris times after
// the page's one reload.
func TestBrowserShowsViewerZone(t *testing.T) {
	tb := newTab(t)
	e := newEnv(t)
	e.ingest("acme", repoCreate("late", "alice", "llama", time.Date(2026, 1, 15, 23, 30, 0, 0, time.UTC)))
	tb.run(emulation.SetTimezoneOverride("Europe/Paris"))
	tb.openLink(e.mint("acme", "u_admin", "admin"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		var footer string
		tb.eval(`document.querySelector("footer").textContent`, &footer)
		if strings.Contains(footer, "Times are in Europe/Paris") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the footer still says %q", footer)
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.run(chromedp.WaitReady("#events", chromedp.ByQuery))
	var title string
	tb.eval(`document.querySelector("#events time[datetime='2026-01-15T23:30:00Z']").getAttribute("title")`, &title)
	if title != "2026-01-16 00:30:00 CET, UTC+01:00" {
		t.Errorf("the event's time title is %q, want it in Paris time", title)
	}
	tb.clean()
}

// TestPagesCarryRequestIDAndGzip: pages carry X-Request-Id and are
// compressed for browsers that accept gzip.
func TestPagesCarryRequestIDAndGzip(t *testing.T) {
	e := newEnv(t)
	c := e.login("acme", "u_admin", "admin")
	req, _ := http.NewRequest("GET", e.URL+pageOf, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	u, _ := url.Parse(e.URL)
	for _, ck := range c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	zr, err := gzip.NewReader(resp.Body)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("page with Accept-Encoding: gzip: %d %q %v", resp.StatusCode, resp.Header.Get("Content-Encoding"), err)
	}
	body, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(body), "</html>") {
		t.Errorf("the compressed page does not decompress to a whole page: %v", err)
	}
	if len(resp.Header.Get("X-Request-Id")) != 32 {
		t.Errorf("X-Request-Id %q", resp.Header.Get("X-Request-Id"))
	}
}
