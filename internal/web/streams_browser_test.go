// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trailaudit/trail/internal/audit"
)

// hookReceiver is a webhook receiver on 127.0.0.1: it keeps each
// delivery's seq range and event count.
type hookReceiver struct {
	*httptest.Server
	mu         sync.Mutex
	deliveries []hookDelivery
}

type hookDelivery struct {
	FirstSeq int64             `json:"first_seq"`
	LastSeq  int64             `json:"last_seq"`
	Events   []json.RawMessage `json:"events"`
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d hookDelivery
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &d); err != nil || r.Header.Get("webhook-signature") == "" {
			http.Error(w, "not a signed delivery", http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.deliveries = append(rc.deliveries, d)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// highest returns the highest seq received (-1: none) and how many
// deliveries with events started at seq 0.
func (rc *hookReceiver) highest() (last int64, fromZero int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	last = -1
	for _, d := range rc.deliveries {
		if len(d.Events) == 0 {
			continue
		}
		last = max(last, d.LastSeq)
		if d.FirstSeq == 0 {
			fromZero++
		}
	}
	return last, fromZero
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// streamRow is what the page shows of the one destination listed.
type streamRow struct {
	State     string
	Delivered int64 // -1: nothing yet
	Lag       int64
}

func (tb *tab) streamRow() streamRow {
	tb.t.Helper()
	var raw struct{ State, Delivered, Lag string }
	tb.eval(`(() => { const li = document.querySelector("#stream-list li.stream");
		const ds = li.querySelector(".delivered-seq");
		return {State: li.querySelector(".state").dataset.state, Delivered: ds ? ds.textContent : "-1",
			Lag: li.querySelector(".lag-events").textContent}; })()`, &raw)
	d, _ := strconv.ParseInt(raw.Delivered, 10, 64)
	l, _ := strconv.ParseInt(raw.Lag, 10, 64)
	return streamRow{State: raw.State, Delivered: d, Lag: l}
}

// pressOn focuses the element sel and presses Enter: keyboard only.
func (tb *tab) pressOn(sel string) {
	tb.t.Helper()
	tb.run(chromedp.Focus(sel, chromedp.ByQuery), chromedp.KeyEvent("\r"))
}

// TestBrowserStreaming drives the Streaming page with the keyboard in
// Chromium: add a webhook to a receiver on 127.0.0.1 (the server allows
// private addresses, as --stream-allow-private does), see the events
// arrive and the state and lag change, pause, resume, test, replay,
// delete.
func TestBrowserStreaming(t *testing.T) {
	tb := newTab(t)
	e := newEnvWith(t, envOptions{deliver: true})
	rc := newHookReceiver(t)
	e.ingest("acme", changeRole("", "alice", "bob"), changeRole("", "alice", "carol"), changeRole("", "bob", "dave"))
	tb.openLink(e.mint("acme", "u_admin", "alice"))
	streamsURL := e.URL + streamsOf

	tb.pressOn("#streaming-link")
	tb.waitURL("/streams")
	tb.run(chromedp.WaitReady("#add-form", chromedp.ByQuery))
	if got := tb.text("#main h1"); got != "Streaming" {
		t.Fatalf("h1 = %q", got)
	}
	var shown []string
	tb.eval(`[...document.querySelectorAll("fieldset.kind-settings")].filter(f => !f.hidden).map(f => f.dataset.kind)`, &shown)
	if len(shown) != 1 || shown[0] != "webhook" {
		t.Errorf("settings shown for kinds %v, want webhook's alone", shown)
	}
	// Choosing another kind shows its settings instead.
	tb.run(chromedp.SetValue("#stream-kind", "s3", chromedp.ByQuery))
	tb.eval(`document.querySelector("#stream-kind").dispatchEvent(new Event("change")), [...document.querySelectorAll("fieldset.kind-settings")].filter(f => !f.hidden).map(f => f.dataset.kind)`, &shown)
	if len(shown) != 1 || shown[0] != "s3" {
		t.Errorf("after choosing s3, settings shown for %v", shown)
	}
	tb.run(chromedp.SetValue("#stream-kind", "webhook", chromedp.ByQuery))
	tb.eval(`document.querySelector("#stream-kind").dispatchEvent(new Event("change")), true`, nil)

	// Add, with the keyboard: type, then Enter.
	tb.run(
		chromedp.SendKeys("#stream-name", "Receiver", chromedp.ByQuery),
		chromedp.SendKeys("#s-webhook-url", rc.URL+"/trail", chromedp.ByQuery),
		chromedp.KeyEvent("\r"),
	)
	tb.run(chromedp.WaitReady("#reveal-value", chromedp.ByQuery))
	tb.waitURL("/streams") // loaded, the script run
	var secret, focused string
	tb.eval(`document.querySelector("#reveal-value").value`, &secret)
	tb.eval(`document.activeElement.id`, &focused)
	if !strings.HasPrefix(secret, "whsec_") || focused != "reveal-value" {
		t.Errorf("secret %q shown, focus on #%s; want a whsec_ secret, focused", secret, focused)
	}

	// Events arrive; the page shows the cursor move and the lag fall to 0.
	size := func() int64 {
		n, err := e.Store.Size(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor(t, "the events at the receiver and the page at lag 0", func() bool {
		tb.navigate(streamsURL)
		row := tb.streamRow()
		last, _ := rc.highest()
		return row.State == "active" && row.Lag == 0 && row.Delivered == last && last >= 3
	})
	t.Logf("delivered up to seq %d of %d", func() int64 { l, _ := rc.highest(); return l }(), size())
	for _, s := range []struct {
		name   string
		w, h   int64
		scheme string
	}{{"streams-desktop-light", 1280, 1400, "light"}, {"streams-desktop-dark", 1280, 1400, "dark"}, {"streams-phone-light", 390, 1600, "light"}} {
		tb.screenshot(s.name, s.w, s.h, s.scheme)
	}

	// Pause: the cursor holds while events come in, and the lag shows it.
	tb.pressOn("#stream-list button.pause")
	tb.waitURL("done=paused")
	if row := tb.streamRow(); row.State != "paused" || !strings.Contains(tb.text("#notice"), "is paused") {
		t.Errorf("after Pause: %+v, notice %q", row, tb.text("#notice"))
	}
	before, _ := rc.highest()
	e.ingest("acme", changeRole("", "carol", "erin"), changeRole("", "carol", "frank"))
	tb.navigate(streamsURL)
	if row := tb.streamRow(); row.State != "paused" || row.Lag < 2 || row.Delivered != before {
		t.Errorf("paused with new events: %+v, want the cursor at %d and a lag of 2 or more", row, before)
	}

	// Resume: delivery catches up.
	tb.pressOn("#stream-list button.resume")
	tb.waitURL("done=resumed")
	waitFor(t, "delivery after Resume", func() bool {
		tb.navigate(streamsURL)
		row := tb.streamRow()
		last, _ := rc.highest()
		return row.State == "active" && row.Lag == 0 && last > before+1
	})

	// Test: the outcome is shown.
	tb.pressOn("#stream-list button.test")
	tb.run(chromedp.WaitReady("#notice", chromedp.ByQuery))
	if got := tb.text("#notice"); !strings.Contains(got, "succeeded") {
		t.Errorf("test outcome: %q", got)
	}

	// Replay from seq 0: open "Replay…" with the keyboard, type, Enter.
	tb.pressOn("#stream-list details.replay summary")
	tb.run(chromedp.SendKeys("#stream-list .replay-form input[name=from]", "0\r", chromedp.ByQuery))
	tb.waitURL("done=replayed")
	waitFor(t, "the log sent again from seq 0", func() bool {
		_, fromZero := rc.highest()
		return fromZero >= 2
	})

	// Delete, confirmed on its own page.
	tb.navigate(streamsURL)
	tb.pressOn("#stream-list a.delete")
	tb.waitURL("/delete")
	tb.run(chromedp.WaitReady("#confirm-delete", chromedp.ByQuery))
	if got := tb.text("#msg-title"); got != "Delete “Receiver”?" {
		t.Errorf("confirmation title %q", got)
	}
	tb.pressOn("#confirm-delete")
	tb.waitURL("done=deleted")
	tb.run(chromedp.WaitReady("#no-streams", chromedp.ByQuery))
	if l := e.streamsOfOrg("acme"); len(l) != 0 {
		t.Errorf("after Delete: %+v", l)
	}
	var types []string
	for _, typ := range []string{"create", "pause", "resume", "test", "replay", "delete"} {
		if len(e.eventsOfType("acme", "org.audit_log.stream."+typ)) != 1 {
			types = append(types, typ)
		}
	}
	if len(types) > 0 {
		t.Errorf("not recorded once each: %v", types)
	}
	tb.clean()
}

// TestBrowserStreamingKeyboard walks the Streaming page with Tab, in
// light and dark: every control is reached, each with a focus ring, and
// the settings of kinds not chosen are not in the way.
func TestBrowserStreamingKeyboard(t *testing.T) {
	tb := newTab(t)
	e := newEnv(t)
	ctx, admin := context.Background(), audit.Actor{Type: "user", ID: "u_kb"}
	for _, name := range []string{"first", "second"} {
		v, _, err := e.Streams.Create(ctx, "acme", admin, []byte(`{"name":"`+name+`","kind":"webhook","url":"http://127.0.0.1:9/"}`))
		if err != nil {
			t.Fatal(err)
		}
		if name == "second" {
			if _, err := e.Streams.Pause(ctx, "acme", v.ID, admin); err != nil {
				t.Fatal(err)
			}
		}
	}
	tb.openLink(e.mint("acme", "u_admin", "alice"))
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			tb := &tab{t: t, ctx: tb.ctx}
			tb.navigate(e.URL + streamsOf)
			tb.setMode(viewMode{scheme, 1280, 900, scheme})
			defer tb.resetMode()
			tb.run(chromedp.Focus("#refresh", chromedp.ByQuery))
			seen := tb.tabWalk(300, nil)
			var keys []string
			for _, f := range seen {
				keys = append(keys, f.Key)
				if f.Key == "body" {
					continue
				}
				if f.Ring == "none" || f.Width < 2 || f.Contrast < 3 {
					t.Errorf("%s has no visible focus ring: %+v", f.Key, f)
				}
			}
			t.Logf("%d tab stops: %s", len(keys), strings.Join(keys, " | "))
			want := []string{"button.btn.btn-sm.pause", "button.btn.btn-sm.resume", "button.btn.btn-sm.test", "a.btn.btn-sm.btn-danger.delete",
				"summary.btn.btn-sm", "stream-name", "stream-kind", "stream-format", "stream-filter", "s-webhook-url", "s-webhook-signing",
				"add-submit", "logout", "back-to-log"}
			for _, k := range want {
				if !slices.Contains(keys, k) {
					t.Errorf("Tab never reaches %s", k)
				}
			}
			if slices.Contains(keys, "s-s3-bucket") {
				t.Error("Tab stops in the settings of a kind not chosen")
			}
		})
	}
	tb.clean()
}
