// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"context"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/trailaudit/trail/client"
	"github.com/trailaudit/trail/internal/logstore"
	"github.com/trailaudit/trail/internal/trailtest"
)

// TestFullIPNeverStored ingests events with distinctive client addresses,
// reads them back every way, then searches every file of the data
// directory and everything Trail logged for the full addresses, as text
// and as raw bytes, inside the log engine's compressed pages too: once
// while the events are in the write-ahead log (wal/) and the catalog, and
// again once they are sealed into blocks (blocks/). Each time the
// anonymized address must be found where the events are, or the search
// would prove nothing.
func TestFullIPNeverStored(t *testing.T) {
	e := newEnv(t)
	full := []string{"81.2.69.160", "2a02:26f0:1:2:3:4:5:6", "::ffff:81.2.69.161"}
	var evs []client.Event
	for _, ip := range full {
		ev := changeRole("", "bob")
		ev.Client.IP = ip
		evs = append(evs, ev)
	}
	e.ingest("acme", evs...)
	bad := changeRole("", "carol")
	bad.Client.IP = "81.2.69.162"
	bad.Type = "no.such_type"
	_, err := e.client(e.Admin).Ingest(context.Background(), "acme", []client.Event{bad})
	if ae := asAPIError(t, err); bytes.Contains([]byte(ae.Error()), []byte("81.2.69.162")) {
		t.Errorf("the error echoes the full IP: %v", ae)
	}
	full = append(full, "81.2.69.162")

	if r := e.get("/api/v1/orgs/acme/events", e.Admin); !bytes.Contains(r.Body, []byte(`"ip":"81.2.69.0"`)) {
		t.Errorf("the anonymized 81.2.69.0 is not in the events")
	}
	download(t, e, e.Admin, "acme", "csv", "")

	needles := map[string][]byte{}
	for _, s := range full {
		addr := netip.MustParseAddr(s)
		needles[s] = []byte(s)
		needles[s+" (raw)"] = addr.AsSlice()
		if addr.Is4In6() {
			needles[s+" (unmapped)"] = []byte(addr.Unmap().String())
			needles[s+" (raw unmapped)"] = addr.Unmap().AsSlice()
		}
	}
	search := func(when, where string) {
		t.Helper()
		if files := trailtest.FilesHolding(t, e.Data, "81.2.69.0"); !slices.ContainsFunc(files, func(f string) bool {
			return strings.HasPrefix(f, filepath.Join(e.Data, where)+string(filepath.Separator))
		}) {
			t.Fatalf("%s, no file under %s/ holds the anonymized address (found in %v): the search proves nothing", when, where, files)
		}
		for what, needle := range needles {
			for _, f := range trailtest.FilesHoldingBytes(t, e.Data, needle) {
				t.Errorf("%s, %s holds the full address %s", when, f, what)
			}
			if bytes.Contains(e.Logs.Bytes(), needle) {
				t.Errorf("%s, the logs hold the full address %s", when, what)
			}
		}
	}
	search("before sealing", "wal")
	if err := e.Store.(*logstore.Store).Seal(t.Context()); err != nil {
		t.Fatal(err)
	}
	search("after sealing", "blocks")
	if len(e.Logs.Bytes()) == 0 {
		t.Error("nothing was logged; the log search proves nothing")
	}
}
