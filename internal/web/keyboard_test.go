// SPDX-License-Identifier: Apache-2.0

package web_test

// The keyboard-only test: Tab alone, from the search box, reaches every
// control of the page in reading order, and every stop shows a focus ring
// that the computed style says is there and a screenshot shows.

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// keyOfJS names an element the way the test lists tab stops: its id, else
// its tag and classes, prefixed with its row's id inside the table.
const keyOfJS = `const keyOf = el => {
	if (!el || el === document.body) return "body";
	if (el.id) return el.id;
	if (el.matches("#chart a")) return "bar " + [...el.parentNode.children].indexOf(el);
	if (el.matches(".presets a")) return "preset " + el.textContent.trim();
	const cls = el.getAttribute("class") || "";
	const key = el.tagName.toLowerCase() + (cls ? "." + cls.trim().split(/\s+/).join(".") : "");
	const tb = el.closest("tbody.event");
	return tb ? tb.id + " " + key : key;
};`

// focused is the element that has the focus and its focus ring.
type focused struct {
	Key          string
	FocusVisible bool    // it matches :focus-visible
	Ring         string  // outline-style, or "stroke" for a chart bar's hit area
	Width        float64 // of the outline or stroke, px
	Contrast     float64 // of the ring's colour against the page background
}

const focusedJS = `(() => {` + keyOfJS + `
	const el = document.activeElement;
	if (!el || el === document.body) return {Key: "body"};
	let cs = getComputedStyle(el);
	let ring = cs.outlineStyle, width = parseFloat(cs.outlineWidth) || 0, color = cs.outlineColor;
	if (el.matches("#chart a")) {
		cs = getComputedStyle(el.querySelector(".hit"));
		ring = cs.stroke === "none" ? "none" : "stroke";
		width = parseFloat(cs.strokeWidth) || 0;
		color = cs.stroke;
	}
	const lum = c => {
		const [r, g, b] = (c.match(/[\d.]+/g) || [0, 0, 0]).slice(0, 3).map(v => {
			v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
		return 0.2126 * r + 0.7152 * g + 0.0722 * b;
	};
	const [hi, lo] = [lum(color), lum(getComputedStyle(document.body).backgroundColor)].sort((a, b) => b - a);
	return {Key: keyOf(el), FocusVisible: el.matches(":focus-visible"), Ring: ring, Width: width, Contrast: (hi + 0.05) / (lo + 0.05)};
})()`

// tabWalk presses Tab until the focus comes back to where it started, or
// max times, and returns the stops in order. at runs at each stop; it may
// press keys itself (Enter to open an event's details).
func (tb *tab) tabWalk(max int, at func(f focused)) []focused {
	tb.t.Helper()
	var start focused
	tb.eval(focusedJS, &start)
	var seen []focused
	for range max {
		var f focused
		tb.run(chromedp.KeyEvent("\t"))
		tb.eval(focusedJS, &f)
		if f.Key == start.Key {
			return seen
		}
		seen = append(seen, f)
		if at != nil {
			at(f)
		}
	}
	tb.t.Fatalf("after %d Tabs the focus never came back to %s", max, start.Key)
	return nil
}

// keysOf returns the keys of the elements sel selects, in document order.
func (tb *tab) keysOf(sel string) []string {
	tb.t.Helper()
	var keys []string
	tb.eval(fmt.Sprintf(`(() => {`+keyOfJS+` return [...document.querySelectorAll(%q)].map(keyOf); })()`, sel), &keys)
	return keys
}

func TestBrowserKeyboard(t *testing.T) {
	tb := newTab(t)
	e := newEnv(t)
	id, name := loadDemo(t, e)
	tb.openLink(e.mint("acme", id, name))
	// An older page of a filtered view has every control: Clear, Newer,
	// Newest and Older among them.
	u := e.URL + pageOf + "?before=300&to=" + time.Now().UTC().Format(time.DateOnly)
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			tb := &tab{t: t, ctx: tb.ctx}
			tb.navigate(u)
			tb.setMode(viewMode{scheme, 1280, 900, scheme})
			defer tb.resetMode()
			tb.run(chromedp.Focus("#q", chromedp.ByQuery))
			firstRow := tb.keysOf("#events a.type-link")[0]
			var opened string
			seen := tb.tabWalk(500, func(f focused) {
				if f.Key == firstRow && opened == "" {
					// Enter opens the details in place; Tab goes on into them.
					tb.run(chromedp.KeyEvent("\r"))
					opened = f.Key
				}
			})
			checkTabStops(t, tb, seen)
			if t.Failed() {
				return
			}
			checkChartKeys(t, tb, scheme)
			checkRingsShow(t, tb, scheme)
		})
	}
}

