// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"io"
	"strconv"

	"github.com/trailaudit/trail/internal/audit"
)

// runOrgs lists every org that has a log, with its size and latest
// checkpoint: a typo in an org name otherwise silently starts a new org.
func runOrgs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("orgs", "[--json] [--data DIR]", stderr)
	data, storeURL := dataFlag(fs), storeFlag(fs)
	asJSON := jsonFlag(fs)
	store, err := parseAndOpen(ctx, fs, args, data, storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	orgs, err := audit.OrgInfos(ctx, store)
	if err != nil {
		return err
	}
	rows := make([][]string, len(orgs))
	for i, o := range orgs {
		rows[i] = []string{o.Org, strconv.FormatInt(o.Events, 10), strconv.FormatInt(o.CheckpointSize, 10)}
	}
	return printTable(stdout, *asJSON, struct {
		Orgs []audit.OrgInfo `json:"orgs"`
	}{append([]audit.OrgInfo{}, orgs...)}, []string{"ORG", "EVENTS", "CHECKPOINT"}, rows)
}
