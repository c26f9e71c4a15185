// SPDX-License-Identifier: Apache-2.0

package api_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/trailaudit/trail/client"
)

// TestFullIPNeverStored ingests events with distinctive client addresses,
// reads them back every way, then searches every file of the data
// directory (the database, its -wal and -shm) and everything Trail logged
// for the full addresses, as text and as raw bytes.
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
	haystacks := map[string][]byte{"logs": e.Logs.Bytes()}
	err = filepath.WalkDir(e.Data, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		haystacks[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(haystacks) < 2 {
		t.Fatalf("no files under %s", e.Data)
	}
	for where, hay := range haystacks {
		for what, needle := range needles {
			if bytes.Contains(hay, needle) {
				t.Errorf("%s holds the full address %s", where, what)
			}
		}
	}
	if len(e.Logs.Bytes()) == 0 {
		t.Error("nothing was logged; the log search proves nothing")
	}
}