// checkTabStops checks that the Tab walk reached every control, in
// reading order, each with a focus ring.
func checkTabStops(t *testing.T, tb *tab, seen []focused) {
	t.Helper()
	var keys []string
	for _, f := range seen {
		keys = append(keys, f.Key)
		if f.Key == "body" {
			continue // past the footer, the focus leaves the page once
		}
		if f.Ring == "none" || f.Width < 2 || f.Contrast < 3 {
			t.Errorf("%s has no visible focus ring: %+v", f.Key, f)
		}
	}
	t.Logf("%d tab stops: %s", len(keys), strings.Join(keys, " | "))
	rows := tb.keysOf("#events a.type-link")
	details := tb.keysOf("#events tr.detail.open pre, #events tr.detail.open a")
	groups := []struct {
		what string
		keys []string
	}{
		{"search", []string{"summary"}},
		{"filters", append([]string{"category", "type", "actor", "country", "from", "to", "apply", "clear"}, tb.keysOf(".presets a")...)},
		{"view download", []string{"export-format", "download-view"}},
		{"rows", rows[:1]},
		{"details", details},
		{"rows", rows[1:]},
		{"paging", []string{"newer", "newest", "older"}},
		{"header", []string{"logout", "streaming-link", "download-json"}},
		{"chart", tb.keysOf("#chart a.bar:last-of-type")},
	}
	bars := 0
	for _, k := range keys {
		if strings.HasPrefix(k, "bar ") {
			bars++
		}
	}
	if bars != 1 {
		t.Errorf("the chart takes %d tab stops, want 1 (its days are a toolbar: the arrow keys move)", bars)
	}
	if len(details) != 3 {
		t.Errorf("open details have tab stops %q, want the JSON, the link and Close", details)
	}
	last := -1
	for _, g := range groups {
		for _, k := range g.keys {
			i := slices.Index(keys, k)
			switch {
			case i < 0:
				t.Errorf("%s: Tab never reaches %s", g.what, k)
			case i < last:
				t.Errorf("%s: Tab reaches %s before %s, out of reading order", g.what, k, keys[last])
			default:
				last = i
			}
		}
	}
}

