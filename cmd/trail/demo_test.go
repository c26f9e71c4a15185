// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
)

// demoKeys finds the read and ingest keys `serve --demo` prints.
var demoKeys = regexp.MustCompile(`(?m)^\s+(read|ingest):\s+(trail_[A-Za-z0-9_-]+)$`)

// startDemo runs `serve --demo` on data, checks that /readyz answers 503
// from the moment the server listens until the demo is loaded and 200
// after, and returns the server, the keys it printed and how many 503s
// /readyz answered first.
func startDemo(t *testing.T, bin, data string) (p *proc, base string, keys map[string]string, unready int) {
	t.Helper()
	p = launch(t, bin, nil, "serve", "--demo", "--addr", "127.0.0.1:0", "--data", data)
	base = p.listening(t)
	deadline := time.Now().Add(startTimeout)
	for {
		status, body := httpGet(t, base+"/readyz", "")
		if status == http.StatusOK {
			break
		}
		unready++
		if status != http.StatusServiceUnavailable || !strings.Contains(string(body), `"code":"unavailable"`) {
			t.Fatalf("/readyz while loading: %d %s, want 503 unavailable", status, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still 503 after %v\nstderr:\n%s", startTimeout, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The keys are printed before the server turns ready.
	keys = map[string]string{}
	for _, m := range demoKeys.FindAllStringSubmatch(p.stdout.String(), -1) {
		keys[m[1]] = m[2]
	}
	if keys["read"] == "" || keys["ingest"] == "" {
		t.Fatalf("serve --demo printed no read and ingest keys:\n%s", p.stdout)
	}
	return p, base, keys, unready
}

// TestServeDemo runs `serve --demo` twice on the same data: the first
// loads the demo org, the second adds nothing and prints fresh keys.
func TestServeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 24,000 demo events; skipped with -short")
	}
	bin := trailBinary(t)
	data := t.TempDir()

	p, base, keys, unready := startDemo(t, bin, data)
	if !strings.Contains(p.stderr.String(), `"msg":"demo org loaded"`) {
		t.Errorf("the log does not say the demo org was loaded:\n%s", p.stderr)
	}
	// The first /readyz went out as soon as the server logged "listening",
	// seconds before the load can end: a 200 then means readiness does not
	// wait for the demo data.
	if unready == 0 {
		t.Errorf("/readyz answered 200 at once, while the demo data was loading; want 503 until it is loaded")
	}
	read := apiClient(base, keys["read"])
	size := logSize(t, read, "acme")
	if size < 20000 {
		t.Errorf("demo org has %d events, want at least 20000", size)
	}
	page, err := read.List(testCtx(t), "acme", client.ListOptions{Query: "type:org.change_role", Limit: 3})
	if err != nil || len(page.Events) == 0 {
		t.Errorf("searching the demo org with the printed read key: %v, %d events", err, len(page.Events))
	}
	if _, err := apiClient(base, keys["ingest"]).List(testCtx(t), "acme", client.ListOptions{}); !isStatus(err, http.StatusForbidden) {
		t.Errorf("listing with the printed ingest key: %v, want 403", err)
	}
	checkNoSecrets(t, p.stderr.String(), keys)
	if err := p.terminate(t); err != nil {
		t.Fatalf("serve --demo after SIGTERM: %v, want exit status 0", err)
	}

	p2, base2, keys2, _ := startDemo(t, bin, data)
	if keys2["read"] == keys["read"] || keys2["ingest"] == keys["ingest"] {
		t.Errorf("the second serve --demo printed the same keys as the first; want fresh ones")
	}
	read2 := apiClient(base2, keys2["read"])
	if got := logSize(t, read2, "acme"); got != size {
		t.Errorf("second serve --demo: demo org has %d events, want %d (nothing added)", got, size)
	}
	if !strings.Contains(p2.stderr.String(), "nothing added") {
		t.Errorf("the log of the second start does not say nothing was added:\n%s", p2.stderr)
	}
	ev := repoCreate(0, "acme/after-demo")
	ev.ID = "after-demo"
	if _, err := apiClient(base2, keys2["ingest"]).Ingest(testCtx(t), "acme", []client.Event{ev}); err != nil {
		t.Errorf("ingesting with the fresh ingest key: %v", err)
	}
	if got := logSize(t, read2, "acme"); got != size+1 {
		t.Errorf("after one ingest: %d events, want %d", got, size+1)
	}
	checkNoSecrets(t, p2.stderr.String(), keys)
	checkNoSecrets(t, p2.stderr.String(), keys2)
	checkDemoKeysReplaced(t, bin, data, base2, keys)
	checkREADMESearches(t, read2)
	checkFreshLinkCommand(t, bin, base2, p2.stdout.String())
}

// checkREADMESearches: the README's search examples that name demo data
// find events in the demo org (country: needs --geoip, which the test
// server runs without).
func checkREADMESearches(t *testing.T, c *client.Client) {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := regexp.MustCompile("`((?:target|actor|type|category):[^`]+)`").FindAllStringSubmatch(string(readme), -1)
	if len(examples) < 3 {
		t.Fatalf("found %d search examples in the README", len(examples))
	}
	for _, m := range examples {
		page, err := c.List(testCtx(t), "acme", client.ListOptions{Query: m[1], Limit: 1})
		if err != nil || len(page.Events) == 0 {
			t.Errorf("the README's example %q finds nothing in the demo org (%v)", m[1], err)
		}
	}
}

// checkDemoKeysReplaced: a restart of serve --demo revokes the previous
// demo keys instead of piling up active ones.
func checkDemoKeysReplaced(t *testing.T, bin, data, base string, old map[string]string) {
	t.Helper()
	if _, err := apiClient(base, old["read"]).List(testCtx(t), "acme", client.ListOptions{}); !isStatus(err, http.StatusUnauthorized) {
		t.Errorf("the previous start's read key: %v, want 401 (revoked)", err)
	}
	var list struct {
		Keys []struct{ Name, Status string } `json:"keys"`
	}
	out := mustRun(t, bin, nil, "keys", "list", "--json", "--data", data).stdout
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, k := range list.Keys {
		if strings.HasPrefix(k.Name, "demo ") && k.Status == "active" {
			active++
		}
	}
	if active != 2 {
		t.Errorf("%d active demo keys after two starts, want 2:\n%s", active, out)
	}
}

// checkFreshLinkCommand runs the printed "fresh link" command from another
// directory: it must name the data directory and print a working link.
func checkFreshLinkCommand(t *testing.T, bin, base, stdout string) {
	t.Helper()
	m := regexp.MustCompile(`For a fresh link: trail (.+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no fresh link command in:\n%s", stdout)
	}
	cmd := exec.Command("sh", "-c", `"$TRAIL_BIN" `+m[1])
	cmd.Dir = t.TempDir()
	cmd.Env = hermeticEnv([]string{"TRAIL_BIN=" + bin})
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the printed fresh link command %q in another directory: %v", m[1], err)
	}
	if ents, _ := os.ReadDir(cmd.Dir); len(ents) != 0 {
		t.Errorf("the fresh link command created %v in the working directory", ents)
	}
	link := strings.TrimSpace(string(out))
	if status, body := httpGet(t, link, ""); status != http.StatusOK {
		t.Errorf("the fresh link %s: %d %s", link, status, body)
	}
}

// checkNoSecrets fails if the log holds any of the secrets.
func checkNoSecrets(t *testing.T, log string, keys map[string]string) {
	t.Helper()
	if log == "" {
		t.Fatal("the server logged nothing; the check would prove nothing")
	}
	for name, secret := range keys {
		if strings.Contains(log, secret) {
			t.Errorf("the %s key's secret appears in the server's log", name)
		}
	}
}

func isStatus(err error, status int) bool {
	apiErr, ok := err.(*client.APIError)
	return ok && apiErr.Status == status
}

// TestServeDemoInterrupted stops `serve --demo` while it loads: the stop
// is clean (exit 0), and the next start says the demo org is incomplete
// instead of passing it off as loaded, and adds nothing.
func TestServeDemoInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("loads demo events; skipped with -short")
	}
	bin := trailBinary(t)
	data := t.TempDir()
	p := launch(t, bin, nil, "serve", "--demo", "--addr", "127.0.0.1:0", "--data", data)
	base := p.listening(t)
	// Stop once part of the demo is stored.
	for deadline := time.Now().Add(startTimeout); ; time.Sleep(20 * time.Millisecond) {
		_, body := httpGet(t, base+"/metrics", "")
		if committed.Match(body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no demo event committed within %v", startTimeout)
		}
	}
	if err := p.terminate(t); err != nil {
		t.Fatalf("serve --demo stopped while loading: %v, want exit status 0\nstderr:\n%s", err, p.stderr)
	}
	if strings.Contains(p.stderr.String(), `"msg":"demo org loaded"`) {
		t.Skip("the whole demo loaded before SIGTERM arrived; nothing to check")
	}
	if !strings.Contains(p.stderr.String(), "stopped while loading the demo data") {
		t.Errorf("the log does not say the load was interrupted:\n%s", p.stderr)
	}
	if strings.Contains(p.stdout.String(), "trail_") {
		t.Errorf("an interrupted serve --demo printed keys:\n%s", p.stdout)
	}

	p2, base2, keys, _ := startDemo(t, bin, data)
	if !strings.Contains(p2.stdout.String(), "The demo org is incomplete") {
		t.Errorf("serve --demo on an interrupted load does not say the demo org is incomplete:\n%s", p2.stdout)
	}
	if !strings.Contains(p2.stderr.String(), "demo org incomplete") {
		t.Errorf("the log does not say the demo org is incomplete:\n%s", p2.stderr)
	}
	size := logSize(t, apiClient(base2, keys["read"]), "acme")
	if size == 0 || size >= 20000 {
		t.Errorf("demo org after an interrupted load: %d events, want some, fewer than the full demo", size)
	}
}

// committed matches a /metrics exposition in which events were committed.
var committed = regexp.MustCompile(`(?m)^trail_events_committed_total [1-9]`)
