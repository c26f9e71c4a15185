// SPDX-License-Identifier: Apache-2.0

package audit

import "sync"

// committedHooks are the functions OnCommit registered.
type committedHooks struct {
	mu  sync.RWMutex
	fns []func(org string)
}

// OnCommit registers fn to be called, after every group commit, once for
// each org whose log grew in it: the in-process signal that wakes the
// stream delivery engine. fn runs on the committer's goroutine: it must
// return at once (a non-blocking send) and never call back into the
// Service. Appends by other processes sharing the store are not signalled.
func (s *Service) OnCommit(fn func(org string)) {
	s.hooks.mu.Lock()
	s.hooks.fns = append(s.hooks.fns, fn)
	s.hooks.mu.Unlock()
}

// notifyCommitted calls the OnCommit hooks for the orgs of batches that
// stored events.
func (s *Service) notifyCommitted(batches []*Batch) {
	s.hooks.mu.RLock()
	defer s.hooks.mu.RUnlock()
	if len(s.hooks.fns) == 0 {
		return
	}
	var last string
	for _, b := range batches {
		if b.Err != nil || len(b.Results) == 0 || b.Org == last {
			continue
		}
		last = b.Org
		for _, fn := range s.hooks.fns {
			fn(b.Org)
		}
	}
}