// checkChartKeys checks that the arrow keys, Home and End move between
// the chart's days, and that the focused day's counts show under it.
func checkChartKeys(t *testing.T, tb *tab, scheme string) {
	t.Helper()
	bars := tb.keysOf("#chart a.bar")
	tb.run(chromedp.Focus("#chart a.bar:last-of-type", chromedp.ByQuery))
	for _, k := range []struct {
		key, want string
	}{{"ArrowLeft", bars[len(bars)-2]}, {"ArrowLeft", bars[len(bars)-3]}, {"ArrowRight", bars[len(bars)-2]}, {"Home", bars[0]}, {"ArrowLeft", bars[0]}, {"End", bars[len(bars)-1]}} {
		tb.run(chromedp.KeyEvent(map[string]string{"ArrowLeft": kb.ArrowLeft, "ArrowRight": kb.ArrowRight, "Home": kb.Home, "End": kb.End}[k.key]))
		var f focused
		tb.eval(focusedJS, &f)
		if f.Key != k.want {
			t.Errorf("%s in the chart: focus on %s, want %s", k.key, f.Key, k.want)
		}
		var readout, title string
		var stops int
		tb.eval(`document.getElementById("chart-focus").textContent`, &readout)
		tb.eval(`document.activeElement.querySelector("title").textContent.split("\n")[0]`, &title)
		tb.eval(`document.querySelectorAll("#chart a.bar[tabindex='0']").length`, &stops)
		if !strings.HasPrefix(readout, title) || !strings.Contains(readout, "event") {
			t.Errorf("%s in the chart: the readout says %q, want the day's counts %q…", k.key, readout, title)
		}
		if stops != 1 {
			t.Errorf("%s in the chart: %d days are tab stops, want 1", k.key, stops)
		}
	}
	var shot []byte
	tb.run(chromedp.Evaluate(`document.getElementById("chart").scrollIntoView({block: "center"})`, nil), chromedp.CaptureScreenshot(&shot))
	if err := os.WriteFile(filepath.Join(artifactsDir(t), "keyboard-chart-"+scheme+".png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkRingsShow focuses a sample of controls and checks in screenshots
// that the ring is painted: the pixels around each control change, and
// some take the focus colour. The shots go to the artifacts directory.
func checkRingsShow(t *testing.T, tb *tab, scheme string) {
	t.Helper()
	ring := map[string][3]int{"light": {0x3b, 0x82, 0xf6}, "dark": {0x60, 0xa5, 0xfa}}[scheme]
	dir := artifactsDir(t)
	for _, sel := range []string{"#category", "#from", ".presets a", "#events a.type-link", "#older", "#download-view", "#download-json", "#chart a.bar:last-of-type"} {
		var r struct{ X, Y, W, H float64 }
		tb.eval(fmt.Sprintf(`(() => { document.activeElement.blur(); const el = document.querySelector(%q);
			el.scrollIntoView({block: "center"}); const b = el.getBoundingClientRect();
			return {X: b.x + scrollX - 6, Y: b.y + scrollY - 6, W: b.width + 12, H: b.height + 12}; })()`, sel), &r)
		clip := &page.Viewport{X: r.X, Y: r.Y, Width: r.W, Height: r.H, Scale: 1}
		var before, after []byte
		tb.painted() // the blur and the scroll, not an older frame
		tb.run(chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			before, err = page.CaptureScreenshot().WithClip(clip).WithCaptureBeyondViewport(true).Do(ctx)
			return err
		}))
		var visible bool
		tb.eval(fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.focus(); return el.matches(":focus-visible"); })()`, sel), &visible)
		if !visible {
			t.Errorf("%s: focused after keyboard use, it does not match :focus-visible", sel)
		}
		tb.painted() // the ring
		tb.run(chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			after, err = page.CaptureScreenshot().WithClip(clip).WithCaptureBeyondViewport(true).Do(ctx)
			return err
		}))
		name := "focus-" + scheme + "-" + strings.Trim(strings.NewReplacer("#", "", ".", "-", " ", "-", ":", "-", "(", "", ")", "").Replace(sel), "-") + ".png"
		if err := os.WriteFile(filepath.Join(dir, name), after, 0o644); err != nil {
			t.Fatal(err)
		}
		changed, ringColoured := comparePNG(t, before, after, ring)
		perimeter := int(r.W + r.H)
		if changed < perimeter || ringColoured < perimeter/2 {
			t.Errorf("%s (%s): focusing it changed %d pixels, %d of the ring's colour; want a ring, at least %d and %d (see %s)",
				sel, scheme, changed, ringColoured, perimeter, perimeter/2, name)
		}
	}
}

// comparePNG counts the pixels that differ between two same-sized shots,
// and how many of those took a colour near c.
func comparePNG(t *testing.T, a, b []byte, c [3]int) (changed, coloured int) {
	t.Helper()
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if ia.Bounds() != ib.Bounds() {
		t.Fatalf("screenshots of %v and %v", ia.Bounds(), ib.Bounds())
	}
	near := func(x, y int) bool {
		r, g, bl, _ := ib.At(x, y).RGBA()
		d := abs(int(r>>8)-c[0]) + abs(int(g>>8)-c[1]) + abs(int(bl>>8)-c[2])
		return d < 60
	}
	bounds := ib.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			if ia.At(x, y) == ib.At(x, y) {
				continue
			}
			changed++
			if near(x, y) {
				coloured++
			}
		}
	}
	return changed, coloured
}

func abs(n int) int { return max(n, -n) }
