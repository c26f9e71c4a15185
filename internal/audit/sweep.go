// SPDX-License-Identifier: Apache-2.0

package audit

import "context"

// sweepTicks is how many signer periods pass between sweeps of every
// org's size against its checkpoint: a sweep costs two reads per org, so
// it runs less often than the signing of orgs this process wrote to.
const sweepTicks = 12

// addGrownOrgs adds to dirty every org whose log is larger than its kept
// checkpoint, whoever wrote the events. Failures are logged: the next
// sweep tries again.
func (s *Service) addGrownOrgs(ctx context.Context, dirty map[string]bool) {
	orgs, err := s.store.Orgs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("listing orgs to find unsigned growth failed", "err", err)
		}
		return
	}
	for _, org := range orgs {
		if dirty[org] {
			continue
		}
		if grown, err := s.grewSinceCheckpoint(ctx, org); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("comparing an org's size with its checkpoint failed", "org", org, "err", err)
		} else if grown {
			dirty[org] = true
		}
	}
}

// grewSinceCheckpoint reports whether org's log is larger than its kept
// checkpoint (or has events and no checkpoint).
func (s *Service) grewSinceCheckpoint(ctx context.Context, org string) (bool, error) {
	size, err := s.store.Size(ctx, org)
	if err != nil || size == 0 {
		return false, err
	}
	cp, err := s.store.LatestCheckpoint(ctx, org)
	switch {
	case ErrorCode(err) == CodeNotFound:
		return true, nil
	case err != nil:
		return false, err
	}
	return cp.Size < size, nil
}
