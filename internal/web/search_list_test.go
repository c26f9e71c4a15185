// SPDX-License-Identifier: Apache-2.0

package web_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestSearchValueLists searches the page with a qualifier's values OR'ed,
// negated, and over the bound, and checks the help shows the syntax.
func TestSearchValueLists(t *testing.T) {
	e := newEnv(t)
	e.ingest("acme", changeRole("w-1", "alice", "bob"), changeRole("w-2", "carol", "dave"), changeRole("w-3", "erin", "frank"))
	c := e.login("acme", "u9", "zed") // viewing the log records org.audit_log.view events by zed
	r, _ := e.page(c, "acme", "q="+url.QueryEscape("actor:alice,carol"))
	if rowsOf(r.Body) != 2 || !strings.Contains(r.Body, "dave") || strings.Contains(r.Body, "frank") {
		t.Errorf("actor:alice,carol: %d rows, want w-1 and w-2", rowsOf(r.Body))
	}
	if !strings.Contains(r.Body, "<code>actor:alice,bob</code>") || !strings.Contains(r.Body, "<code>-country:FR,DE</code>") {
		t.Error("the search help does not show value lists")
	}
	r, _ = e.page(c, "acme", "q="+url.QueryEscape("-actor:alice,carol,zed"))
	if rowsOf(r.Body) != 1 || !strings.Contains(r.Body, "frank") {
		t.Errorf("-actor:alice,carol,zed: %d rows, want w-3 only", rowsOf(r.Body))
	}
	r, _ = e.page(c, "acme", "q="+url.QueryEscape("actor:"+strings.Repeat("x,", 20)+"alice"))
	if rowsOf(r.Body) != 0 || !strings.Contains(r.Body, "too many values for actor:; the limit is 20") {
		t.Errorf("21 values: %d rows and no error message", rowsOf(r.Body))
	}
}
