// SPDX-License-Identifier: Apache-2.0

package main

import (
	"strings"
	"testing"

	"github.com/trailaudit/trail/internal/logstore"
)

// TestLogOptions reads the log engine's tuning options from --store, and
// names a bad one.
func TestLogOptions(t *testing.T) {
	opts, err := logOptions("log:/d?block-events=64&page-events=8&page-level=better")
	if err != nil {
		t.Fatal(err)
	}
	if opts.BlockEvents != 64 || opts.PageEvents != 8 || opts.PageLevel != logstore.PageLevelBetter {
		t.Errorf("options %+v, want block-events 64, page-events 8, page level better", opts)
	}
	if opts, err = logOptions("log:"); err != nil || opts.PageLevel != logstore.PageLevelDefault {
		t.Errorf("no options: %+v, %v; want the default page level", opts, err)
	}
	if opts, err = logOptions("log:?page-level=fast"); err != nil || opts.PageLevel != logstore.PageLevelFast {
		t.Errorf("page-level=fast: %+v, %v; want the fast page level", opts, err)
	}
	for store, want := range map[string]string{
		"log:?page-level=best":    "page-level must be default",
		"log:?page-events=0":      "page-events must be a number from 1 to 65536",
		"log:?block-events=70000": "block-events must be a number from 1 to 65536",
		"log:?page-size=3":        `unknown option "page-size"`,
	} {
		if _, err := logOptions(store); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", store, err, want)
		}
	}
}
