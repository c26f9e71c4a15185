package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/trailaudit/trail/internal/audit"
)

// runOrgs lists every org that has a log, with its size and latest
// checkpoint: a typo in an org name otherwise silently starts a new org.
func runOrgs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("orgs", "[--json] [--data DIR]", stderr)
	data, storeURL := dataFlag(fs), storeFlag(fs)
	asJSON := jsonFlag(fs)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	store, err := openExisting(ctx, *data, *storeURL)
	if err != nil {
		return err
	}
	defer store.Close()
	orgs, err := audit.OrgInfos(ctx, store)
	if err != nil {
		return err
	}
	if *asJSON {
		if orgs == nil {
			orgs = []audit.OrgInfo{}
		}
		return writeJSONOut(stdout, struct {
			Orgs []audit.OrgInfo `json:"orgs"`
		}{orgs})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORG\tEVENTS\tCHECKPOINT")
	for _, o := range orgs {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", o.Org, o.Events, o.CheckpointSize)
	}
	return tw.Flush()
}
