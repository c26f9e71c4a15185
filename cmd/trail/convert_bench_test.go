// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/trailaudit/trail/internal/audit"
)

// TestMakeV1Directory writes a schema-v1 SQLite data directory of
// TRAIL_V1_EVENTS events (default 300,000) in two orgs, with a signed
// checkpoint, into TRAIL_V1_DIR, for measuring the conversion with the
// real binary:
//
//	TRAIL_V1_DIR=/tmp/v1 go test -run TestMakeV1Directory ./cmd/trail/
//	cp -r /tmp/v1 /tmp/v1-a && /usr/bin/time -v trail migrate-store --data /tmp/v1-a
func TestMakeV1Directory(t *testing.T) {
	dir := os.Getenv("TRAIL_V1_DIR")
	if dir == "" {
		t.Skip("set TRAIL_V1_DIR to write a SQLite data directory for measuring the conversion")
	}
	n := 300000
	if v, err := strconv.Atoi(os.Getenv("TRAIL_V1_EVENTS")); err == nil && v > 0 {
		n = v
	}
	store, svc := openSignedSQLite(t, dir)
	defer store.Close()
	defer svc.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	orgs := []string{"acme", "beta"}
	for done := 0; done < n; {
		var bs []*audit.Batch
		for _, org := range orgs {
			b := &audit.Batch{Org: org}
			for k := 0; k < 500 && done < n; k++ {
				at := t0.Add(time.Duration(done) * time.Second)
				b.Events = append(b.Events, &audit.Pending{Event: audit.Event{
					ID: fmt.Sprint("e", done), Org: org, Type: []string{"repo.create", "repo.delete", "member.add", "billing.charge"}[done%4],
					Category:    []string{"content", "access", "billing"}[done%3],
					Actor:       audit.Actor{Type: "user", ID: fmt.Sprint("u-", done%97), Name: fmt.Sprint("user", done%97)},
					Targets:     []audit.Target{{Type: "repo", ID: fmt.Sprint("r", done%1000), Name: fmt.Sprintf("%s/model-%d", org, done%1000)}},
					Description: fmt.Sprintf("user%d changed the settings of model %d", done%97, done%1000),
					Location:    &audit.Location{CountryCode: []string{"FR", "US", "DE"}[done%3]},
					Metadata:    map[string]any{"plan": "pro", "size": done % 4096},
					OccurredAt:  at, ReceivedAt: at,
				}})
				done++
			}
			bs = append(bs, b)
		}
		if err := store.Append(ctx, bs); err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			if b.Err != nil {
				t.Fatal(b.Err)
			}
		}
	}
	for _, org := range orgs {
		size, _ := store.Size(ctx, org)
		if _, err := svc.CheckpointAt(ctx, org, size); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d events in %s", n, dir)
}

// TestProfileConvert converts the directory TRAIL_CONVERT_DIR in place
// (a copy made by TestMakeV1Directory) with a CPU profile written to
// TRAIL_CONVERT_PROFILE.
func TestProfileConvert(t *testing.T) {
	dir, prof := os.Getenv("TRAIL_CONVERT_DIR"), os.Getenv("TRAIL_CONVERT_PROFILE")
	if dir == "" || prof == "" {
		t.Skip("set TRAIL_CONVERT_DIR and TRAIL_CONVERT_PROFILE")
	}
	stop, err := startCPUProfile(prof)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = convertCommand(context.Background(), dir, io.Discard)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("converted in %v", time.Since(start))
}
