// SPDX-License-Identifier: Apache-2.0

package audit

import "context"

// OrgInfo describes one org's log, as GET /api/v1/orgs and `trail orgs`
// show it.
type OrgInfo struct {
	Org            string `json:"org"`
	Events         int64  `json:"events"`          // the log's size: seq 0 … events-1
	CheckpointSize int64  `json:"checkpoint_size"` // of the latest signed checkpoint; 0: none yet
}

// OrgInfos returns every org that has a log (an org exists once it has an
// event), in the store's order (by name), with its size and latest
// checkpoint.
func OrgInfos(ctx context.Context, store Store) ([]OrgInfo, error) {
	orgs, err := store.Orgs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]OrgInfo, 0, len(orgs))
	for _, org := range orgs {
		n, err := store.Size(ctx, org)
		if err != nil {
			return nil, err
		}
		info := OrgInfo{Org: org, Events: n}
		cp, err := store.LatestCheckpoint(ctx, org)
		switch {
		case err == nil:
			info.CheckpointSize = cp.Size
		case ErrorCode(err) != CodeNotFound:
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}
