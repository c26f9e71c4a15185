// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"

	"github.com/trailaudit/trail/internal/audit"
)

// retentionFlags are serve's retention settings (docs/retention.md).
type retentionFlags struct {
	retention string // the policy of orgs that set none
}

func (r *retentionFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.retention, "retention", env("TRAIL_RETENTION", audit.RetentionForever),
		"how long events of orgs without a policy of their own are kept after received_at: `forever` or a whole number with s, m, h or d, e.g. 400d (env TRAIL_RETENTION)")
}

func (r *retentionFlags) check() error {
	if _, _, err := audit.ParseRetention(r.retention); err != nil {
		return usagef("--retention: %s", audit.ErrorMessage(err))
	}
	return nil
}
