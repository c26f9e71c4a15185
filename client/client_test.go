// SPDX-License-Identifier: Apache-2.0

package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/trailaudit/trail/client"
)

func TestIngestRequestShape(t *testing.T) {
	var got struct {
		auth, ct, path string
		body           map[string][]map[string]any
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.auth, got.ct, got.path = r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.URL.EscapedPath()
		json.NewDecoder(r.Body).Decode(&got.body)
		w.Write([]byte(`{"events":[{"id":"a","seq":7}]}`))
	}))
	defer srv.Close()
	acks, err := client.New(srv.URL+"/", "trail_secret").Ingest(context.Background(), "ac me", []client.Event{
		{Type: "repo.create", Actor: client.Actor{Type: "user", ID: "u"}},
		{Type: "repo.create", Actor: client.Actor{Type: "user", ID: "u"}, OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Client: client.ClientInfo{IP: "1.2.3.4"}},
	})
	if err != nil || len(acks) != 1 || acks[0] != (client.Ack{ID: "a", Seq: 7}) {
		t.Fatalf("acks %v, err %v", acks, err)
	}
	if got.auth != "Bearer trail_secret" || got.ct != "application/json" || got.path != "/api/v1/orgs/ac%20me/events" {
		t.Errorf("request: auth %q content type %q path %q", got.auth, got.ct, got.path)
	}
	first, second := got.body["events"][0], got.body["events"][1]
	for _, k := range []string{"id", "occurred_at", "client", "targets", "metadata", "description"} {
		if _, ok := first[k]; ok {
			t.Errorf("empty field %s was sent: %v", k, first)
		}
	}
	if second["occurred_at"] != "2026-01-02T03:04:05Z" || second["client"].(map[string]any)["ip"] != "1.2.3.4" {
		t.Errorf("second event sent as %v", second)
	}
}

func TestAPIError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/orgs/acme/events":
			w.WriteHeader(400)
			w.Write([]byte(`{"error":{"code":"invalid_request","message":"bad q","position":4}}`))
		default:
			w.WriteHeader(502)
			w.Write([]byte("<html>bad gateway</html>"))
		}
	}))
	defer srv.Close()
	c := client.New(srv.URL, "k")
	_, err := c.List(context.Background(), "acme", client.ListOptions{Query: "x"})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "invalid_request" || ae.Position == nil || *ae.Position != 4 {
		t.Errorf("got %#v", err)
	}
	_, err = c.Catalog(context.Background())
	if !errors.As(err, &ae) || ae.Status != 502 || ae.Message != "<html>bad gateway</html>" {
		t.Errorf("got %#v", err)
	}
}

func TestListKeepsBytesAndSendsOptions(t *testing.T) {
	const body = `{"events":[{"id":"b","seq":1, "x" : [1,2]},{"id":"a","seq":0}],"next_cursor":"YTE"}`
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		io.WriteString(w, body)
	}))
	defer srv.Close()
	after := int64(0)
	p, err := client.New(srv.URL, "k").List(context.Background(), "acme",
		client.ListOptions{Query: "type:repo.*", Limit: 2, Cursor: "c", Order: client.Asc, AfterSeq: &after})
	if err != nil {
		t.Fatal(err)
	}
	if query != "after_seq=0&cursor=c&limit=2&order=asc&q=type%3Arepo.%2A" {
		t.Errorf("query %q", query)
	}
	if string(p.Events[0]) != `{"id":"b","seq":1, "x" : [1,2]}` || p.NextCursor != "YTE" {
		t.Errorf("page %s %q", p.Events[0], p.NextCursor)
	}
}
